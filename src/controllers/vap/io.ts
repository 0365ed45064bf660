// The VAP controller's API calls, behind a small interface: create, replace
// by resourceVersion and delete of the ValidatingAdmissionPolicies and
// bindings it generates. No get, list or watch here: what exists is read from
// the manager's informer cache (resources.ts), so RBAC is list/watch plus
// these three writes. No decisions here; the reconciler decides.
import {
  AdmissionregistrationV1Api,
  type KubeConfig,
  type V1ValidatingAdmissionPolicy,
  type V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';
import { statusOf } from '../../runtime/leader-election.js';

export type VapKind = 'ValidatingAdmissionPolicy' | 'ValidatingAdmissionPolicyBinding';

export type VapObject = V1ValidatingAdmissionPolicy | V1ValidatingAdmissionPolicyBinding;

export interface VapClient {
  /** Creates the object, or replaces it when `resourceVersion` (of the one in the cluster) is given. */
  apply(kind: VapKind, object: VapObject, resourceVersion: string | undefined): Promise<void>;
  /** Deletes it; one already gone is not an error. */
  delete(kind: VapKind, name: string): Promise<void>;
}

export function kubernetesVapClient(kc: KubeConfig, fieldManager = 'shipshape'): VapClient {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  return {
    async apply(kind, object, resourceVersion) {
      const name = object.metadata?.name ?? '';
      if (kind === 'ValidatingAdmissionPolicy') {
        const body = object as V1ValidatingAdmissionPolicy;
        if (resourceVersion === undefined) await api.createValidatingAdmissionPolicy({ body, fieldManager });
        else
          await api.replaceValidatingAdmissionPolicy({
            name,
            body: { ...body, metadata: { ...body.metadata, resourceVersion } },
            fieldManager,
          });
      } else {
        const body = object as V1ValidatingAdmissionPolicyBinding;
        if (resourceVersion === undefined)
          await api.createValidatingAdmissionPolicyBinding({ body, fieldManager });
        else
          await api.replaceValidatingAdmissionPolicyBinding({
            name,
            body: { ...body, metadata: { ...body.metadata, resourceVersion } },
            fieldManager,
          });
      }
    },
    async delete(kind, name) {
      try {
        if (kind === 'ValidatingAdmissionPolicy') await api.deleteValidatingAdmissionPolicy({ name });
        else await api.deleteValidatingAdmissionPolicyBinding({ name });
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    },
  };
}
