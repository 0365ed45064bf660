// Baseline: no Windows HostProcess pods or containers (policy/check_windowsHostProcess.go).
import type { V1PodSpec } from '@kubernetes/client-node';
import { containersPhrase } from '../format.js';
import { containerNamesWhere } from '../pod.js';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';

function windowsHostProcess1_0(spec: V1PodSpec): CheckVerdict {
  const setters: string[] = [];
  if (spec.securityContext?.windowsOptions?.hostProcess === true) setters.push('pod');
  const bad = containerNamesWhere(spec, (c) => c.securityContext?.windowsOptions?.hostProcess === true);
  if (bad.length > 0) setters.push(containersPhrase(bad));
  if (setters.length === 0) return undefined;
  return {
    reason: 'hostProcess',
    detail: `${setters.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`,
  };
}

export const windowsHostProcessCheck: PodSecurityCheck = {
  id: 'windowsHostProcess',
  level: 'baseline',
  versions: [{ minimumMinor: 0, checkPod: (_m, spec) => windowsHostProcess1_0(spec) }],
};
