// Baseline: no privileged containers (policy/check_privileged.go).
import type { V1PodSpec } from '@kubernetes/client-node';
import { containersPhrase } from '../format.js';
import { containerNamesWhere } from '../pod.js';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';

function privileged1_0(spec: V1PodSpec): CheckVerdict {
  const bad = containerNamesWhere(spec, (c) => c.securityContext?.privileged === true);
  if (bad.length === 0) return undefined;
  return {
    reason: 'privileged',
    detail: `${containersPhrase(bad)} must not set securityContext.privileged=true`,
  };
}

export const privilegedCheck: PodSecurityCheck = {
  id: 'privileged',
  level: 'baseline',
  versions: [{ minimumMinor: 0, checkPod: (_m, spec) => privileged1_0(spec) }],
};
