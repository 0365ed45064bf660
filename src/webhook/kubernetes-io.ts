// The webhook's few API calls, behind the small interfaces the certificate
// keeper takes: its Secret (get / create / update by resourceVersion) and its
// ValidatingWebhookConfiguration (get / update, or create when the operator
// owns it whole on a cluster without a Service in front of it). No decisions
// here; the keeper decides.
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Secret,
  type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { statusOf } from '../runtime/leader-election.js';
import type { CaBundleTarget, StoredTls, TlsMaterial, TlsSecretStore } from './certificate-keeper.js';
import { withCaBundle } from './configuration.js';

const decode = (value: string | undefined) =>
  value === undefined ? '' : Buffer.from(value, 'base64').toString();
const encode = (value: string) => Buffer.from(value).toString('base64');

/** kubernetes.io/tls with ca.crt, the layout cert-manager writes; ca.key is ours. */
function secretBody(
  namespace: string,
  name: string,
  material: TlsMaterial,
  resourceVersion?: string,
): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace,
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
      labels: { 'app.kubernetes.io/name': 'shipshape', 'app.kubernetes.io/component': 'webhook' },
    },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': encode(material.cert),
      'tls.key': encode(material.key),
      'ca.crt': encode(material.caBundle),
      'ca.key': encode(material.caKey),
    },
  };
}

export function kubernetesTlsSecretStore(kc: KubeConfig, namespace: string, name: string): TlsSecretStore {
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async read(): Promise<StoredTls | undefined> {
      let secret: V1Secret;
      try {
        secret = await core.readNamespacedSecret({ namespace, name });
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
      const data = secret.data ?? {};
      const material =
        data['tls.crt'] !== undefined
          ? {
              cert: decode(data['tls.crt']),
              key: decode(data['tls.key']),
              caBundle: decode(data['ca.crt']),
              caKey: decode(data['ca.key']),
            }
          : undefined;
      return { material, resourceVersion: secret.metadata?.resourceVersion };
    },
    async create(material) {
      await core.createNamespacedSecret({ namespace, body: secretBody(namespace, name, material) });
    },
    async replace(material, resourceVersion) {
      await core.replaceNamespacedSecret({
        namespace,
        name,
        body: secretBody(namespace, name, material, resourceVersion),
      });
    },
  };
}

/** Reads a Secret cert-manager (or the user) keeps and this process only reads; see CertificateSource. */
export async function readTlsSecret(
  kc: KubeConfig,
  namespace: string,
  name: string,
): Promise<TlsMaterial | undefined> {
  return (await kubernetesTlsSecretStore(kc, namespace, name).read())?.material;
}

/** Injects the CA bundle into an existing ValidatingWebhookConfiguration (the shipped manifest's). */
export function injectIntoWebhookConfiguration(kc: KubeConfig, name: string): CaBundleTarget {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  return {
    async inject(bundle) {
      for (let attempt = 0; ; attempt++) {
        const existing = await api.readValidatingWebhookConfiguration({ name });
        const updated = withCaBundle(existing, bundle);
        if (!updated) return false;
        try {
          await api.replaceValidatingWebhookConfiguration({ name, body: updated });
          return true;
        } catch (error) {
          if (statusOf(error) === 409 && attempt < 3) continue;
          throw error;
        }
      }
    },
  };
}

/** Keeps a whole ValidatingWebhookConfiguration as `desired(bundle)` says (created when missing). */
export function managedWebhookConfiguration(
  kc: KubeConfig,
  desired: (bundle: string) => V1ValidatingWebhookConfiguration,
): CaBundleTarget {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  return {
    async inject(bundle) {
      const body = desired(bundle);
      const name = body.metadata?.name ?? '';
      for (let attempt = 0; ; attempt++) {
        let existing: V1ValidatingWebhookConfiguration | undefined;
        try {
          existing = await api.readValidatingWebhookConfiguration({ name });
        } catch (error) {
          if (statusOf(error) !== 404) throw error;
        }
        try {
          if (!existing) {
            await api.createValidatingWebhookConfiguration({ body });
            return true;
          }
          if (sameWebhooks(existing, body)) return false;
          await api.replaceValidatingWebhookConfiguration({
            name,
            body: { ...body, metadata: { ...existing.metadata, ...body.metadata } },
          });
          return true;
        } catch (error) {
          if ((statusOf(error) === 409 || statusOf(error) === 404) && attempt < 3) continue;
          throw error;
        }
      }
    },
  };
}

/** Compares the fields we set (the API server adds defaults such as reinvocation and objectSelector). */
function sameWebhooks(
  existing: V1ValidatingWebhookConfiguration,
  desired: V1ValidatingWebhookConfiguration,
): boolean {
  const ours = desired.webhooks ?? [];
  const theirs = existing.webhooks ?? [];
  if (ours.length !== theirs.length) return false;
  return ours.every((w, i) => {
    const t = theirs[i]!;
    return (
      t.name === w.name &&
      t.failurePolicy === w.failurePolicy &&
      t.timeoutSeconds === w.timeoutSeconds &&
      isDeepStrictEqual(t.clientConfig, w.clientConfig) &&
      isDeepStrictEqual(t.matchConditions, w.matchConditions) &&
      isDeepStrictEqual(t.namespaceSelector, w.namespaceSelector) &&
      isDeepStrictEqual(
        t.rules?.map((r) => [r.apiGroups, r.resources, r.operations]),
        w.rules?.map((r) => [r.apiGroups, r.resources, r.operations]),
      )
    );
  });
}
