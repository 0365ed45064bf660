// Kubernetes Pod Security Standards (baseline / restricted), checked exactly as the
// PodSecurity admission of Kubernetes 1.37 (k8s.io/pod-security-admission v0.37.2) does.
// Pure: a pod spec in, Kubernetes-worded violations out.
import {
  PSS_PORT_MODULE_VERSION,
  PSS_PORT_RELEASE,
  podSecurityChecks,
  podSecurityReleaseMinor,
} from './catalog.js';
import type { PodSecurityLevel } from './types.js';
import { formatPodSecurityVersion } from './version.js';

export { evaluatePodSecurity, newestPodSecurityPolicyMinor } from './evaluate.js';
export { parsePodSecurityVersion, formatPodSecurityVersion } from './version.js';
export type { PodSecurityVersion } from './version.js';
export type { PodSecurityLevel, PodSecuritySubject, PodSecurityViolation } from './types.js';
export { PSS_PORT_MODULE_VERSION, PSS_PORT_RELEASE, podSecurityReleaseMinor };

export type PodSecurityCheckInfo = {
  /** Kubernetes check id. */
  id: string;
  level: PodSecurityLevel;
  /** First policy version the check applies to, e.g. 'v1.22'. */
  minimumVersion: string;
  /** Every version at which the check's behaviour changed (the first is minimumVersion). */
  revisions: readonly string[];
  /** Baseline checks this restricted check replaces at the restricted level (latest revision). */
  overrides: readonly string[];
};

/** The checks, baseline first, with their level and version history. */
export const podSecurityCheckList: readonly PodSecurityCheckInfo[] = podSecurityChecks.map((check) => {
  const revisions = check.versions.map((v) =>
    formatPodSecurityVersion({ latest: false, minor: v.minimumMinor }),
  );
  return {
    id: check.id,
    level: check.level,
    minimumVersion: revisions[0]!,
    revisions,
    overrides: check.versions.at(-1)?.overrides ?? [],
  };
});
