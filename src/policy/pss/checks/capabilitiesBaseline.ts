// Baseline: containers may only add capabilities from the container runtime's default
// set (policy/check_capabilities_baseline.go).
import type { V1PodSpec } from '@kubernetes/client-node';
import { containersPhrase, joinQuote, sortedSet } from '../format.js';
import { allContainers, isSet } from '../pod.js';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';

export const capabilitiesBaselineId = 'capabilities_baseline';

const allowedCapabilities1_0 = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

function capabilitiesBaseline1_0(spec: V1PodSpec): CheckVerdict {
  const badContainers: string[] = [];
  const nonDefault: string[] = [];
  for (const c of allContainers(spec)) {
    const capabilities = c.securityContext?.capabilities;
    if (!isSet(capabilities)) continue;
    const forbidden = (capabilities.add ?? []).filter((cap) => !allowedCapabilities1_0.has(cap));
    if (forbidden.length > 0) {
      badContainers.push(c.name);
      nonDefault.push(...forbidden);
    }
  }
  if (badContainers.length === 0) return undefined;
  return {
    reason: 'non-default capabilities',
    detail: `${containersPhrase(badContainers)} must not include ${joinQuote(sortedSet(nonDefault))} in securityContext.capabilities.add`,
  };
}

export const capabilitiesBaselineCheck: PodSecurityCheck = {
  id: capabilitiesBaselineId,
  level: 'baseline',
  versions: [{ minimumMinor: 0, checkPod: (_m, spec) => capabilitiesBaseline1_0(spec) }],
};
