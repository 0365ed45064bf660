// Label selectors compiled to predicates, with Kubernetes semantics: an absent
// or empty selector matches everything.
//
// Labels are tenant data read as a plain object, so a key is looked up only
// among the object's own properties: `labels['toString']` would otherwise find
// Object.prototype.toString and make `toString Exists` true on a pod without
// labels (likewise `constructor`, `hasOwnProperty`, `__proto__`).
import type { V1LabelSelector } from '@kubernetes/client-node';

export type Labels = Readonly<Record<string, string>>;
export type LabelMatcher = (labels: Labels) => boolean;

/**
 * Longest label value Kubernetes accepts, and the longest a selector may list
 * (the policy schema's maxLength): a longer value cannot equal a listed one,
 * so it is not compared at all.
 */
export const MAX_LABEL_VALUE_LENGTH = 63;

const always: LabelMatcher = () => true;

/**
 * The value of a label, if the labels have it as their own property. A value
 * that is not a string (possible only in files given to `shipshape audit`)
 * counts as absent, as the API server would not have stored it.
 */
export function labelValue(labels: Labels, key: string): string | undefined {
  if (!Object.hasOwn(labels, key)) return undefined;
  const value: unknown = labels[key];
  return typeof value === 'string' ? value : undefined;
}

function isOneOf(value: string | undefined, values: ReadonlySet<string>): boolean {
  return value !== undefined && value.length <= MAX_LABEL_VALUE_LENGTH && values.has(value);
}

export function compileLabelSelector(selector: V1LabelSelector | undefined): LabelMatcher {
  if (!selector) return always;
  const tests: LabelMatcher[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const values = new Set([value]);
    tests.push((labels) => isOneOf(labelValue(labels, key), values));
  }
  for (const expr of selector.matchExpressions ?? []) {
    const values = new Set(expr.values ?? []);
    const key = expr.key;
    switch (expr.operator) {
      case 'In':
        tests.push((labels) => isOneOf(labelValue(labels, key), values));
        break;
      case 'NotIn':
        tests.push((labels) => !isOneOf(labelValue(labels, key), values));
        break;
      case 'Exists':
        tests.push((labels) => labelValue(labels, key) !== undefined);
        break;
      case 'DoesNotExist':
        tests.push((labels) => labelValue(labels, key) === undefined);
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
