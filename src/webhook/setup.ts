// Starts the admission webhook inside `shipshape operator`: its flags, the
// certificate source (self-managed Secret, or files cert-manager mounts), the
// reviewer over the manager's cache, metrics, and the HTTPS server. Every
// replica serves admission; only reads of the cache are needed for that, and
// the certificate writes are safe from any replica (see certificate-keeper.ts).
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { VAP_SETTLE_MS, vapCoverage } from '../controllers/vap/generate.js';
import { vexFromTrustMaterial } from '../controllers/workload/vex.js';
import { trustMaterialFromApi } from '../image/signature-service.js';
import type { ShipshapeMetrics } from '../metrics/registry.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { systemClock } from '../runtime/clock.js';
import type { ObjectStore } from '../runtime/cluster-cache.js';
import type { Logger } from '../runtime/log.js';
import { errorText } from '../runtime/text.js';
import { CertificateKeeper, DEFAULT_CERTIFICATE_POLICY } from './certificate-keeper.js';
import type { KeyPairPem, ServingNames } from './certificates.js';
import { excludedNamespacesOf, validatingWebhookConfiguration, WEBHOOK_PATH } from './configuration.js';
import {
  injectIntoWebhookConfiguration,
  kubernetesTlsSecretStore,
  managedWebhookConfiguration,
} from './kubernetes-io.js';
import { AdmissionReviewer, type AdmissionImages } from './reviewer.js';
import { AdmissionServer, kindLabel } from './server.js';

/** parseArgs definitions; `shipshape operator` spreads them into its own. */
export const WEBHOOK_FLAGS = {
  'webhook-bind-address': { type: 'string' },
  'webhook-secret': { type: 'string', default: 'shipshape-webhook-server-cert' },
  'webhook-cert-dir': { type: 'string' },
  'webhook-url': { type: 'string' },
  'webhook-configuration': { type: 'string', default: 'shipshape-validating-webhook-configuration' },
  'webhook-service': { type: 'string', default: 'shipshape-webhook-service' },
  'webhook-failure-policy': { type: 'string', default: 'Ignore' },
  'webhook-image-budget': { type: 'string', default: '2s' },
  'webhook-cert-validity': { type: 'string', default: '720h' },
  'webhook-ca-validity': { type: 'string', default: '8760h' },
  'webhook-cert-check-interval': { type: 'string', default: '1m' },
  'webhook-ca-trust-delay': { type: 'string', default: '30s' },
  'validating-admission-policies': { type: 'string', default: 'false' },
} as const;

export const WEBHOOK_USAGE = `  --webhook-bind-address <host:port>  serve admission (HTTPS) here, on every replica (default: no webhook)
  --webhook-secret <name>             Secret in --namespace with the self-managed CA and serving certificate
                                      (default shipshape-webhook-server-cert); created, renewed, recreated
  --webhook-cert-dir <dir>            use tls.crt/tls.key from this directory instead (cert-manager); no writes
  --webhook-url <https://host:port/…> register the webhook by URL (clusters without kube-proxy); the operator
                                      then owns the whole ValidatingWebhookConfiguration
  --webhook-configuration <name>      the ValidatingWebhookConfiguration to keep the CA bundle of
                                      (default shipshape-validating-webhook-configuration)
  --webhook-service <name>            the Service in front of the webhook, for the certificate's DNS names
                                      (default shipshape-webhook-service)
  --webhook-failure-policy <Ignore|Fail>  failurePolicy when the operator owns the configuration (default Ignore)
  --webhook-image-budget <duration>   how long admission waits for the analysis of an unknown image (default 2s)
  --webhook-cert-validity <duration>  serving certificate lifetime (default 720h); renewed with a third left
  --webhook-ca-validity <duration>    CA lifetime (default 8760h); renewed with a third left
  --webhook-cert-check-interval <d>   how often the Secret and certificates are checked (default 1m)
  --webhook-ca-trust-delay <d>        how long a new CA is in the bundle before it signs (default 30s)
  --validating-admission-policies=<true|false>  keep a ValidatingAdmissionPolicy per Warn/Enforce policy for
                                      the rules CEL expresses exactly (the leader writes them; a policy opts out
                                      with spec.admission.validatingAdmissionPolicy: false); the webhook then
                                      skips the rules the VAP in the cluster covers (default false)
`;

export type WebhookFlagValues = { [K in keyof typeof WEBHOOK_FLAGS]?: string | undefined };

/** --validating-admission-policies, checked. */
export function validatingAdmissionPoliciesOn(flags: WebhookFlagValues): boolean {
  const value = flags['validating-admission-policies'] ?? 'false';
  if (value !== 'true' && value !== 'false')
    throw new Error(`--validating-admission-policies must be true or false, not "${value}"`);
  return value === 'true';
}

/** `90s`, `5m`, `2h`, `30d`, or plain milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match)
    throw new Error(`--${flag} must be a duration such as 500ms, 30s, 5m, 2h or 30d, not "${text}"`);
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  return Number(match[1]) * units[match[2] ?? 'ms']!;
}

export interface WebhookDeps {
  kubeConfig: KubeConfig;
  store: Pick<ObjectStore, 'get' | 'list'>;
  images?: AdmissionImages;
  metrics: ShipshapeMetrics;
  log: Logger;
  operatorNamespace: string;
}

export interface RunningWebhook {
  port: number;
  stop(): Promise<void>;
}

/** The names the API server reaches the webhook by. */
export function servingNames(url: string | undefined, service: string, namespace: string): ServingNames {
  if (url !== undefined) {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return isIP(host) ? { dnsNames: [], ipAddresses: [host] } : { dnsNames: [host], ipAddresses: [] };
  }
  const svc = `${service}.${namespace}.svc`;
  return { dnsNames: [svc, `${svc}.cluster.local`], ipAddresses: [] };
}

/** Starts the webhook when --webhook-bind-address is set; resolves once it listens with a certificate. */
export async function startWebhook(
  flags: WebhookFlagValues,
  deps: WebhookDeps,
): Promise<RunningWebhook | undefined> {
  const bind = flags['webhook-bind-address'];
  if (bind === undefined) return undefined;
  const { kubeConfig, metrics, log, operatorNamespace } = deps;
  const failurePolicy = flags['webhook-failure-policy'] ?? 'Ignore';
  if (failurePolicy !== 'Ignore' && failurePolicy !== 'Fail')
    throw new Error(`--webhook-failure-policy must be Ignore or Fail, not "${failurePolicy}"`);
  const url = flags['webhook-url'];
  if (url !== undefined && !/^https:\/\//.test(url)) throw new Error('--webhook-url must be an https:// URL');
  const duration = (flag: keyof typeof WEBHOOK_FLAGS) =>
    parseDuration(flags[flag] ?? (WEBHOOK_FLAGS[flag] as { default?: string }).default ?? '', flag);

  const store = deps.store;
  const reviewer = new AdmissionReviewer({
    store,
    // The API server runs the VAP's checks itself; only what the VAP in the cluster covers for this revision is skipped.
    ...(validatingAdmissionPoliciesOn(flags)
      ? {
          skipRule: (policy: CompiledPolicy, ruleId: string) =>
            vapCoverage(policy, (kind, name) => store.get(kind, undefined, name), {
              now: systemClock.now(),
              settleMs: VAP_SETTLE_MS,
            }).has(ruleId),
        }
      : {}),
    ...(deps.images ? { images: deps.images } : {}),
    excludedNamespaces: new Set(excludedNamespacesOf(operatorNamespace)),
    imageBudgetMs: duration('webhook-image-budget'),
    vex: vexFromTrustMaterial(trustMaterialFromApi(kubeConfig.makeApiClient(CoreV1Api))),
  });
  const server = new AdmissionServer({
    review: (request) => reviewer.review(request),
    observer: {
      answered: (request, decision, seconds) => {
        const kind = kindLabel(request);
        metrics.admissionRequests.inc({ operation: request.operation, kind, result: decision.result });
        metrics.admissionDuration.observe({ kind }, seconds);
        // Checked first: winston formats a record before its transports drop it, on every request.
        if ((decision.result === 'denied' || decision.result === 'error') && log.isInfoEnabled())
          log.info('admission', {
            controller: 'webhook',
            namespace: request.namespace,
            name: request.name,
            kind: request.kind.kind,
            result: decision.result,
            violations: decision.findings.length,
            dryRun: request.dryRun === true,
          });
      },
      failed: (reason) => {
        metrics.admissionRequests.inc({ operation: 'unknown', kind: 'other', result: 'error' });
        log.warn('bad admission request', { controller: 'webhook', reason });
      },
    },
  });

  let stopCertificates: () => void;
  const certDir = flags['webhook-cert-dir'];
  if (certDir !== undefined) {
    stopCertificates = await watchCertificateDir(
      certDir,
      duration('webhook-cert-check-interval'),
      (pair) => server.setCertificate(pair),
      (error) =>
        log.warn('webhook certificate not reloaded', { controller: 'webhook', error: errorText(error) }),
    );
  } else {
    const names = servingNames(
      url,
      flags['webhook-service'] ?? 'shipshape-webhook-service',
      operatorNamespace,
    );
    const configurationName = flags['webhook-configuration'] ?? 'shipshape-validating-webhook-configuration';
    const keeper = new CertificateKeeper({
      secrets: kubernetesTlsSecretStore(
        kubeConfig,
        operatorNamespace,
        flags['webhook-secret'] ?? 'shipshape-webhook-server-cert',
      ),
      caBundleTarget:
        url !== undefined
          ? managedWebhookConfiguration(kubeConfig, (caBundle) =>
              validatingWebhookConfiguration({
                name: configurationName,
                endpoint: { url },
                caBundle,
                operatorNamespace,
                failurePolicy,
              }),
            )
          : injectIntoWebhookConfiguration(kubeConfig, configurationName),
      policy: {
        ...DEFAULT_CERTIFICATE_POLICY,
        names,
        caValidityMs: duration('webhook-ca-validity'),
        servingValidityMs: duration('webhook-cert-validity'),
        trustDelayMs: duration('webhook-ca-trust-delay'),
      },
      clock: systemClock,
      intervalMs: duration('webhook-cert-check-interval'),
      onCertificate: (pair) => server.setCertificate(pair),
      onChange: (changes) =>
        log.info('webhook certificates changed', { controller: 'webhook-certs', changes }),
      onError: (error) =>
        log.warn('webhook certificates not kept', { controller: 'webhook-certs', error: errorText(error) }),
    });
    await keeper.start();
    stopCertificates = () => keeper.stop();
  }
  const port = await server.listen(bind);
  log.info('serving admission', { controller: 'webhook', port, path: WEBHOOK_PATH });
  return {
    port,
    async stop() {
      stopCertificates();
      await server.close();
    },
  };
}

/** Reloads tls.crt / tls.key (a mounted Secret) whenever they change; resolves after the first read. */
async function watchCertificateDir(
  dir: string,
  intervalMs: number,
  onCertificate: (pair: KeyPairPem) => void,
  onError: (error: unknown) => void,
): Promise<() => void> {
  let current = '';
  const load = async () => {
    const [cert, key] = await Promise.all([
      readFile(join(dir, 'tls.crt'), 'utf8'),
      readFile(join(dir, 'tls.key'), 'utf8'),
    ]);
    if (cert + key === current) return;
    current = cert + key;
    onCertificate({ cert, key });
  };
  await load().catch((error: unknown) => {
    throw new Error(`no serving certificate in ${dir} (tls.crt, tls.key): ${errorText(error)}`, {
      cause: error,
    });
  });
  const timer = setInterval(() => void load().catch(onError), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
