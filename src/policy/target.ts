// What policy matching looks at for one workload, built in one place so the
// reconciler, policy fan-out, admission, `shipshape audit` and the benchmarks
// can never disagree about it (every container kind counts: an ephemeral
// container added by `kubectl debug` is an image the pod runs).
import type { V1PodSpec } from '@kubernetes/client-node';
import type { Labels } from './selector.js';
import type { PolicyTarget } from './match.js';
import type { PodTemplate } from './workload.js';

/** Images of every container of a pod spec: init, regular and ephemeral, in that order. */
export function podImages(
  spec: Pick<V1PodSpec, 'initContainers' | 'containers' | 'ephemeralContainers'>,
): string[] {
  return [
    ...(spec.initContainers ?? []),
    ...(spec.containers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ].map((c) => c.image ?? '');
}

export interface PolicyTargetInput {
  namespace: string;
  namespaceLabels?: Labels | undefined;
  kind?: string | undefined;
  template: PodTemplate;
}

/** The policy target of a workload's pod template. Pure. */
export function policyTargetOf(input: PolicyTargetInput): PolicyTarget {
  return {
    namespace: input.namespace,
    ...(input.namespaceLabels === undefined ? {} : { namespaceLabels: input.namespaceLabels }),
    ...(input.kind === undefined ? {} : { kind: input.kind }),
    labels: input.template.metadata.labels ?? {},
    images: podImages(input.template.spec),
  };
}
