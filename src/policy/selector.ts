// Label selectors compiled to predicates, with Kubernetes semantics: an absent
// or empty selector matches everything.
import type { V1LabelSelector } from '@kubernetes/client-node';

export type Labels = Readonly<Record<string, string>>;
export type LabelMatcher = (labels: Labels) => boolean;

const always: LabelMatcher = () => true;

export function compileLabelSelector(selector: V1LabelSelector | undefined): LabelMatcher {
  if (!selector) return always;
  const tests: LabelMatcher[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    tests.push((labels) => labels[key] === value);
  }
  for (const expr of selector.matchExpressions ?? []) {
    const values = new Set(expr.values ?? []);
    const key = expr.key;
    switch (expr.operator) {
      case 'In':
        tests.push((labels) => labels[key] !== undefined && values.has(labels[key]));
        break;
      case 'NotIn':
        tests.push((labels) => labels[key] === undefined || !values.has(labels[key]));
        break;
      case 'Exists':
        tests.push((labels) => labels[key] !== undefined);
        break;
      case 'DoesNotExist':
        tests.push((labels) => labels[key] === undefined);
        break;
      default:
        // An operator the API server would have refused: match nothing rather than everything.
        tests.push(() => false);
    }
  }
  if (tests.length === 0) return always;
  // Most selectors have one term; matching is on every pod's path, so skip the loop then.
  if (tests.length === 1) return tests[0]!;
  return (labels) => tests.every((t) => t(labels));
}
