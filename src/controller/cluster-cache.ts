// Informer caches for every watched resource, each under an
// InformerSupervisor (restarted when it errors or goes quiet), with lookups by
// kind and one change callback: handlers only turn changes into keys.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { InformerSupervisor, listWatchFactory } from './informer-supervisor.js';
import type { InformerMetrics } from './informer-supervisor.js';
import type { WatchedResource } from './watched-resources.js';

export type ChangeType = 'add' | 'update' | 'delete';
export type ChangeHandler = (resource: WatchedResource, type: ChangeType, object: KubernetesObject) => void;

export interface ClusterCacheOptions {
  kubeConfig: KubeConfig;
  resources: readonly WatchedResource[];
  onChange: ChangeHandler;
  metricsFor?: (resource: string) => InformerMetrics;
  onError?: (error: unknown, resource: string) => void;
  idleTimeoutMs?: number;
}

export class ClusterCache {
  private readonly informers = new Map<string, InformerSupervisor<KubernetesObject>>();
  private readonly resources = new Map<string, WatchedResource>();

  constructor(options: ClusterCacheOptions) {
    for (const resource of options.resources) {
      const supervisor = new InformerSupervisor<KubernetesObject>(
        listWatchFactory({
          kubeConfig: options.kubeConfig,
          path: resource.path,
          list: resource.list(options.kubeConfig),
        }),
        {
          resource: resource.kind,
          metrics: options.metricsFor?.(resource.kind),
          onError: options.onError,
          idleTimeoutMs: options.idleTimeoutMs,
        },
      );
      for (const type of ['add', 'update', 'delete'] as const) {
        supervisor.informer.on(type, (object) =>
          options.onChange(resource, type, withKind(resource, object)),
        );
      }
      this.informers.set(resource.kind, supervisor);
      this.resources.set(resource.kind, resource);
    }
  }

  /** Starts every informer; resolves once each has made its initial list. */
  async start(): Promise<void> {
    await Promise.all([...this.informers.values()].map((informer) => informer.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((informer) => informer.stop()));
  }

  get<T extends KubernetesObject = KubernetesObject>(
    kind: string,
    namespace: string | undefined,
    name: string,
  ): T | undefined {
    const resource = this.resources.get(kind);
    const object = this.informers.get(kind)?.get(name, resource?.namespaced ? namespace : undefined);
    return object && resource ? (withKind(resource, object) as T) : undefined;
  }

  list<T extends KubernetesObject = KubernetesObject>(kind: string, namespace?: string): T[] {
    const resource = this.resources.get(kind);
    if (!resource) return [];
    return (this.informers.get(kind)?.list(namespace) ?? []).map((object) => withKind(resource, object) as T);
  }

  restarts(kind: string): number {
    return this.informers.get(kind)?.restarts ?? 0;
  }
}

/** List items come without apiVersion and kind; the cache knows them. */
function withKind(resource: WatchedResource, object: KubernetesObject): KubernetesObject {
  if (object.kind && object.apiVersion) return object;
  return Object.assign(object, { kind: resource.kind, apiVersion: resource.apiVersion });
}
