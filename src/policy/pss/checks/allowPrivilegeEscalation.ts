// Restricted: containers must set securityContext.allowPrivilegeEscalation=false
// (policy/check_allowPrivilegeEscalation.go). Windows pods are exempt from v1.25.
import type { V1PodSpec } from '@kubernetes/client-node';
import { containersPhrase } from '../format.js';
import { containerNamesWhere, isWindowsPod } from '../pod.js';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';

function allowPrivilegeEscalation1_8(spec: V1PodSpec): CheckVerdict {
  const bad = containerNamesWhere(spec, (c) => c.securityContext?.allowPrivilegeEscalation !== false);
  if (bad.length === 0) return undefined;
  return {
    reason: 'allowPrivilegeEscalation != false',
    detail: `${containersPhrase(bad)} must set securityContext.allowPrivilegeEscalation=false`,
  };
}

export const allowPrivilegeEscalationCheck: PodSecurityCheck = {
  id: 'allowPrivilegeEscalation',
  level: 'restricted',
  versions: [
    { minimumMinor: 8, checkPod: (_m, spec) => allowPrivilegeEscalation1_8(spec) },
    {
      minimumMinor: 25,
      checkPod: (_m, spec) => (isWindowsPod(spec) ? undefined : allowPrivilegeEscalation1_8(spec)),
    },
  ],
};
