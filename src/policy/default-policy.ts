// The built-in policy `shipshape audit` uses when given none: the restricted
// Pod Security Standard plus every default best-practice rule it does not
// already cover, so one mistake is reported once.
import { GROUP_VERSION, type ClusterSecurityPolicy } from '../api/policy-types.js';

export const DEFAULT_POLICY_NAME = 'shipshape-default';

/** Best-practice rules whose concern a restricted PSS check reports already. */
export const COVERED_BY_RESTRICTED: readonly string[] = [
  'securityContext.runAsNonRoot',
  'securityContext.runAsUser',
  'securityContext.allowPrivilegeEscalation',
  'securityContext.capabilitiesDropAll',
  'securityContext.capabilitiesAdd',
  'securityContext.privileged',
  'securityContext.hostNamespaces',
  'securityContext.hostPath',
  'securityContext.hostPorts',
  'securityContext.seccomp',
  'securityContext.appArmor',
  'securityContext.procMount',
  'securityContext.sysctls',
  'securityContext.seLinux',
];

export function defaultPolicy(): ClusterSecurityPolicy {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'ClusterSecurityPolicy',
    metadata: { name: DEFAULT_POLICY_NAME },
    spec: {
      enforcement: 'Audit',
      podSecurity: { level: 'restricted', version: 'latest' },
      rules: { disabled: [...COVERED_BY_RESTRICTED] },
    },
  };
}
