// Which workloads exist and what they run, answered from the informer caches
// and their indexes: the top-level workload of any object (Pod → ReplicaSet →
// Deployment, Pod → Job → CronJob), every workload of a namespace, the pods of a
// workload, and — the one place that answers it — the workloads that run an
// image digest (pods whose containers report it, plus workloads whose template
// names a reference that resolved to it).
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { WORKLOAD_KINDS } from '../../api/policy-types.js';
import type { ObjectStore } from '../../runtime/cluster-cache.js';
import { INDEX, ownerIndexValue } from '../resources.js';
import type { WorkloadKey } from './key.js';
import { resolveTopController } from './owners.js';

const WATCHED: ReadonlySet<string> = new Set(WORKLOAD_KINDS);
/** Kinds that sit between a top-level workload and its pods. */
const INTERMEDIATE_KINDS = ['ReplicaSet', 'Job'] as const;
/** Deployment → ReplicaSet → Pod and CronJob → Job → Pod are the deepest chains. */
const MAX_DEPTH = 3;

export class Workloads {
  constructor(private readonly store: ObjectStore) {}

  /** The top-level workload of any watched object, or undefined when its chain is not cached yet. */
  topWorkloadOf(object: KubernetesObject): WorkloadKey | undefined {
    const lookup = (kind: string, namespace: string, name: string) =>
      WATCHED.has(kind) ? this.store.get(kind, namespace, name) : undefined;
    const resolution = resolveTopController(object, lookup);
    let top = resolution.workload;
    if (resolution.outcome === 'owner-missing') {
      // An owner of a kind we do not watch (a custom controller): report on the highest kind we know.
      // A missing owner of a watched kind is a cache race; its own add event will enqueue the right key.
      if (WATCHED.has(top.kind)) return undefined;
      const below = resolution.chain[resolution.chain.length - 2];
      if (!below) return undefined;
      top = below;
    } else if (resolution.outcome !== 'complete') {
      return undefined;
    }
    const { kind, namespace, name } = top;
    if (!WATCHED.has(kind) || !namespace) return undefined;
    return { kind, namespace, name };
  }

  /** Whether `object` is itself the top-level workload `key` names. */
  isTop(object: KubernetesObject, key: WorkloadKey): boolean {
    const top = this.topWorkloadOf(object);
    return top !== undefined && top.kind === key.kind && top.name === key.name;
  }

  /** Every top-level workload in the caches (optionally one namespace). */
  all(namespace?: string): WorkloadKey[] {
    const keys: WorkloadKey[] = [];
    for (const kind of WORKLOAD_KINDS) {
      for (const object of this.store.list(kind, namespace)) {
        const top = this.topWorkloadOf(object);
        if (top && top.kind === kind && top.name === object.metadata?.name) keys.push(top);
      }
    }
    return keys;
  }

  /** Pods whose top controller is this workload, found through the owner index. */
  podsOf(key: WorkloadKey): V1Pod[] {
    if (key.kind === 'Pod') {
      const pod = this.store.get<V1Pod & KubernetesObject>('Pod', key.namespace, key.name);
      return pod ? [pod] : [];
    }
    const pods: V1Pod[] = [];
    let owners: { kind: string; name: string }[] = [key];
    for (let depth = 0; depth < MAX_DEPTH && owners.length > 0; depth++) {
      const next: { kind: string; name: string }[] = [];
      for (const owner of owners) {
        const value = ownerIndexValue(owner.kind, key.namespace, owner.name);
        for (const pod of this.store.byIndex<V1Pod & KubernetesObject>('Pod', INDEX.owner, value))
          pods.push(pod);
        for (const kind of INTERMEDIATE_KINDS) {
          for (const child of this.store.byIndex(kind, INDEX.owner, value)) {
            if (child.metadata?.name) next.push({ kind, name: child.metadata.name });
          }
        }
      }
      owners = next;
    }
    return pods;
  }

  /** Top-level workloads whose templates name `image` (as written), optionally in one namespace. */
  using(image: string, namespace?: string): WorkloadKey[] {
    const found = new Map<string, WorkloadKey>();
    for (const kind of WORKLOAD_KINDS) {
      for (const object of this.store.byIndex(kind, INDEX.image, image)) {
        if (namespace !== undefined && object.metadata?.namespace !== namespace) continue;
        this.addTop(found, object);
      }
    }
    return [...found.values()];
  }

  /** Top-level workloads that run `digest`: pods reporting it, and templates naming a reference to it. */
  running(digest: string, references: Iterable<string> = []): WorkloadKey[] {
    const found = new Map<string, WorkloadKey>();
    for (const pod of this.store.byIndex('Pod', INDEX.digest, digest)) this.addTop(found, pod);
    for (const reference of references) {
      for (const key of this.using(reference)) found.set(`${key.kind}/${key.namespace}/${key.name}`, key);
    }
    return [...found.values()];
  }

  private addTop(found: Map<string, WorkloadKey>, object: KubernetesObject): void {
    const top = this.topWorkloadOf(object);
    if (top) found.set(`${top.kind}/${top.namespace}/${top.name}`, top);
  }
}
