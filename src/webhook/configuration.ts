// The ValidatingWebhookConfiguration the operator registers, built in one
// place: the shipped manifest (config/webhook/manifests.yaml) is tested
// against it, and on a cluster without kube-proxy (the local control plane)
// the operator writes it itself with clientConfig.url. Built so a broken
// operator cannot lock a cluster: failurePolicy Ignore by default, a timeout
// far inside the API server's own, sideEffects None, and the control plane's
// and the operator's namespaces excluded twice (namespaceSelector and a CEL
// matchCondition, which also holds if a namespace's labels are tampered with).
import type {
  AdmissionregistrationV1WebhookClientConfig,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';

export const WEBHOOK_NAME = 'workloads.validate.shipshape.dev';
export const WEBHOOK_PATH = '/validate';
/** Namespaces never sent to the webhook, besides the operator's own. */
export const ALWAYS_EXCLUDED_NAMESPACES = ['kube-system', 'kube-node-lease', 'kube-public'] as const;

export interface WebhookConfigurationOptions {
  name: string;
  /** `https://host:port/path` (local control plane), or the Service in front of the operator. */
  endpoint: { url: string } | { service: { namespace: string; name: string; port?: number } };
  /** PEM bundle of the CAs the API server should trust. */
  caBundle?: string;
  operatorNamespace: string;
  failurePolicy?: 'Ignore' | 'Fail';
  timeoutSeconds?: number;
}

export function excludedNamespacesOf(operatorNamespace: string): string[] {
  return [...new Set([...ALWAYS_EXCLUDED_NAMESPACES, operatorNamespace])];
}

export function validatingWebhookConfiguration(
  options: WebhookConfigurationOptions,
): V1ValidatingWebhookConfiguration {
  const excluded = excludedNamespacesOf(options.operatorNamespace);
  const clientConfig: AdmissionregistrationV1WebhookClientConfig =
    'url' in options.endpoint
      ? { url: options.endpoint.url }
      : {
          service: {
            namespace: options.endpoint.service.namespace,
            name: options.endpoint.service.name,
            path: WEBHOOK_PATH,
            port: options.endpoint.service.port ?? 443,
          },
        };
  if (options.caBundle) clientConfig.caBundle = Buffer.from(options.caBundle).toString('base64');
  const operations = ['CREATE', 'UPDATE'];
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: {
      name: options.name,
      labels: {
        'app.kubernetes.io/name': 'shipshape',
        'app.kubernetes.io/component': 'webhook',
        'app.kubernetes.io/part-of': 'shipshape',
      },
    },
    webhooks: [
      {
        name: WEBHOOK_NAME,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: options.failurePolicy ?? 'Ignore',
        matchPolicy: 'Equivalent',
        timeoutSeconds: options.timeoutSeconds ?? 5,
        clientConfig,
        namespaceSelector: {
          matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excluded }],
        },
        matchConditions: [
          {
            name: 'not-excluded-namespace',
            expression: `!(request.namespace in [${excluded.map((ns) => `'${ns}'`).join(', ')}])`,
          },
        ],
        rules: [
          {
            apiGroups: [''],
            apiVersions: ['v1'],
            resources: ['pods', 'replicationcontrollers'],
            operations,
            scope: 'Namespaced',
          },
          {
            apiGroups: ['apps'],
            apiVersions: ['v1'],
            resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'],
            operations,
            scope: 'Namespaced',
          },
          {
            apiGroups: ['batch'],
            apiVersions: ['v1'],
            resources: ['jobs', 'cronjobs'],
            operations,
            scope: 'Namespaced',
          },
        ],
      },
    ],
  };
}

/** `existing` with every webhook's caBundle set to `bundle`; undefined when it already trusts exactly that. */
export function withCaBundle(
  existing: V1ValidatingWebhookConfiguration,
  bundle: string,
): V1ValidatingWebhookConfiguration | undefined {
  const encoded = Buffer.from(bundle).toString('base64');
  const webhooks = existing.webhooks ?? [];
  if (webhooks.every((w) => w.clientConfig.caBundle === encoded)) return undefined;
  return {
    ...existing,
    webhooks: webhooks.map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle: encoded } })),
  };
}
