// Restricted from v1.23: neither pod nor container may set runAsUser=0
// (policy/check_runAsUser.go); from v1.35 user-namespaced pods are exempt.
import type { V1PodSpec } from '@kubernetes/client-node';
import { containersPhrase } from '../format.js';
import { containerNamesWhere, usesUserNamespace } from '../pod.js';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';

function runAsUser1_23(spec: V1PodSpec): CheckVerdict {
  const badSetters: string[] = [];
  if (spec.securityContext?.runAsUser === 0) badSetters.push('pod');
  const bad = containerNamesWhere(spec, (c) => c.securityContext?.runAsUser === 0);
  if (bad.length > 0) badSetters.push(containersPhrase(bad));
  if (badSetters.length === 0) return undefined;
  return { reason: 'runAsUser=0', detail: `${badSetters.join(' and ')} must not set runAsUser=0` };
}

export const runAsUserCheck: PodSecurityCheck = {
  id: 'runAsUser',
  level: 'restricted',
  versions: [
    { minimumMinor: 23, checkPod: (_m, spec) => runAsUser1_23(spec) },
    { minimumMinor: 35, checkPod: (_m, spec) => (usesUserNamespace(spec) ? undefined : runAsUser1_23(spec)) },
  ],
};
