// Baseline: no sharing of the host's network, PID or IPC namespace
// (policy/check_hostNamespaces.go).
import type { V1PodSpec } from '@kubernetes/client-node';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';

function hostNamespaces1_0(spec: V1PodSpec): CheckVerdict {
  const shared: string[] = [];
  if (spec.hostNetwork === true) shared.push('hostNetwork=true');
  if (spec.hostPID === true) shared.push('hostPID=true');
  if (spec.hostIPC === true) shared.push('hostIPC=true');
  if (shared.length === 0) return undefined;
  return { reason: 'host namespaces', detail: shared.join(', ') };
}

export const hostNamespacesCheck: PodSecurityCheck = {
  id: 'hostNamespaces',
  level: 'baseline',
  versions: [{ minimumMinor: 0, checkPod: (_m, spec) => hostNamespaces1_0(spec) }],
};
