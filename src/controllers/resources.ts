// The Kubernetes resources the operator watches, with the list call and API
// path each informer needs, and the apiVersion their list items lack.
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { API_GROUP, API_VERSION } from '../api/policy-types.js';

export interface WatchedResource {
  kind: string;
  apiVersion: string;
  path: string;
  namespaced: boolean;
  list(kc: KubeConfig): () => Promise<KubernetesListObject<KubernetesObject>>;
}

type AnyList = Promise<KubernetesListObject<KubernetesObject>>;

const custom = (plural: string) => (kc: KubeConfig) => () =>
  kc
    .makeApiClient(CustomObjectsApi)
    .listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural }) as AnyList;

/** Workload kinds that can be the top controller of pods, and Pod itself. */
export const WORKLOAD_RESOURCES: readonly WatchedResource[] = [
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
];

export const NAMESPACE_RESOURCE: WatchedResource = {
  kind: 'Namespace',
  apiVersion: 'v1',
  path: '/api/v1/namespaces',
  namespaced: false,
  list: (kc) => () => kc.makeApiClient(CoreV1Api).listNamespace(),
};

export const POLICY_RESOURCES: readonly WatchedResource[] = [
  {
    kind: 'SecurityPolicy',
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    path: `/apis/${API_GROUP}/${API_VERSION}/securitypolicies`,
    namespaced: true,
    list: custom('securitypolicies'),
  },
  {
    kind: 'ClusterSecurityPolicy',
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    path: `/apis/${API_GROUP}/${API_VERSION}/clustersecuritypolicies`,
    namespaced: false,
    list: custom('clustersecuritypolicies'),
  },
];

export const REPORT_RESOURCE: WatchedResource = {
  kind: 'SecurityReport',
  apiVersion: `${API_GROUP}/${API_VERSION}`,
  path: `/apis/${API_GROUP}/${API_VERSION}/securityreports`,
  namespaced: true,
  list: custom('securityreports'),
};

export const ALL_RESOURCES: readonly WatchedResource[] = [
  ...WORKLOAD_RESOURCES,
  NAMESPACE_RESOURCE,
  ...POLICY_RESOURCES,
  REPORT_RESOURCE,
];
