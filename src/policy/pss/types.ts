// Shared types of the Pod Security Standards engine: a check is a pure function of
// the pod's metadata and spec, versioned like Kubernetes' PodSecurity admission.
import type { V1ObjectMeta, V1PodSpec } from '@kubernetes/client-node';

export type PodSecurityLevel = 'baseline' | 'restricted';

/** The pod as the checks see it: the admission plugin only ever reads metadata and spec. */
export type PodSecuritySubject = { metadata?: V1ObjectMeta; spec: V1PodSpec };

/** One failed check, worded as Kubernetes words it. */
export type PodSecurityViolation = {
  /** Kubernetes check id, e.g. 'runAsNonRoot', 'hostNamespaces'. */
  check: string;
  /** The level the check belongs to (a baseline check stays 'baseline' when evaluated for restricted). */
  level: PodSecurityLevel;
  /** Kubernetes' forbidden reason, e.g. 'allowPrivilegeEscalation != false'. */
  reason: string;
  /** Kubernetes' forbidden detail, e.g. 'container "app" must set securityContext.allowPrivilegeEscalation=false'. */
  detail: string;
};

/** Result of one check; undefined means allowed. */
export type CheckVerdict = { reason: string; detail: string } | undefined;

export type CheckPodFn = (metadata: V1ObjectMeta, spec: V1PodSpec) => CheckVerdict;

/** A revision of a check, in force from `minimumMinor` (policy version v1.<minimumMinor>) on. */
export type VersionedCheck = {
  minimumMinor: number;
  checkPod: CheckPodFn;
  /** Baseline checks this restricted revision replaces when evaluating the restricted level. */
  overrides?: readonly string[];
};

export type PodSecurityCheck = {
  id: string;
  level: PodSecurityLevel;
  /** Strictly increasing by minimumMinor. */
  versions: readonly VersionedCheck[];
};
