// Restricted: containers must run as non-root, set on the pod or on every container
// (policy/check_runAsNonRoot.go). A container's own setting wins over the pod's; from
// v1.35 user-namespaced pods (hostUsers: false) are exempt.
import type { V1PodSpec } from '@kubernetes/client-node';
import { containersPhrase } from '../format.js';
import { allContainers, isSet, usesUserNamespace } from '../pod.js';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';

function runAsNonRoot1_0(spec: V1PodSpec): CheckVerdict {
  const badSetters: string[] = [];
  const podValue = spec.securityContext?.runAsNonRoot;
  if (podValue === false) badSetters.push('pod');
  const podRunAsNonRoot = podValue === true;

  const explicitlyBad: string[] = [];
  const implicitlyBad: string[] = [];
  for (const c of allContainers(spec)) {
    const value = c.securityContext?.runAsNonRoot;
    if (isSet(value)) {
      if (!value) explicitlyBad.push(c.name);
    } else if (!podRunAsNonRoot) {
      implicitlyBad.push(c.name);
    }
  }
  if (explicitlyBad.length > 0) badSetters.push(containersPhrase(explicitlyBad));

  // Explicit "false" is reported alone: fixing it is the first step either way.
  if (badSetters.length > 0) {
    return {
      reason: 'runAsNonRoot != true',
      detail: `${badSetters.join(' and ')} must not set securityContext.runAsNonRoot=false`,
    };
  }
  if (implicitlyBad.length > 0) {
    return {
      reason: 'runAsNonRoot != true',
      detail: `pod or ${containersPhrase(implicitlyBad)} must set securityContext.runAsNonRoot=true`,
    };
  }
  return undefined;
}

export const runAsNonRootCheck: PodSecurityCheck = {
  id: 'runAsNonRoot',
  level: 'restricted',
  versions: [
    { minimumMinor: 0, checkPod: (_m, spec) => runAsNonRoot1_0(spec) },
    {
      minimumMinor: 35,
      checkPod: (_m, spec) => (usesUserNamespace(spec) ? undefined : runAsNonRoot1_0(spec)),
    },
  ],
};
