// The Kubernetes resources the operator watches: the list call and API path
// each informer needs, the apiVersion their list items lack, the transform that
// trims each object to what the controllers and the rule engine read (client-go's
// SetTransform: a cached pod keeps its owners, labels, the spec only where it is
// evaluated, and its containers' imageIDs), and the indexes the controllers ask.
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1ContainerStatus,
  type V1ObjectMeta,
  type V1Pod,
} from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, WORKLOAD_KINDS } from '../api/policy-types.js';
import { podTemplateOf, type WorkloadObject } from '../policy/workload.js';
import { podImages } from '../policy/target.js';
import { digestOf } from '../report/security-report.js';
import { withSharedStrings } from '../report/shared-strings.js';
import type { SecurityReport } from '../api/report-types.js';
import type { CachedResource } from '../runtime/cluster-cache.js';
import { controllerOf } from './workload/owners.js';

export type WatchedResource = CachedResource;

const WORKLOAD_KIND_SET: ReadonlySet<string> = new Set(WORKLOAD_KINDS);

/** Index names; each is defined on the kinds listed in RESOURCES below. */
export const INDEX = {
  /** "Kind/namespace/name" of the object's controller owner. */
  owner: 'owner',
  /** Image references written in the object's pod template (every container kind). */
  image: 'image',
  /** Digests the pod's containers run (status imageIDs). */
  digest: 'digest',
} as const;

export function ownerIndexValue(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

const byOwner = (object: KubernetesObject): string[] => {
  const owner = controllerOf(object);
  const namespace = object.metadata?.namespace;
  return owner && namespace ? [ownerIndexValue(owner.kind, namespace, owner.name)] : [];
};

const byImage = (object: KubernetesObject): string[] => {
  const template = podTemplateOf(object as WorkloadObject);
  return template ? podImages(template.spec) : [];
};

const byDigest = (object: KubernetesObject): string[] => {
  const status = (object as V1Pod).status;
  return [
    ...(status?.initContainerStatuses ?? []),
    ...(status?.containerStatuses ?? []),
    ...(status?.ephemeralContainerStatuses ?? []),
  ].flatMap((s) => digestOf(s.imageID) ?? []);
};

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Metadata without managedFields and kubectl's copy of the whole object. */
export function trimMetadata(metadata: V1ObjectMeta | undefined): V1ObjectMeta {
  if (metadata === undefined) return {};
  const { managedFields: _managed, annotations, ...rest } = metadata;
  if (annotations === undefined || !(LAST_APPLIED in annotations))
    return annotations ? { ...rest, annotations } : rest;
  const { [LAST_APPLIED]: _applied, ...kept } = annotations;
  return Object.keys(kept).length > 0 ? { ...rest, annotations: kept } : rest;
}

/** Whether the object's pod template is evaluated on its own: no watched controller owns it. */
function isTopCandidate(object: KubernetesObject): boolean {
  const owner = controllerOf(object);
  return owner === undefined || !WORKLOAD_KIND_SET.has(owner.kind);
}

const trimStatus = (s: V1ContainerStatus): V1ContainerStatus =>
  ({ name: s.name, image: s.image, imageID: s.imageID }) as V1ContainerStatus;

/**
 * A pod as the controllers read it. A pod owned by a watched workload is
 * evaluated through its owner's template, so only its containers' names and
 * images stay in the spec; a bare pod keeps its whole spec.
 */
export function trimPod(object: KubernetesObject): KubernetesObject {
  const pod = object as V1Pod;
  const spec = pod.spec;
  const status = pod.status;
  const slim = (containers: readonly { name: string; image?: string }[] | undefined) =>
    containers?.map((c) => ({ name: c.name, image: c.image }));
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata: trimMetadata(pod.metadata),
    ...(spec === undefined
      ? {}
      : {
          spec: isTopCandidate(pod)
            ? spec
            : {
                containers: slim(spec.containers) ?? [],
                ...(spec.initContainers ? { initContainers: slim(spec.initContainers) } : {}),
                ...(spec.ephemeralContainers ? { ephemeralContainers: slim(spec.ephemeralContainers) } : {}),
              },
        }),
    ...(status === undefined
      ? {}
      : {
          status: {
            ...(status.phase === undefined ? {} : { phase: status.phase }),
            ...(status.containerStatuses
              ? { containerStatuses: status.containerStatuses.map(trimStatus) }
              : {}),
            ...(status.initContainerStatuses
              ? { initContainerStatuses: status.initContainerStatuses.map(trimStatus) }
              : {}),
            ...(status.ephemeralContainerStatuses
              ? { ephemeralContainerStatuses: status.ephemeralContainerStatuses.map(trimStatus) }
              : {}),
          },
        }),
  } as KubernetesObject;
}

/**
 * A workload as the controllers read it: no status; a workload owned by another
 * watched workload (a Deployment's ReplicaSet, a CronJob's Job) keeps no spec,
 * as its owner's template is the one evaluated.
 */
export function trimWorkload(object: KubernetesObject): KubernetesObject {
  const { spec } = object as WorkloadObject;
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: trimMetadata(object.metadata),
    ...(spec === undefined || !isTopCandidate(object) ? {} : { spec }),
  } as KubernetesObject;
}

const trimAll = (object: KubernetesObject): KubernetesObject => ({
  ...object,
  metadata: trimMetadata(object.metadata),
});

type AnyList = Promise<KubernetesListObject<KubernetesObject>>;

const custom = (plural: string) => (kc: KubeConfig) => () =>
  kc
    .makeApiClient(CustomObjectsApi)
    .listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural }) as AnyList;

const workloadIndexers = { [INDEX.owner]: byOwner, [INDEX.image]: byImage };

/** Workload kinds that can be the top controller of pods, and Pod itself. */
export const WORKLOAD_RESOURCES: readonly WatchedResource[] = (
  [
    {
      kind: 'Pod',
      apiVersion: 'v1',
      path: '/api/v1/pods',
      namespaced: true,
      list: (kc) => () => kc.makeApiClient(CoreV1Api).listPodForAllNamespaces(),
    },
    {
      kind: 'ReplicationController',
      apiVersion: 'v1',
      path: '/api/v1/replicationcontrollers',
      namespaced: true,
      list: (kc) => () => kc.makeApiClient(CoreV1Api).listReplicationControllerForAllNamespaces(),
    },
    {
      kind: 'ReplicaSet',
      apiVersion: 'apps/v1',
      path: '/apis/apps/v1/replicasets',
      namespaced: true,
      list: (kc) => () => kc.makeApiClient(AppsV1Api).listReplicaSetForAllNamespaces(),
    },
    {
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      path: '/apis/apps/v1/deployments',
      namespaced: true,
      list: (kc) => () => kc.makeApiClient(AppsV1Api).listDeploymentForAllNamespaces(),
    },
    {
      kind: 'StatefulSet',
      apiVersion: 'apps/v1',
      path: '/apis/apps/v1/statefulsets',
      namespaced: true,
      list: (kc) => () => kc.makeApiClient(AppsV1Api).listStatefulSetForAllNamespaces(),
    },
    {
      kind: 'DaemonSet',
      apiVersion: 'apps/v1',
      path: '/apis/apps/v1/daemonsets',
      namespaced: true,
      list: (kc) => () => kc.makeApiClient(AppsV1Api).listDaemonSetForAllNamespaces(),
    },
    {
      kind: 'Job',
      apiVersion: 'batch/v1',
      path: '/apis/batch/v1/jobs',
      namespaced: true,
      list: (kc) => () => kc.makeApiClient(BatchV1Api).listJobForAllNamespaces(),
    },
    {
      kind: 'CronJob',
      apiVersion: 'batch/v1',
      path: '/apis/batch/v1/cronjobs',
      namespaced: true,
      list: (kc) => () => kc.makeApiClient(BatchV1Api).listCronJobForAllNamespaces(),
    },
  ] satisfies WatchedResource[]
).map((resource) =>
  resource.kind === 'Pod'
    ? { ...resource, transform: trimPod, indexers: { ...workloadIndexers, [INDEX.digest]: byDigest } }
    : { ...resource, transform: trimWorkload, indexers: workloadIndexers },
);

export const NAMESPACE_RESOURCE: WatchedResource = {
  kind: 'Namespace',
  apiVersion: 'v1',
  path: '/api/v1/namespaces',
  namespaced: false,
  list: (kc) => () => kc.makeApiClient(CoreV1Api).listNamespace(),
  transform: (object) => ({
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: trimMetadata(object.metadata),
  }),
};

export const POLICY_RESOURCES: readonly WatchedResource[] = [
  {
    kind: 'SecurityPolicy',
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    path: `/apis/${API_GROUP}/${API_VERSION}/securitypolicies`,
    namespaced: true,
    list: custom('securitypolicies'),
    transform: trimAll,
  },
  {
    kind: 'ClusterSecurityPolicy',
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    path: `/apis/${API_GROUP}/${API_VERSION}/clustersecuritypolicies`,
    namespaced: false,
    list: custom('clustersecuritypolicies'),
    transform: trimAll,
  },
];

export const REPORT_RESOURCE: WatchedResource = {
  kind: 'SecurityReport',
  apiVersion: `${API_GROUP}/${API_VERSION}`,
  path: `/apis/${API_GROUP}/${API_VERSION}/securityreports`,
  namespaced: true,
  list: custom('securityreports'),
  transform: (object) => withSharedStrings(trimAll(object) as SecurityReport & KubernetesObject),
};

export const ALL_RESOURCES: readonly WatchedResource[] = [
  ...WORKLOAD_RESOURCES,
  NAMESPACE_RESOURCE,
  ...POLICY_RESOURCES,
  REPORT_RESOURCE,
];
