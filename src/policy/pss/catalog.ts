// The Pod Security Standards checks of k8s.io/pod-security-admission v0.37.2
// (Kubernetes 1.37), with their levels and version history.
import { allowPrivilegeEscalationCheck } from './checks/allowPrivilegeEscalation.js';
import { appArmorProfileCheck } from './checks/appArmorProfile.js';
import { capabilitiesBaselineCheck } from './checks/capabilitiesBaseline.js';
import { capabilitiesRestrictedCheck } from './checks/capabilitiesRestricted.js';
import { hostNamespacesCheck } from './checks/hostNamespaces.js';
import { hostPathVolumesCheck } from './checks/hostPathVolumes.js';
import { hostPortsCheck } from './checks/hostPorts.js';
import { hostProbesAndHostLifecycleCheck } from './checks/hostProbesAndHostLifecycle.js';
import { privilegedCheck } from './checks/privileged.js';
import { procMountBaselineCheck, procMountRestrictedCheck } from './checks/procMount.js';
import { restrictedVolumesCheck } from './checks/restrictedVolumes.js';
import { runAsNonRootCheck } from './checks/runAsNonRoot.js';
import { runAsUserCheck } from './checks/runAsUser.js';
import { seLinuxOptionsCheck } from './checks/seLinuxOptions.js';
import { seccompProfileBaselineCheck, seccompProfileRestrictedCheck } from './checks/seccompProfile.js';
import { sysctlsCheck } from './checks/sysctls.js';
import { windowsHostProcessCheck } from './checks/windowsHostProcess.js';
import type { PodSecurityCheck } from './types.js';

/** The Kubernetes minor release whose PodSecurity admission this catalog mirrors. */
export const podSecurityReleaseMinor = 37;
/**
 * That release as Kubernetes names it. docs/rules.md, the test control plane
 * (hack/tools/kube) and the message generator (hack/pss-messages) must name the same
 * minor: test/unit/policy/pss/release.test.ts holds them together.
 */
export const PSS_PORT_RELEASE = `v1.${podSecurityReleaseMinor}`;
/** The k8s.io/pod-security-admission module version ported (its minor is v0.<release minor>). */
export const PSS_PORT_MODULE_VERSION = 'v0.37.2';

export const podSecurityChecks: readonly PodSecurityCheck[] = [
  appArmorProfileCheck,
  capabilitiesBaselineCheck,
  hostNamespacesCheck,
  hostPathVolumesCheck,
  hostPortsCheck,
  hostProbesAndHostLifecycleCheck,
  privilegedCheck,
  procMountBaselineCheck,
  seLinuxOptionsCheck,
  seccompProfileBaselineCheck,
  sysctlsCheck,
  windowsHostProcessCheck,
  allowPrivilegeEscalationCheck,
  capabilitiesRestrictedCheck,
  procMountRestrictedCheck,
  restrictedVolumesCheck,
  runAsNonRootCheck,
  runAsUserCheck,
  seccompProfileRestrictedCheck,
];
