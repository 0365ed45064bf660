// Which policies apply to a workload: namespace (and, for cluster policies,
// namespace labels and exclusions), workload kind, pod labels and images.
// Pure: the caller passes the namespace's labels.
import type { AnySecurityPolicy } from '../api/policy-types.js';
import { compilePolicy, type CompiledPolicy } from './compile.js';
import type { Labels } from './selector.js';
import { imageOf } from './workload.js';

export interface PolicyTarget {
  namespace: string;
  /** Labels of the namespace; kubernetes.io/metadata.name is added as the API server does. */
  namespaceLabels?: Labels;
  /** Workload kind (Pod, Deployment, ...). */
  kind?: string;
  /** Pod template labels. */
  labels?: Labels;
  /** Images of every container. */
  images?: readonly string[];
}

const NO_LABELS: Labels = {};

function namespaceLabelsOf(target: PolicyTarget): Labels {
  return { ...target.namespaceLabels, 'kubernetes.io/metadata.name': target.namespace };
}

function applies(p: CompiledPolicy, target: PolicyTarget, namespaceLabels: () => Labels): boolean {
  if (p.cluster) {
    if (p.namespaces.excluded.has(target.namespace)) return false;
    if (!p.namespaces.selector(namespaceLabels())) return false;
  } else if (p.namespace !== target.namespace) {
    return false;
  }
  if (p.kinds && target.kind !== undefined && !p.kinds.has(target.kind)) return false;
  const labels = target.labels ?? NO_LABELS;
  if (!p.pods(labels)) return false;
  if (p.excludedPods && p.excludedPods(labels)) return false;
  if (p.filtersImages && target.images && target.images.length > 0) {
    return target.images.some((image) => p.includesImage(imageOf(image)));
  }
  return true;
}

export function policyAppliesTo(policy: AnySecurityPolicy | CompiledPolicy, target: PolicyTarget): boolean {
  return applies(compilePolicy(policy), target, () => namespaceLabelsOf(target));
}

/** The policies of `policies` that apply to the target, compiled. */
export function matchingPolicies(
  policies: readonly (AnySecurityPolicy | CompiledPolicy)[],
  target: PolicyTarget,
): CompiledPolicy[] {
  let labels: Labels | undefined;
  const namespaceLabels = () => (labels ??= namespaceLabelsOf(target));
  const out: CompiledPolicy[] = [];
  for (const policy of policies) {
    const p = compilePolicy(policy);
    if (applies(p, target, namespaceLabels)) out.push(p);
  }
  return out;
}
