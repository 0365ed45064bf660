// Seccomp (policy/check_seccompProfile_baseline.go, check_seccompProfile_restricted.go).
// Baseline forbids Unconfined where it is set: the alpha annotations before v1.19, the
// securityContext fields from v1.19. Restricted (from v1.19, replacing the baseline
// check) also requires a profile on the pod or on every container — a container's own
// profile wins over the pod's. Windows pods are exempt from restricted from v1.25.
import type { V1ObjectMeta, V1PodSpec, V1SeccompProfile } from '@kubernetes/client-node';
import { containersPhrase, goQuote, joinQuote, pluralize, sortedSet } from '../format.js';
import { allContainers, isSet, isWindowsPod } from '../pod.js';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';

export const seccompProfileBaselineId = 'seccompProfile_baseline';

const annotationKeyPod = 'seccomp.security.alpha.kubernetes.io/pod';
const annotationKeyContainerPrefix = 'container.seccomp.security.alpha.kubernetes.io/';

function validProfile(profile: V1SeccompProfile): boolean {
  return profile.type === 'Localhost' || profile.type === 'RuntimeDefault';
}

function validAnnotationValue(value: string): boolean {
  return value === 'runtime/default' || value === 'docker/default' || value.startsWith('localhost/');
}

function seccompProfileBaseline1_0(metadata: V1ObjectMeta, spec: V1PodSpec): CheckVerdict {
  const annotations = metadata.annotations ?? {};
  const forbidden: string[] = [];
  const inspect = (key: string): void => {
    if (!Object.hasOwn(annotations, key)) return;
    const value = annotations[key] ?? '';
    if (!validAnnotationValue(value)) forbidden.push(`${key}=${goQuote(value)}`);
  };
  inspect(annotationKeyPod);
  for (const c of allContainers(spec)) inspect(annotationKeyContainerPrefix + c.name);

  const list = sortedSet(forbidden);
  if (list.length === 0) return undefined;
  return {
    reason: 'seccompProfile',
    detail: `forbidden ${pluralize('annotation', 'annotations', list.length)} ${list.join(', ')}`,
  };
}

/** Who explicitly sets a profile other than RuntimeDefault/Localhost, and which types they set. */
function explicitlyForbidden(spec: V1PodSpec): { badSetters: string[]; badValues: string[] } {
  const badSetters: string[] = [];
  const badValues: string[] = [];
  const podProfile = spec.securityContext?.seccompProfile;
  if (isSet(podProfile) && !validProfile(podProfile)) {
    badSetters.push('pod');
    badValues.push(podProfile.type ?? '');
  }
  const badContainers: string[] = [];
  for (const c of allContainers(spec)) {
    const profile = c.securityContext?.seccompProfile;
    if (isSet(profile) && !validProfile(profile)) {
      badContainers.push(c.name);
      badValues.push(profile.type ?? '');
    }
  }
  if (badContainers.length > 0) badSetters.push(containersPhrase(badContainers));
  return { badSetters, badValues };
}

function explicitVerdict(badSetters: string[], badValues: string[]): CheckVerdict {
  if (badSetters.length === 0) return undefined;
  return {
    reason: 'seccompProfile',
    detail: `${badSetters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(badValues))}`,
  };
}

function seccompProfileBaseline1_19(spec: V1PodSpec): CheckVerdict {
  const { badSetters, badValues } = explicitlyForbidden(spec);
  return explicitVerdict(badSetters, badValues);
}

function seccompProfileRestricted1_19(spec: V1PodSpec): CheckVerdict {
  const { badSetters, badValues } = explicitlyForbidden(spec);
  const explicit = explicitVerdict(badSetters, badValues);
  if (explicit !== undefined) return explicit;

  const podProfile = spec.securityContext?.seccompProfile;
  const podSeccompSet = isSet(podProfile) && validProfile(podProfile);
  if (podSeccompSet) return undefined;
  const implicitlyBad = allContainers(spec)
    .filter((c) => !isSet(c.securityContext?.seccompProfile))
    .map((c) => c.name);
  if (implicitlyBad.length === 0) return undefined;
  return {
    reason: 'seccompProfile',
    detail: `pod or ${containersPhrase(implicitlyBad)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
  };
}

export const seccompProfileBaselineCheck: PodSecurityCheck = {
  id: seccompProfileBaselineId,
  level: 'baseline',
  versions: [
    { minimumMinor: 0, checkPod: seccompProfileBaseline1_0 },
    { minimumMinor: 19, checkPod: (_m, spec) => seccompProfileBaseline1_19(spec) },
  ],
};

export const seccompProfileRestrictedCheck: PodSecurityCheck = {
  id: 'seccompProfile_restricted',
  level: 'restricted',
  versions: [
    {
      minimumMinor: 19,
      checkPod: (_m, spec) => seccompProfileRestricted1_19(spec),
      overrides: [seccompProfileBaselineId],
    },
    {
      minimumMinor: 25,
      checkPod: (_m, spec) => (isWindowsPod(spec) ? undefined : seccompProfileRestricted1_19(spec)),
      overrides: [seccompProfileBaselineId],
    },
  ],
};
