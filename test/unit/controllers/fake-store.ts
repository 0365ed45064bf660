// In-memory stand-ins for the reconcile core's edges: an informer cache
// (ObjectStore) and a SecurityReport API that behaves like the API server
// where it matters (resourceVersions, 409 on stale writes, status only
// through the status subresource); `syncReports` plays the watch catching up.
// Below them, builders for the real workloads and policies the tests evaluate.
import {
  ApiException,
  type KubernetesObject,
  type V1Container,
  type V1ContainerStatus,
  type V1Deployment,
  type V1OwnerReference,
  type V1Pod,
  type V1PodSecurityContext,
  type V1PodSpec,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import type {
  ClusterSecurityPolicy,
  SecurityPolicy,
  SecurityPolicySpec,
} from '../../../src/api/policy-types.js';
import type { SecurityReport } from '../../../src/api/report-types.js';
import type { ObjectStore } from '../../../src/runtime/cluster-cache.js';
import { ALL_RESOURCES } from '../../../src/controllers/resources.js';
import type { ReportClient } from '../../../src/controllers/workload/io.js';

const keyOf = (kind: string, namespace: string | undefined, name: string) =>
  `${kind}/${namespace ?? ''}/${name}`;

const copy = <T>(value: T): T => structuredClone(value);

export class FakeStore implements ObjectStore {
  private readonly objects = new Map<string, KubernetesObject>();

  /** Adds or replaces objects (copied, as a cache holds its own copy). */
  put(...objects: KubernetesObject[]): this {
    for (const object of objects) {
      const { kind, metadata } = object;
      if (!kind || !metadata?.name) throw new Error('fake store objects need kind and metadata.name');
      this.objects.set(keyOf(kind, metadata.namespace, metadata.name), copy(object));
    }
    return this;
  }

  remove(kind: string, namespace: string | undefined, name: string): void {
    this.objects.delete(keyOf(kind, namespace, name));
  }

  get<T extends KubernetesObject = KubernetesObject>(
    kind: string,
    namespace: string | undefined,
    name: string,
  ): T | undefined {
    return this.objects.get(keyOf(kind, namespace, name)) as T | undefined;
  }

  /** The production index functions, evaluated over every stored object of the kind. */
  byIndex<T extends KubernetesObject = KubernetesObject>(kind: string, index: string, value: string): T[] {
    const indexer = ALL_RESOURCES.find((r) => r.kind === kind)?.indexers?.[index];
    if (!indexer) throw new Error(`no index "${index}" on ${kind}`);
    return this.list<T>(kind).filter((o) => indexer(o).includes(value));
  }

  list<T extends KubernetesObject = KubernetesObject>(kind: string, namespace?: string): T[] {
    return [...this.objects.values()].filter(
      (o) => o.kind === kind && (namespace === undefined || o.metadata?.namespace === namespace),
    ) as T[];
  }
}

export type ReportCall = 'create' | 'replace' | 'replaceStatus';

/** The SecurityReport endpoints of an API server, in memory. */
export class FakeReportApi implements ReportClient {
  readonly stored = new Map<string, SecurityReport>();
  readonly calls: Array<{ call: ReportCall; name: string }> = [];
  /** Makes the next call fail with this HTTP status. */
  failNextWith: number | undefined;
  private version = 100;

  async create(report: SecurityReport): Promise<SecurityReport> {
    this.record('create', report);
    const key = this.keyOf(report);
    if (this.stored.has(key)) throw conflict(`securityreports "${report.metadata.name}" already exists`);
    // With a status subresource, the status sent on create is dropped.
    const { status: _dropped, ...rest } = copy(report);
    const created: SecurityReport = {
      ...rest,
      metadata: { ...rest.metadata, uid: `uid-report-${report.metadata.name}`, resourceVersion: this.next() },
    };
    this.stored.set(key, created);
    return copy(created);
  }

  async replace(report: SecurityReport): Promise<SecurityReport> {
    this.record('replace', report);
    const current = this.current(report);
    // The main resource cannot change the status.
    const replaced: SecurityReport = {
      ...copy(report),
      metadata: { ...copy(report.metadata), resourceVersion: this.next() },
      status: current.status,
    };
    this.stored.set(this.keyOf(report), replaced);
    return copy(replaced);
  }

  async replaceStatus(report: SecurityReport): Promise<SecurityReport> {
    this.record('replaceStatus', report);
    const current = this.current(report);
    // The status subresource changes nothing but the status.
    const replaced: SecurityReport = {
      ...current,
      metadata: { ...current.metadata, resourceVersion: this.next() },
      status: copy(report.status),
    };
    this.stored.set(this.keyOf(report), replaced);
    return copy(replaced);
  }

  get(namespace: string, name: string): SecurityReport | undefined {
    const found = this.stored.get(`${namespace}/${name}`);
    return found && copy(found);
  }

  /** The informer catches up: every stored report appears in `store`. */
  syncReports(store: FakeStore): void {
    for (const report of this.stored.values()) store.put(report);
  }

  count(call: ReportCall): number {
    return this.calls.filter((c) => c.call === call).length;
  }

  private record(call: ReportCall, report: SecurityReport): void {
    this.calls.push({ call, name: report.metadata.name ?? '' });
    const failure = this.failNextWith;
    if (failure !== undefined) {
      this.failNextWith = undefined;
      throw new ApiException(failure, `HTTP ${failure}`, {}, {});
    }
  }

  private current(report: SecurityReport): SecurityReport {
    const current = this.stored.get(this.keyOf(report));
    if (!current) throw new ApiException(404, `securityreports "${report.metadata.name}" not found`, {}, {});
    if (report.metadata.resourceVersion !== current.metadata.resourceVersion)
      throw conflict('the object has been modified; please apply your changes to the latest version');
    return current;
  }

  private keyOf(report: SecurityReport): string {
    return `${report.metadata.namespace ?? ''}/${report.metadata.name ?? ''}`;
  }

  private next(): string {
    return String(++this.version);
  }
}

function conflict(message: string): ApiException<object> {
  return new ApiException(409, message, {}, {});
}

// Workloads and policies as the API server would hand them out.

export const NAMESPACE = 'shop';

export function securityPolicy(
  name: string,
  spec: SecurityPolicySpec = {},
  namespace = NAMESPACE,
): SecurityPolicy {
  return {
    apiVersion: 'shipshape.dev/v1alpha1',
    kind: 'SecurityPolicy',
    metadata: { name, namespace, uid: `uid-policy-${namespace}-${name}-${++policyCount}`, generation: 1 },
    spec,
  };
}

export function clusterSecurityPolicy(name: string, spec: SecurityPolicySpec = {}): ClusterSecurityPolicy {
  return {
    apiVersion: 'shipshape.dev/v1alpha1',
    kind: 'ClusterSecurityPolicy',
    metadata: { name, uid: `uid-cluster-policy-${name}-${++policyCount}`, generation: 1 },
    spec,
  };
}

// Unique uids: compiled policies are cached by uid and generation.
let policyCount = 0;

/** A container that breaks most default rules: a :latest image running as root, no limits or probes. */
export function rootContainer(name = 'web', image = 'nginx:latest'): V1Container {
  return { name, image };
}

/** A container that every default rule accepts (with goodPodSecurity on the pod). */
export function hardenedContainer(name = 'web', image = 'ghcr.io/example/web:1.4.2'): V1Container {
  return {
    name,
    image,
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
    livenessProbe: { httpGet: { path: '/healthz', port: 8080 } },
    readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
  };
}

export const goodPodSecurity: V1PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: 10001,
  seccompProfile: { type: 'RuntimeDefault' },
};

export function deployment(
  name: string,
  spec: V1PodSpec,
  labels: Record<string, string> = { app: name },
): V1Deployment & KubernetesObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NAMESPACE, uid: `uid-deployment-${name}`, generation: 1 },
    spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec } },
  };
}

export function ownerRef(owner: KubernetesObject): V1OwnerReference {
  return {
    apiVersion: owner.apiVersion ?? '',
    kind: owner.kind ?? '',
    name: owner.metadata?.name ?? '',
    uid: owner.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The ReplicaSet a Deployment controller makes, with the same pod template. */
export function replicaSetOf(
  owner: V1Deployment & KubernetesObject,
  hash = '5d8f7c',
): V1ReplicaSet & KubernetesObject {
  const name = `${owner.metadata?.name}-${hash}`;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: NAMESPACE,
      uid: `uid-replicaset-${name}`,
      ownerReferences: [ownerRef(owner)],
    },
    spec: { selector: owner.spec?.selector ?? {}, template: owner.spec?.template },
  };
}

/** A pod of `owner` (or a bare pod), optionally running: imageIDs as the kubelet reports them. */
export function pod(
  name: string,
  spec: V1PodSpec,
  owner?: KubernetesObject,
  imageIds: Record<string, string> = {},
): V1Pod & KubernetesObject {
  const statuses: V1ContainerStatus[] = Object.entries(imageIds).map(([container, imageID]) => ({
    name: container,
    image: spec.containers.find((c) => c.name === container)?.image ?? '',
    imageID,
    ready: true,
    restartCount: 0,
  }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: NAMESPACE,
      uid: `uid-pod-${name}`,
      ...(owner ? { ownerReferences: [ownerRef(owner)] } : {}),
    },
    spec,
    ...(statuses.length > 0 ? { status: { phase: 'Running', containerStatuses: statuses } } : {}),
  };
}
