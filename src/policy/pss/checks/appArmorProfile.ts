// Baseline: AppArmor may not be overridden to anything but RuntimeDefault / Localhost,
// neither by field nor by the deprecated beta annotation (policy/check_appArmorProfile.go).
import type { V1AppArmorProfile, V1ObjectMeta, V1PodSpec } from '@kubernetes/client-node';
import { containersPhrase, compareGoStrings, goQuote, joinQuote, pluralize, sortedSet } from '../format.js';
import { allContainers, isSet } from '../pod.js';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';

const annotationKeyPrefix = 'container.apparmor.security.beta.kubernetes.io/';

function allowedAnnotationValue(profile: string): boolean {
  return profile.length === 0 || profile === 'runtime/default' || profile.startsWith('localhost/');
}

function allowedProfileType(profile: V1AppArmorProfile): boolean {
  return profile.type === 'RuntimeDefault' || profile.type === 'Localhost';
}

function appArmorProfile1_0(metadata: V1ObjectMeta, spec: V1PodSpec): CheckVerdict {
  const badSetters: string[] = [];
  const badValues: string[] = [];

  const podProfile = spec.securityContext?.appArmorProfile;
  if (isSet(podProfile) && !allowedProfileType(podProfile)) {
    badSetters.push('pod');
    badValues.push(podProfile.type ?? '');
  }

  const badContainers: string[] = [];
  for (const c of allContainers(spec)) {
    const profile = c.securityContext?.appArmorProfile;
    if (isSet(profile) && !allowedProfileType(profile)) {
      badContainers.push(c.name);
      badValues.push(profile.type ?? '');
    }
  }
  if (badContainers.length > 0) badSetters.push(containersPhrase(badContainers));

  const forbiddenAnnotations = Object.entries(metadata.annotations ?? {})
    .filter(([key, value]) => key.startsWith(annotationKeyPrefix) && !allowedAnnotationValue(value ?? ''))
    .map(([key, value]) => `${key}=${goQuote(value ?? '')}`)
    .sort(compareGoStrings);

  const badValueList = [...sortedSet(badValues), ...forbiddenAnnotations];
  if (forbiddenAnnotations.length > 0) {
    badSetters.push(pluralize('annotation', 'annotations', forbiddenAnnotations.length));
  }
  if (badSetters.length === 0) return undefined;
  return {
    reason: pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', badValueList.length),
    detail: `${badSetters.join(' and ')} must not set AppArmor profile type to ${joinQuote(badValueList)}`,
  };
}

export const appArmorProfileCheck: PodSecurityCheck = {
  id: 'appArmorProfile',
  level: 'baseline',
  versions: [{ minimumMinor: 0, checkPod: appArmorProfile1_0 }],
};
