// Resolves a pod (or any object) to the workload that ultimately controls it by
// walking controller ownerReferences through informer caches: Pod → ReplicaSet →
// Deployment, Pod → Job → CronJob, Pod → StatefulSet / DaemonSet, bare Pod → itself.
// Pure: the caches come in as a lookup function.
import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';

/** Identifies the workload a SecurityReport is about. */
export interface WorkloadRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

/** Finds an object in an informer cache; `undefined` when it is not (yet) there. */
export type OwnerLookup = (kind: string, namespace: string, name: string) => KubernetesObject | undefined;

export type ResolutionOutcome =
  /** The chain ended at an object with no controller: `workload` is the true top. */
  | 'complete'
  /** An owner named by a reference is not in the cache (not synced yet, or deleted). */
  | 'owner-missing'
  /** The chain was longer than maxDepth or looped; we stopped at the last object seen. */
  | 'depth-exceeded';

export interface OwnerResolution {
  /** The highest controller known; the object itself when it has no controller. */
  workload: WorkloadRef;
  /** From the object itself up to `workload`, inclusive. */
  chain: WorkloadRef[];
  outcome: ResolutionOutcome;
  /** Human-readable reason when outcome is not 'complete'. */
  message?: string;
}

export interface ResolveOptions {
  /** Guards against reference loops written by buggy controllers. */
  maxDepth?: number;
}

// Static (mirror) pods name their Node as controller; a Node cannot hold a namespaced
// report, so the pod is its own workload.
const CLUSTER_SCOPED_OWNER_KINDS = new Set(['Node']);

/** The ownerReference marked `controller: true`, as client-go's GetControllerOf. */
export function controllerOf(obj: KubernetesObject): V1OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((ref) => ref.controller === true);
}

/** The WorkloadRef naming `obj` itself. */
export function workloadRefOf(obj: KubernetesObject, defaults: Partial<WorkloadRef> = {}): WorkloadRef {
  return {
    apiVersion: obj.apiVersion ?? defaults.apiVersion ?? '',
    kind: obj.kind ?? defaults.kind ?? '',
    namespace: obj.metadata?.namespace ?? defaults.namespace ?? '',
    name: obj.metadata?.name ?? defaults.name ?? '',
    uid: obj.metadata?.uid ?? defaults.uid ?? '',
  };
}

function refFromOwner(owner: V1OwnerReference, namespace: string): WorkloadRef {
  // Owners of namespaced objects live in the same namespace (or are cluster-scoped, excluded above).
  return { apiVersion: owner.apiVersion, kind: owner.kind, namespace, name: owner.name, uid: owner.uid };
}

/**
 * Walks controller references from `obj` upward. Objects from informer caches
 * often lack apiVersion/kind (list items drop them), so the referencing owner
 * reference supplies those; `objectKind` does the same for the starting object.
 */
export function resolveTopController(
  obj: KubernetesObject,
  lookup: OwnerLookup,
  options: ResolveOptions & { objectKind?: { apiVersion: string; kind: string } } = {},
): OwnerResolution {
  const maxDepth = options.maxDepth ?? 10;
  let current = workloadRefOf(obj, options.objectKind);
  let currentObject = obj;
  const chain: WorkloadRef[] = [current];
  const seen = new Set<string>([current.uid || `${current.kind}/${current.name}`]);

  for (let depth = 0; ; depth++) {
    const owner = controllerOf(currentObject);
    if (owner === undefined || CLUSTER_SCOPED_OWNER_KINDS.has(owner.kind)) {
      return { workload: current, chain, outcome: 'complete' };
    }
    const ownerRef = refFromOwner(owner, current.namespace);
    if (depth >= maxDepth || seen.has(ownerRef.uid)) {
      return {
        workload: current,
        chain,
        outcome: 'depth-exceeded',
        message: `stopped at ${describe(current)}: owner chain longer than ${maxDepth} or looping`,
      };
    }
    seen.add(ownerRef.uid);
    chain.push(ownerRef);
    const found = lookup(owner.kind, current.namespace, owner.name);
    const foundUid = found?.metadata?.uid;
    // A cached object with the same name but another uid is a successor, not our owner.
    if (found === undefined || (foundUid !== undefined && foundUid !== owner.uid)) {
      return {
        workload: ownerRef,
        chain,
        outcome: 'owner-missing',
        message:
          found === undefined
            ? `${describe(ownerRef)} (owner of ${describe(current)}) is not in the cache; its own owners are unknown`
            : `${describe(ownerRef)} in the cache has uid ${foundUid}, not ${owner.uid}; its own owners are unknown`,
      };
    }
    current = ownerRef;
    currentObject = found;
  }
}

function describe(ref: WorkloadRef): string {
  return `${ref.kind} ${ref.namespace}/${ref.name}`;
}
