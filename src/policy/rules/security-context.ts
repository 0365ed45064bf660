// Security context rules: user, filesystem, privileges, capabilities, host
// access, and kernel confinement (seccomp, AppArmor, SELinux, procMount, sysctls).
import { compileGlobs, type GlobMatcher } from '../glob.js';
import { eachContainer, NO_HITS, quote, type RuleDefinition, type RuleHit } from './rule.js';

export const runAsNonRoot: RuleDefinition = {
  id: 'securityContext.runAsNonRoot',
  title: 'Container may run as root',
  severity: 'High',
  category: 'securityContext',
  description:
    'Without runAsNonRoot: true (or a non-zero runAsUser) the image decides the user, and most images run as root. The container setting wins over the pod setting.',
  remediation:
    'Set securityContext.runAsNonRoot: true on the pod or the container, and build the image with a non-root USER.',
  check: eachContainer((c) => {
    if (c.runAsNonRoot === false) return 'sets runAsNonRoot: false';
    if (c.runAsNonRoot === true) return undefined;
    if (c.runAsUser !== undefined && c.runAsUser > 0) return undefined;
    return 'does not set runAsNonRoot: true (pod or container securityContext)';
  }),
};

export const runAsUser: RuleDefinition = {
  id: 'securityContext.runAsUser',
  title: 'Container runs as user 0',
  severity: 'High',
  category: 'securityContext',
  description:
    'runAsUser: 0 runs the container as root, whatever the image says. The container setting wins over the pod setting.',
  remediation:
    'Set runAsUser to a non-zero UID (for example 10001), or leave it unset and set runAsNonRoot: true.',
  check: eachContainer((c) => (c.runAsUser === 0 ? 'sets runAsUser: 0 (root)' : undefined)),
};

export const readOnlyRootFilesystem: RuleDefinition = {
  id: 'securityContext.readOnlyRootFilesystem',
  title: 'Root filesystem is writable',
  severity: 'Medium',
  category: 'securityContext',
  description:
    'A writable root filesystem lets an intruder change binaries and configuration of the running container.',
  remediation:
    'Set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes where the app writes.',
  check: eachContainer((c) =>
    c.securityContext?.readOnlyRootFilesystem === true
      ? undefined
      : 'does not set readOnlyRootFilesystem: true',
  ),
};

export const allowPrivilegeEscalation: RuleDefinition = {
  id: 'securityContext.allowPrivilegeEscalation',
  title: 'Privilege escalation is allowed',
  severity: 'High',
  category: 'securityContext',
  description:
    'Unless allowPrivilegeEscalation is false, setuid binaries and file capabilities can give a process more privileges than its parent.',
  remediation: 'Set securityContext.allowPrivilegeEscalation: false on every container.',
  check: eachContainer((c) => {
    const value = c.securityContext?.allowPrivilegeEscalation;
    if (value === false) return undefined;
    return value === true
      ? 'sets allowPrivilegeEscalation: true'
      : 'does not set allowPrivilegeEscalation: false';
  }),
};

/** Kubernetes accepts capability names with or without the CAP_ prefix. */
export function normalizeCapability(name: string): string {
  const upper = name.toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}

export const capabilitiesDropAll: RuleDefinition = {
  id: 'securityContext.capabilitiesDropAll',
  title: 'Capabilities are not dropped',
  severity: 'Medium',
  category: 'securityContext',
  description:
    'Container runtimes grant a default set of capabilities (NET_RAW, CHOWN, SETUID, ...); few apps need them.',
  remediation: 'Set securityContext.capabilities.drop: ["ALL"] and add back only what the app needs.',
  check: eachContainer((c) => {
    const drop = c.securityContext?.capabilities?.drop ?? [];
    return drop.some((d) => normalizeCapability(d) === 'ALL') ? undefined : 'does not drop ALL capabilities';
  }),
};

interface CapabilityParams {
  forbidden: ReadonlySet<string>;
  allowed: ReadonlySet<string> | undefined;
}

export const capabilitiesAdd: RuleDefinition<CapabilityParams> = {
  id: 'securityContext.capabilitiesAdd',
  title: 'Forbidden capability added',
  severity: 'High',
  category: 'securityContext',
  description:
    'Adding capabilities such as SYS_ADMIN or NET_ADMIN gives a container near-root power over the node. Forbidden: spec.rules.securityContext.forbiddenCapabilities (ALL there forbids adding ALL); if allowedCapabilities is set, anything else is forbidden too.',
  remediation:
    'Remove the capability from securityContext.capabilities.add, or grant it in allowedCapabilities after review.',
  prepare(rules) {
    const sc = rules.securityContext ?? {};
    const forbidden = (sc.forbiddenCapabilities ?? []).map(normalizeCapability);
    const allowed = sc.allowedCapabilities?.map(normalizeCapability);
    return {
      key: JSON.stringify([forbidden, allowed]),
      params: {
        forbidden: new Set(forbidden),
        allowed: allowed && allowed.length > 0 ? new Set(allowed) : undefined,
      },
    };
  },
  check: eachContainer((c, p: CapabilityParams) => {
    const bad = (c.securityContext?.capabilities?.add ?? []).filter((raw) => {
      const cap = normalizeCapability(raw);
      return p.forbidden.has(cap) || (p.allowed !== undefined && !p.allowed.has(cap));
    });
    return bad.length > 0 ? `adds forbidden capabilities ${bad.map(quote).join(', ')}` : undefined;
  }),
};

export const privileged: RuleDefinition = {
  id: 'securityContext.privileged',
  title: 'Privileged container',
  severity: 'Critical',
  category: 'securityContext',
  description: 'A privileged container has every capability and all host devices: it is root on the node.',
  remediation:
    'Remove securityContext.privileged: true; grant the specific capability or device the app needs.',
  check: eachContainer((c) => (c.securityContext?.privileged === true ? 'sets privileged: true' : undefined)),
};

export const hostNamespaces: RuleDefinition = {
  id: 'securityContext.hostNamespaces',
  title: 'Pod shares host namespaces',
  severity: 'High',
  category: 'securityContext',
  description:
    'hostNetwork, hostPID and hostIPC let the pod see and reach the node’s network, processes and IPC.',
  remediation: 'Remove hostNetwork, hostPID and hostIPC from the pod spec (or set them to false).',
  check({ pod }) {
    const spec = pod.spec;
    // Nearly every pod passes: answer that without building the list.
    if (spec.hostNetwork !== true && spec.hostPID !== true && spec.hostIPC !== true) return NO_HITS;
    const shared = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((f) => spec[f] === true);
    return [{ message: `pod sets ${shared.map((f) => `${f}: true`).join(', ')}` }];
  },
};

export const hostPath: RuleDefinition<GlobMatcher> = {
  id: 'securityContext.hostPath',
  title: 'hostPath volume',
  severity: 'High',
  category: 'securityContext',
  description:
    'A hostPath volume exposes the node’s filesystem (docker.sock, kubelet credentials, /etc) to the pod. Paths under spec.rules.securityContext.allowedHostPaths are accepted.',
  remediation: 'Use a PersistentVolumeClaim, emptyDir, ConfigMap or CSI volume instead of hostPath.',
  prepare(rules) {
    const allowed = rules.securityContext?.allowedHostPaths ?? [];
    return { key: JSON.stringify(allowed), params: compileGlobs(allowed) };
  },
  check({ pod }, allowed) {
    let hits: RuleHit[] | undefined;
    for (const v of pod.spec.volumes ?? []) {
      if (v.hostPath && !allowed(v.hostPath.path))
        (hits ??= []).push({ message: `volume ${quote(v.name)} mounts host path ${quote(v.hostPath.path)}` });
    }
    return hits ?? NO_HITS;
  },
};

export const hostPorts: RuleDefinition<ReadonlySet<number>> = {
  id: 'securityContext.hostPorts',
  title: 'Container binds a host port',
  severity: 'High',
  category: 'securityContext',
  description:
    'A hostPort bypasses network policies and pins the pod to nodes where the port is free. Ports in spec.rules.securityContext.allowedHostPorts are accepted.',
  remediation: 'Remove hostPort and expose the container through a Service.',
  prepare(rules) {
    const allowed = rules.securityContext?.allowedHostPorts ?? [];
    return { key: JSON.stringify(allowed), params: new Set(allowed) };
  },
  check: eachContainer((c, allowed: ReadonlySet<number>) => {
    const bad = (c.container.ports ?? []).filter((p) => p.hostPort && !allowed.has(p.hostPort));
    return bad.length > 0 ? `binds host ports ${bad.map((p) => p.hostPort).join(', ')}` : undefined;
  }),
};

export const seccomp: RuleDefinition = {
  id: 'securityContext.seccomp',
  title: 'No seccomp profile',
  severity: 'Medium',
  category: 'securityContext',
  description:
    'Without a seccomp profile (RuntimeDefault or Localhost) every system call is open to the container. The container setting wins over the pod setting.',
  remediation: 'Set securityContext.seccompProfile.type: RuntimeDefault on the pod.',
  check: eachContainer((c) => {
    const type = c.seccompProfile?.type;
    if (type === 'RuntimeDefault' || type === 'Localhost') return undefined;
    return type === undefined ? 'has no seccomp profile' : `uses seccomp profile ${quote(type)}`;
  }),
};

const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';

export const appArmor: RuleDefinition = {
  id: 'securityContext.appArmor',
  title: 'AppArmor is disabled',
  severity: 'Medium',
  category: 'securityContext',
  description:
    'An Unconfined AppArmor profile (field or the legacy annotation) removes the runtime’s default confinement.',
  remediation: 'Remove the Unconfined AppArmor profile, or use RuntimeDefault or a Localhost profile.',
  check: eachContainer((c, _p, { pod }) => {
    if (c.appArmorProfile?.type === 'Unconfined') return 'uses AppArmor profile Unconfined';
    const annotation = pod.metadata.annotations?.[APPARMOR_ANNOTATION + c.name];
    return annotation === 'unconfined'
      ? `has annotation ${APPARMOR_ANNOTATION}${c.name}: unconfined`
      : undefined;
  }),
};

export const procMount: RuleDefinition = {
  id: 'securityContext.procMount',
  title: 'Unmasked /proc',
  severity: 'High',
  category: 'securityContext',
  description: 'procMount: Unmasked exposes kernel interfaces that the runtime normally masks.',
  remediation: 'Remove securityContext.procMount or set it to Default.',
  check: eachContainer((c) => {
    const value = c.securityContext?.procMount;
    return value !== undefined && value !== 'Default' ? `sets procMount: ${value}` : undefined;
  }),
};

/** The sysctls Kubernetes considers namespaced and safe (PodSecurity baseline, latest). */
export const SAFE_SYSCTLS: readonly string[] = [
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
];

export const sysctls: RuleDefinition<GlobMatcher> = {
  id: 'securityContext.sysctls',
  title: 'Unsafe sysctl',
  severity: 'High',
  category: 'securityContext',
  description:
    'Sysctls outside the Kubernetes safe set can affect other pods or the node. spec.rules.securityContext.allowedSysctls adds to the safe set.',
  remediation: 'Remove the sysctl from spec.securityContext.sysctls, or allow it in the policy after review.',
  prepare(rules) {
    const allowed = [...SAFE_SYSCTLS, ...(rules.securityContext?.allowedSysctls ?? [])];
    return { key: JSON.stringify(allowed), params: compileGlobs(allowed) };
  },
  check({ pod }, allowed) {
    const bad = (pod.spec.securityContext?.sysctls ?? []).filter((s) => !allowed(s.name));
    return bad.length > 0
      ? [{ message: `pod sets unsafe sysctls ${bad.map((s) => quote(s.name)).join(', ')}` }]
      : NO_HITS;
  },
};

const SELINUX_TYPES = new Set([
  '',
  'container_t',
  'container_init_t',
  'container_kvm_t',
  'container_engine_t',
]);

export const seLinux: RuleDefinition = {
  id: 'securityContext.seLinux',
  title: 'Custom SELinux options',
  severity: 'High',
  category: 'securityContext',
  description:
    'Setting an SELinux user or role, or a type other than the container types, can lift SELinux confinement. The container setting wins over the pod setting.',
  remediation: 'Remove seLinuxOptions.user and .role, and use a container_t family type or none.',
  check: eachContainer((c) => {
    const o = c.seLinuxOptions;
    if (!o) return undefined;
    if (o.type !== undefined && !SELINUX_TYPES.has(o.type))
      return `sets seLinuxOptions.type ${quote(o.type)}`;
    if (o.user) return `sets seLinuxOptions.user ${quote(o.user)}`;
    if (o.role) return `sets seLinuxOptions.role ${quote(o.role)}`;
    return undefined;
  }),
};

export const securityContextRules = [
  runAsNonRoot,
  runAsUser,
  readOnlyRootFilesystem,
  allowPrivilegeEscalation,
  capabilitiesDropAll,
  capabilitiesAdd,
  privileged,
  hostNamespaces,
  hostPath,
  hostPorts,
  seccomp,
  appArmor,
  procMount,
  sysctls,
  seLinux,
];
