// Baseline: containers may not bind host ports (policy/check_hostPorts.go).
import type { V1PodSpec } from '@kubernetes/client-node';
import { containersPhrase, pluralize, sortedSet } from '../format.js';
import { allContainers } from '../pod.js';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';

function hostPorts1_0(spec: V1PodSpec): CheckVerdict {
  const badContainers: string[] = [];
  const ports: string[] = [];
  for (const c of allContainers(spec)) {
    const hostPorts = (c.ports ?? []).map((p) => p.hostPort ?? 0).filter((port) => port !== 0);
    if (hostPorts.length > 0) {
      badContainers.push(c.name);
      ports.push(...hostPorts.map(String));
    }
  }
  if (badContainers.length === 0) return undefined;
  // Go sorts the ports as strings ("10" before "9"); kept so the text is identical.
  const forbidden = sortedSet(ports);
  return {
    reason: 'hostPort',
    detail: `${containersPhrase(badContainers)} ${pluralize('uses', 'use', badContainers.length)} ${pluralize('hostPort', 'hostPorts', forbidden.length)} ${forbidden.join(', ')}`,
  };
}

export const hostPortsCheck: PodSecurityCheck = {
  id: 'hostPorts',
  level: 'baseline',
  versions: [{ minimumMinor: 0, checkPod: (_m, spec) => hostPorts1_0(spec) }],
};
