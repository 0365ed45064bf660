// Baseline: no hostPath volumes (policy/check_hostPathVolumes.go). At restricted,
// restrictedVolumes replaces it.
import type { V1PodSpec } from '@kubernetes/client-node';
import { joinQuote, pluralize } from '../format.js';
import { isSet } from '../pod.js';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';

export const hostPathVolumesId = 'hostPathVolumes';

function hostPathVolumes1_0(spec: V1PodSpec): CheckVerdict {
  const hostVolumes = (spec.volumes ?? []).filter((v) => isSet(v.hostPath)).map((v) => v.name);
  if (hostVolumes.length === 0) return undefined;
  return {
    reason: 'hostPath volumes',
    detail: `${pluralize('volume', 'volumes', hostVolumes.length)} ${joinQuote(hostVolumes)}`,
  };
}

export const hostPathVolumesCheck: PodSecurityCheck = {
  id: hostPathVolumesId,
  level: 'baseline',
  versions: [{ minimumMinor: 0, checkPod: (_m, spec) => hostPathVolumes1_0(spec) }],
};
