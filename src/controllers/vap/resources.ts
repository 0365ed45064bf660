// The informer caches of the VAP controller: the ValidatingAdmissionPolicies
// and bindings the operator generated (label-selected, so a cluster's other
// VAPs are neither listed nor cached), trimmed to their metadata: the
// annotations say which policy revision and rules each one carries, and the
// generated-content hash stands in for the spec, which the API server defaults.
import {
  AdmissionregistrationV1Api,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { CachedResource } from '../../runtime/cluster-cache.js';
import { VAP_MANAGED_LABEL } from './generate.js';
import { trimMetadata } from '../resources.js';

const labelSelector = `${VAP_MANAGED_LABEL.key}=${VAP_MANAGED_LABEL.value}`;

type AnyList = Promise<KubernetesListObject<KubernetesObject>>;

const metadataOnly = (object: KubernetesObject): KubernetesObject => ({
  apiVersion: object.apiVersion,
  kind: object.kind,
  metadata: trimMetadata(object.metadata),
});

export const VAP_RESOURCES: readonly CachedResource[] = [
  {
    kind: 'ValidatingAdmissionPolicy',
    apiVersion: 'admissionregistration.k8s.io/v1',
    path: '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies',
    namespaced: false,
    labelSelector,
    list: (kc) => () =>
      kc
        .makeApiClient(AdmissionregistrationV1Api)
        .listValidatingAdmissionPolicy({ labelSelector }) as AnyList,
    transform: metadataOnly,
  },
  {
    kind: 'ValidatingAdmissionPolicyBinding',
    apiVersion: 'admissionregistration.k8s.io/v1',
    path: '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings',
    namespaced: false,
    labelSelector,
    list: (kc) => () =>
      kc
        .makeApiClient(AdmissionregistrationV1Api)
        .listValidatingAdmissionPolicyBinding({ labelSelector }) as AnyList,
    transform: metadataOnly,
  },
];
