// Informer caches for every watched resource, each under an InformerSupervisor
// (restarted when it errors or goes quiet), with lookups by kind, named
// indexers (client-go's Indexer: "which pods does this ReplicaSet own") and a
// transform that trims objects before they are cached. One change callback:
// handlers only turn changes into keys. Domain-free: the resources, their
// transforms and index functions are passed in.
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { InformerSupervisor, listWatchFactory } from './informer-supervisor.js';
import type { InformerMetrics } from './informer-supervisor.js';

/** Index values of one object under one index: say, its owner's key. */
export type IndexFunction = (object: KubernetesObject) => readonly string[];

export interface CachedResource {
  kind: string;
  apiVersion: string;
  /** API path of the collection: "/api/v1/pods". */
  path: string;
  namespaced: boolean;
  /** Watch only objects with these labels (the list call must select the same). */
  labelSelector?: string;
  list(kc: KubeConfig): () => Promise<KubernetesListObject<KubernetesObject>>;
  /** Keeps only the fields the controllers read; applied before an object is cached. */
  transform?: (object: KubernetesObject) => KubernetesObject;
  /** Named indexes over this kind's objects. */
  indexers?: Readonly<Record<string, IndexFunction>>;
}

export type ChangeType = 'add' | 'update' | 'delete';
export type ChangeHandler = (resource: CachedResource, type: ChangeType, object: KubernetesObject) => void;

export interface ClusterCacheOptions {
  kubeConfig: KubeConfig;
  resources: readonly CachedResource[];
  onChange: ChangeHandler;
  metricsFor?: (resource: string) => InformerMetrics;
  onError?: (error: unknown, resource: string) => void;
  idleTimeoutMs?: number;
}

/** The read side of the caches, which reconcilers and unit-test fakes share. */
export interface ObjectStore {
  get<T extends KubernetesObject = KubernetesObject>(
    kind: string,
    namespace: string | undefined,
    name: string,
  ): T | undefined;
  list<T extends KubernetesObject = KubernetesObject>(kind: string, namespace?: string): T[];
  /** Objects of `kind` whose index `index` has `value`. */
  byIndex<T extends KubernetesObject = KubernetesObject>(kind: string, index: string, value: string): T[];
}

/** "namespace/name", or "name" for cluster-scoped objects. */
export function objectKey(object: KubernetesObject): string {
  const { namespace, name } = object.metadata ?? {};
  return namespace ? `${namespace}/${name ?? ''}` : (name ?? '');
}

/** One index: value → keys of the objects that have it, and each object's values for updates. */
class Index {
  private readonly byValue = new Map<string, Set<string>>();
  private readonly valuesOf = new Map<string, readonly string[]>();
  constructor(private readonly indexFunction: IndexFunction) {}

  update(key: string, object: KubernetesObject | undefined): void {
    for (const value of this.valuesOf.get(key) ?? []) {
      const keys = this.byValue.get(value);
      keys?.delete(key);
      if (keys?.size === 0) this.byValue.delete(value);
    }
    this.valuesOf.delete(key);
    if (object === undefined) return;
    const values = [...new Set(this.indexFunction(object))];
    if (values.length === 0) return;
    this.valuesOf.set(key, values);
    for (const value of values) {
      let keys = this.byValue.get(value);
      if (!keys) this.byValue.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  keys(value: string): Iterable<string> {
    return this.byValue.get(value) ?? [];
  }
}

interface Entry {
  resource: CachedResource;
  supervisor: InformerSupervisor<KubernetesObject>;
  indexes: Map<string, Index>;
}

export class ClusterCache implements ObjectStore {
  private readonly entries = new Map<string, Entry>();

  constructor(options: ClusterCacheOptions) {
    for (const resource of options.resources) {
      const supervisor = new InformerSupervisor<KubernetesObject>(
        listWatchFactory({
          kubeConfig: options.kubeConfig,
          path: resource.path,
          list: resource.list(options.kubeConfig),
          ...(resource.labelSelector === undefined ? {} : { labelSelector: resource.labelSelector }),
          ...(resource.transform === undefined ? {} : { transform: resource.transform }),
        }),
        {
          resource: resource.kind,
          metrics: options.metricsFor?.(resource.kind),
          onError: options.onError,
          idleTimeoutMs: options.idleTimeoutMs,
        },
      );
      const indexes = new Map(
        Object.entries(resource.indexers ?? {}).map(([name, fn]) => [name, new Index(fn)] as const),
      );
      for (const type of ['add', 'update', 'delete'] as const) {
        supervisor.informer.on(type, (raw) => {
          const object = withKind(resource, raw);
          // Indexes first, so the handler's lookups already see this change.
          const key = objectKey(object);
          for (const index of indexes.values()) index.update(key, type === 'delete' ? undefined : object);
          options.onChange(resource, type, object);
        });
      }
      this.entries.set(resource.kind, { resource, supervisor, indexes });
    }
  }

  /**
   * Starts every informer; resolves once each has listed its collection
   * successfully (an informer whose list fails keeps retrying, and start waits).
   */
  async start(): Promise<void> {
    const supervisors = [...this.entries.values()].map((e) => e.supervisor);
    await Promise.all(supervisors.map((informer) => informer.start()));
    await Promise.all(supervisors.map((informer) => informer.synced));
  }

  /** Whether every informer has listed once: false while any first list is failing. */
  get synced(): boolean {
    return [...this.entries.values()].every((e) => e.supervisor.hasSynced);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.supervisor.stop()));
  }

  get<T extends KubernetesObject = KubernetesObject>(
    kind: string,
    namespace: string | undefined,
    name: string,
  ): T | undefined {
    const entry = this.entries.get(kind);
    if (!entry) return undefined;
    const object = entry.supervisor.get(name, entry.resource.namespaced ? namespace : undefined);
    return object ? (withKind(entry.resource, object) as T) : undefined;
  }

  list<T extends KubernetesObject = KubernetesObject>(kind: string, namespace?: string): T[] {
    const entry = this.entries.get(kind);
    if (!entry) return [];
    return entry.supervisor.list(namespace).map((object) => withKind(entry.resource, object) as T);
  }

  byIndex<T extends KubernetesObject = KubernetesObject>(kind: string, index: string, value: string): T[] {
    const entry = this.entries.get(kind);
    const found = entry?.indexes.get(index);
    if (!entry || !found) throw new Error(`no index "${index}" on ${kind}`);
    const objects: T[] = [];
    for (const key of found.keys(value)) {
      const slash = key.indexOf('/');
      const object =
        slash < 0
          ? this.get<T>(kind, undefined, key)
          : this.get<T>(kind, key.slice(0, slash), key.slice(slash + 1));
      if (object) objects.push(object);
    }
    return objects;
  }

  restarts(kind: string): number {
    return this.entries.get(kind)?.supervisor.restarts ?? 0;
  }
}

/** List items come without apiVersion and kind; the cache knows them. */
function withKind(resource: CachedResource, object: KubernetesObject): KubernetesObject {
  if (object.kind && object.apiVersion) return object;
  return Object.assign(object, { kind: resource.kind, apiVersion: resource.apiVersion });
}
