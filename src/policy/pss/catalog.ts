// The Pod Security Standards checks of k8s.io/pod-security-admission v0.36.3
// (Kubernetes 1.36), with their levels and version history.
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
export const podSecurityReleaseMinor = 36;

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
