// procMount must stay Default (policy/check_procMount_baseline.go and
// check_procMount_restricted.go). From v1.35 baseline allows other values in
// user-namespaced pods (hostUsers: false), while restricted keeps the strict rule.
import type { V1PodSpec } from '@kubernetes/client-node';
import { containersPhrase, joinQuote, sortedSet } from '../format.js';
import { allContainers, isSet, usesUserNamespace } from '../pod.js';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';

export const procMountId = 'procMount';

function procMount1_0(spec: V1PodSpec): CheckVerdict {
  const badContainers: string[] = [];
  const types: string[] = [];
  for (const c of allContainers(spec)) {
    const procMount = c.securityContext?.procMount;
    if (isSet(procMount) && procMount !== 'Default') {
      badContainers.push(c.name);
      types.push(procMount);
    }
  }
  if (badContainers.length === 0) return undefined;
  return {
    reason: 'procMount',
    detail: `${containersPhrase(badContainers)} must not set securityContext.procMount to ${joinQuote(sortedSet(types))}`,
  };
}

export const procMountBaselineCheck: PodSecurityCheck = {
  id: procMountId,
  level: 'baseline',
  versions: [
    { minimumMinor: 0, checkPod: (_m, spec) => procMount1_0(spec) },
    { minimumMinor: 35, checkPod: (_m, spec) => (usesUserNamespace(spec) ? undefined : procMount1_0(spec)) },
  ],
};

export const procMountRestrictedCheck: PodSecurityCheck = {
  id: 'procMount_restricted',
  level: 'restricted',
  versions: [{ minimumMinor: 35, checkPod: (_m, spec) => procMount1_0(spec), overrides: [procMountId] }],
};
