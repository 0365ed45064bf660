// How the checks walk a pod: every container kind the PodSecurity admission visits
// (init, regular and ephemeral, in that order), and the pod-wide conditions some
// checks relax for (Windows pods, user-namespaced pods).
import type { V1Container, V1EphemeralContainer, V1PodSpec } from '@kubernetes/client-node';

/** The fields the checks read are shared by regular and ephemeral containers. */
export type AnyContainer = V1Container | V1EphemeralContainer;

const NO_CONTAINERS: readonly AnyContainer[] = Object.freeze([]);

function isEmpty(list: readonly unknown[] | null | undefined): boolean {
  return list === undefined || list === null || list.length === 0;
}

/**
 * Same order as policy/visitor.go, which decides the order of names in details.
 * Most pods have only regular containers: their array is returned as it is (read only),
 * since every check walks the containers and copying them was a hot allocation.
 */
export function allContainers(spec: V1PodSpec): readonly AnyContainer[] {
  if (isEmpty(spec.initContainers) && isEmpty(spec.ephemeralContainers))
    return spec.containers ?? NO_CONTAINERS;
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
}

/** Names of the containers matching `isBad`, in visiting order (duplicates kept, as Go does). */
export function containerNamesWhere(spec: V1PodSpec, isBad: (c: AnyContainer) => boolean): string[] {
  const names: string[] = [];
  for (const c of allContainers(spec)) if (isBad(c)) names.push(c.name);
  return names;
}

/** spec.os.name == windows: restricted Linux-only checks stop applying from policy v1.25. */
export function isWindowsPod(spec: V1PodSpec): boolean {
  return spec.os?.name === 'windows';
}

/** hostUsers: false (a user namespace) relaxes root-related checks from policy v1.35. */
export function usesUserNamespace(spec: V1PodSpec): boolean {
  return spec.hostUsers === false;
}

/** Go's pointer-is-set test for JSON input: absent and null are both nil. */
export function isSet<T>(value: T | null | undefined): value is T {
  return value !== undefined && value !== null;
}
