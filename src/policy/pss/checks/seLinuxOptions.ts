// Baseline: SELinux type limited to the container types, user and role unset
// (policy/check_seLinuxOptions.go); container_engine_t is allowed from v1.31.
import type { V1PodSpec, V1SELinuxOptions } from '@kubernetes/client-node';
import { containersPhrase, joinQuote, pluralize, sortedSet } from '../format.js';
import { allContainers, isSet } from '../pod.js';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';

const allowedTypes1_0: ReadonlySet<string> = new Set([
  '',
  'container_t',
  'container_init_t',
  'container_kvm_t',
]);
const allowedTypes1_31: ReadonlySet<string> = new Set([...allowedTypes1_0, 'container_engine_t']);

function seLinuxOptions(spec: V1PodSpec, allowedTypes: ReadonlySet<string>): CheckVerdict {
  const badTypes: string[] = [];
  let setUser = false;
  let setRole = false;
  const valid = (options: V1SELinuxOptions): boolean => {
    let ok = true;
    const type = options.type ?? '';
    if (!allowedTypes.has(type)) {
      ok = false;
      badTypes.push(type);
    }
    if ((options.user ?? '').length > 0) {
      ok = false;
      setUser = true;
    }
    if ((options.role ?? '').length > 0) {
      ok = false;
      setRole = true;
    }
    return ok;
  };

  const badSetters: string[] = [];
  const podOptions = spec.securityContext?.seLinuxOptions;
  if (isSet(podOptions) && !valid(podOptions)) badSetters.push('pod');

  const badContainers: string[] = [];
  for (const c of allContainers(spec)) {
    const options = c.securityContext?.seLinuxOptions;
    if (isSet(options) && !valid(options)) badContainers.push(c.name);
  }
  if (badContainers.length > 0) badSetters.push(containersPhrase(badContainers));
  if (badSetters.length === 0) return undefined;

  const badData: string[] = [];
  const types = sortedSet(badTypes);
  if (types.length > 0) badData.push(`${pluralize('type', 'types', types.length)} ${joinQuote(types)}`);
  if (setUser) badData.push('user may not be set');
  if (setRole) badData.push('role may not be set');
  return {
    reason: 'seLinuxOptions',
    detail: `${badSetters.join(' and ')} set forbidden securityContext.seLinuxOptions: ${badData.join('; ')}`,
  };
}

export const seLinuxOptionsCheck: PodSecurityCheck = {
  id: 'seLinuxOptions',
  level: 'baseline',
  versions: [
    { minimumMinor: 0, checkPod: (_m, spec) => seLinuxOptions(spec, allowedTypes1_0) },
    { minimumMinor: 31, checkPod: (_m, spec) => seLinuxOptions(spec, allowedTypes1_31) },
  ],
};
