// Restricted: containers must drop ALL and may add back only NET_BIND_SERVICE
// (policy/check_capabilities_restricted.go). Replaces capabilities_baseline; Windows
// pods are exempt from v1.25.
import type { V1PodSpec } from '@kubernetes/client-node';
import { containersPhrase, joinQuote, sortedSet } from '../format.js';
import { allContainers, isSet, isWindowsPod } from '../pod.js';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';
import { capabilitiesBaselineId } from './capabilitiesBaseline.js';

function capabilitiesRestricted1_22(spec: V1PodSpec): CheckVerdict {
  const missingDropAll: string[] = [];
  const addingForbidden: string[] = [];
  const forbiddenCapabilities: string[] = [];

  for (const c of allContainers(spec)) {
    const capabilities = c.securityContext?.capabilities;
    if (!isSet(capabilities)) {
      missingDropAll.push(c.name);
      continue;
    }
    if (!(capabilities.drop ?? []).includes('ALL')) missingDropAll.push(c.name);
    const forbidden = (capabilities.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (forbidden.length > 0) {
      addingForbidden.push(c.name);
      forbiddenCapabilities.push(...forbidden);
    }
  }

  const details: string[] = [];
  if (missingDropAll.length > 0) {
    details.push(`${containersPhrase(missingDropAll)} must set securityContext.capabilities.drop=["ALL"]`);
  }
  if (addingForbidden.length > 0) {
    details.push(
      `${containersPhrase(addingForbidden)} must not include ${joinQuote(sortedSet(forbiddenCapabilities))} in securityContext.capabilities.add`,
    );
  }
  if (details.length === 0) return undefined;
  return { reason: 'unrestricted capabilities', detail: details.join('; ') };
}

export const capabilitiesRestrictedCheck: PodSecurityCheck = {
  id: 'capabilities_restricted',
  level: 'restricted',
  versions: [
    {
      minimumMinor: 22,
      checkPod: (_m, spec) => capabilitiesRestricted1_22(spec),
      overrides: [capabilitiesBaselineId],
    },
    {
      minimumMinor: 25,
      checkPod: (_m, spec) => (isWindowsPod(spec) ? undefined : capabilitiesRestricted1_22(spec)),
      overrides: [capabilitiesBaselineId],
    },
  ],
};
