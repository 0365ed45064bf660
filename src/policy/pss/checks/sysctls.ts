// Baseline: only namespaced, isolated ("safe") sysctls; the safe set grew in v1.27,
// v1.29, v1.32 and v1.37 (policy/check_sysctls.go).
import type { V1PodSpec } from '@kubernetes/client-node';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';

const allowed1_0: ReadonlySet<string> = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
]);
const allowed1_27: ReadonlySet<string> = new Set([...allowed1_0, 'net.ipv4.ip_local_reserved_ports']);
const allowed1_29: ReadonlySet<string> = new Set([
  ...allowed1_27,
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const allowed1_32: ReadonlySet<string> = new Set([...allowed1_29, 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem']);
const allowed1_37: ReadonlySet<string> = new Set([
  ...allowed1_32,
  'net.ipv4.tcp_slow_start_after_idle',
  'net.ipv4.tcp_notsent_lowat',
]);

function sysctls(spec: V1PodSpec, allowed: ReadonlySet<string>): CheckVerdict {
  const forbidden = (spec.securityContext?.sysctls ?? [])
    .map((s) => s.name)
    .filter((name) => !allowed.has(name));
  if (forbidden.length === 0) return undefined;
  return { reason: 'forbidden sysctls', detail: forbidden.join(', ') };
}

export const sysctlsCheck: PodSecurityCheck = {
  id: 'sysctls',
  level: 'baseline',
  versions: [
    { minimumMinor: 0, checkPod: (_m, spec) => sysctls(spec, allowed1_0) },
    { minimumMinor: 27, checkPod: (_m, spec) => sysctls(spec, allowed1_27) },
    { minimumMinor: 29, checkPod: (_m, spec) => sysctls(spec, allowed1_29) },
    { minimumMinor: 32, checkPod: (_m, spec) => sysctls(spec, allowed1_32) },
    { minimumMinor: 37, checkPod: (_m, spec) => sysctls(spec, allowed1_37) },
  ],
};
