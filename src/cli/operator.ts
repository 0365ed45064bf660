// `shipshape operator`: connect to the cluster, serve /metrics, /healthz and
// /readyz, build the image service and the manager that runs the controllers,
// and stop cleanly on SIGTERM. A start that fails ends the process non-zero.
import { parseArgs } from 'node:util';
import { hostname } from 'node:os';
import { CoreV1Api } from '@kubernetes/client-node';
import { Manager } from '../controllers/manager.js';
import { createMetrics, recordSignatureVerification } from '../metrics/registry.js';
import { createImageService } from '../image/setup.js';
import { createLogger } from '../runtime/log.js';
import { ApiServerUnreachable, apiServerUrl, checkConnection, loadKubeConfig } from '../runtime/connect.js';
import { HttpEndpoints, Readiness } from '../runtime/http-endpoints.js';
import { accessReviewApi, MetricsAuthorizer } from '../runtime/metrics-auth.js';
import { readServingCertificate, selfSignedCertificate } from '../runtime/serving-cert.js';
import { excludedNamespacesOf } from '../webhook/configuration.js';
import {
  startWebhook,
  validatingAdmissionPoliciesOn,
  WEBHOOK_FLAGS,
  WEBHOOK_USAGE,
  type RunningWebhook,
} from '../webhook/setup.js';
import { pullCredentialsFromApi } from '../image/credentials.js';
import {
  operatorPodEvents,
  VULNERABILITY_DB_FLAGS,
  VULNERABILITY_DB_USAGE,
  vulnerabilityDatabaseFromFlags,
} from './vulnerability-db.js';
import type { CliIO } from './io.js';

export const operatorUsage = `Usage: shipshape operator [options]

Run the Shipshape operator against the cluster of the current kubeconfig
(--kubeconfig, $KUBECONFIG, ~/.kube/config, or the in-cluster service account).

Options:
  --kubeconfig <path>                 kubeconfig file to use
  --metrics-bind-address <host:port>  where /metrics is served (default :8080)
  --metrics-secure=<true|false>       serve /metrics over HTTPS to callers whose bearer token passes a TokenReview
                                      and a SubjectAccessReview for get /metrics (default false: plain HTTP, for
                                      local runs; config/manager turns it on)
  --metrics-cert-dir <dir>            tls.crt and tls.key for --metrics-secure (default: a self-signed certificate)
  --health-probe-bind-address <addr>  where /healthz and /readyz are served (default :8081)
  --connect-timeout <seconds>         how long to wait for the API server at start (default 10)
  --namespace <ns>                    the operator's own namespace (default $POD_NAMESPACE or shipshape-system);
                                      never reported on unless --report-own-namespace
  --exclude-namespaces <a,b,...>      namespaces never reported on (default kube-system,kube-public,kube-node-lease)
  --report-own-namespace              report on the operator's own namespace too
  --leader-elect=<true|false>         elect a leader through a Lease so only one replica writes (default true)
  --leader-election-namespace <ns>    where the Lease lives (default: --namespace)
  --workers <n>                       concurrent reconciles per controller (default 16; they mostly
                                      wait on the API server)
  --image-analysis=<true|false>       read running images from their registries (default true)
  --registry-config <path>            registries: allowed hosts/CIDRs, plain HTTP, CA bundles, mirrors, limits
  --allow-registry <host[:port]>      also allow this registry, even on a private or loopback address (repeatable)
  --plain-http <host[:port]>          talk plain HTTP to this registry (repeatable)
  --image-cache-dir <dir>             keep image inventories on disk (default $SHIPSHAPE_CACHE_DIR, else memory only)
  --operator-pull-secret <ns/name>    a pull secret tried after the pod's and its service account's
  --signature-ttl <seconds>           how long a signature verdict stands before it is verified again (default 600)
  --signature-retry <seconds>         when a signature verdict of Error is first tried again; doubled for
                                      each Error after it, up to --signature-ttl (default 30)
  --analysis-workers <n>              image analysis worker processes (default: one per core, as many as
                                      the memory beside the operator's heap and overhead holds)
  --analysis-memory-mib <n>           heap of each analysis worker; an image needing more fails
                                      AnalysisMemoryLimit (default 256)
  --analysis-timeout <seconds>        wall-clock budget of one image's analysis (half of it per layer);
                                      an image over it fails AnalysisTimeout (default 120)
  --analysis-max-image-mib <n>        most uncompressed layer bytes read per image; an image over it fails
                                      AnalysisTooLarge (default 32768)
  --image-report-grace <seconds>      delete the ImageReport of a digest no workload has run for this long
                                      (default 3600)
  --log-level <level>                 error, warn, info or debug (default info)
${VULNERABILITY_DB_USAGE}${WEBHOOK_USAGE}  -h, --help                          show this help
`;

/** How long shutdown may take before the process exits regardless. */
const SHUTDOWN_BUDGET_MS = 4_000;

export async function runOperator(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      kubeconfig: { type: 'string' },
      'metrics-bind-address': { type: 'string', default: ':8080' },
      'metrics-secure': { type: 'string', default: 'false' },
      'metrics-cert-dir': { type: 'string' },
      'health-probe-bind-address': { type: 'string', default: ':8081' },
      'connect-timeout': { type: 'string', default: '10' },
      'log-level': { type: 'string', default: process.env.SHIPSHAPE_LOG_LEVEL ?? 'info' },
      namespace: { type: 'string', default: process.env.POD_NAMESPACE ?? 'shipshape-system' },
      'exclude-namespaces': { type: 'string', default: 'kube-system,kube-public,kube-node-lease' },
      'report-own-namespace': { type: 'boolean', default: false },
      'leader-elect': { type: 'string', default: 'true' },
      'leader-election-namespace': { type: 'string' },
      workers: { type: 'string', default: '16' },
      'image-analysis': { type: 'string', default: 'true' },
      'registry-config': { type: 'string' },
      'allow-registry': { type: 'string', multiple: true, default: [] },
      'plain-http': { type: 'string', multiple: true, default: [] },
      'image-cache-dir': { type: 'string', default: process.env.SHIPSHAPE_CACHE_DIR },
      'operator-pull-secret': { type: 'string' },
      ...WEBHOOK_FLAGS,
      ...VULNERABILITY_DB_FLAGS,
      'signature-ttl': { type: 'string', default: '600' },
      'signature-retry': { type: 'string', default: '30' },
      'analysis-workers': { type: 'string' },
      'analysis-memory-mib': { type: 'string' },
      'analysis-timeout': { type: 'string' },
      'analysis-max-image-mib': { type: 'string' },
      'image-report-grace': { type: 'string', default: '3600' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    io.stdout.write(operatorUsage);
    return 0;
  }
  const log = createLogger(values['log-level']);

  if (!['true', 'false'].includes(values['metrics-secure']))
    throw new Error('--metrics-secure must be true or false');
  const secureMetrics = values['metrics-secure'] === 'true';
  if (values['metrics-cert-dir'] !== undefined && !secureMetrics)
    throw new Error('--metrics-cert-dir needs --metrics-secure=true');

  const kc = loadKubeConfig(values.kubeconfig);
  const metrics = createMetrics();
  const readiness = new Readiness();
  readiness.require('apiserver');
  readiness.require('caches');

  const metricsEndpoint = new HttpEndpoints({
    metrics: metrics.registry,
    ...(secureMetrics
      ? {
          tls:
            values['metrics-cert-dir'] === undefined
              ? selfSignedCertificate({ hosts: ['localhost', hostname(), '127.0.0.1', '::1'] })
              : await readServingCertificate(values['metrics-cert-dir']),
          metricsAccess: new MetricsAuthorizer(accessReviewApi(kc)),
        }
      : {}),
  });
  const probeEndpoint = new HttpEndpoints({ readiness });
  const metricsPort = await metricsEndpoint.listen(values['metrics-bind-address']);
  const probePort = await probeEndpoint.listen(values['health-probe-bind-address']);
  log.info('serving', { metricsPort, probePort, metricsScheme: secureMetrics ? 'https' : 'http' });

  const ownNamespace = values.namespace;
  const excluded = new Set(
    values['exclude-namespaces']
      .split(',')
      .map((ns) => ns.trim())
      .filter(Boolean),
  );
  if (!values['report-own-namespace']) excluded.add(ownNamespace);
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error(`--workers must be a positive integer, not "${values.workers}"`);
  if (!['true', 'false'].includes(values['leader-elect']))
    throw new Error('--leader-elect must be true or false');
  if (!['true', 'false'].includes(values['image-analysis']))
    throw new Error('--image-analysis must be true or false');
  const seconds = (flag: 'signature-ttl' | 'signature-retry' | 'image-report-grace'): number => {
    const value = Number(values[flag]);
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`--${flag} must be a positive number of seconds, not "${values[flag]}"`);
    return value * 1000;
  };
  const signatureTtlMs = seconds('signature-ttl');
  const signatureRetryMs = seconds('signature-retry');
  const imageReportGraceMs = seconds('image-report-grace');
  const analysisWorkers = optionalNumber(values['analysis-workers'], '--analysis-workers', 1, true);
  const analysisHeapMiB = optionalNumber(values['analysis-memory-mib'], '--analysis-memory-mib', 16, true);
  const analysisTimeout = optionalNumber(values['analysis-timeout'], '--analysis-timeout', 0.001, false);
  const maxImageMiB = optionalNumber(values['analysis-max-image-mib'], '--analysis-max-image-mib', 1, true);
  // The vulnerability database (vuln/refresher): its first load runs in the background; the image service
  // matches through `vulnerabilityDb` (a VulnerabilityDatabaseProvider), undefined when no source is set.
  const operatorSecret = values['operator-pull-secret']?.split('/');
  const vulnerabilityDb = await vulnerabilityDatabaseFromFlags(values, {
    registry: {
      registryConfig: values['registry-config'],
      allow: values['allow-registry'],
      plainHttp: values['plain-http'],
    },
    credentials: async () => {
      const secret =
        operatorSecret?.length === 2
          ? { namespace: operatorSecret[0]!, name: operatorSecret[1]! }
          : undefined;
      return (await pullCredentialsFromApi(kc.makeApiClient(CoreV1Api), secret)(ownNamespace, {})).source;
    },
    metrics,
    log,
    ...operatorPodEvents(kc, metrics, log),
  });
  const images =
    values['image-analysis'] === 'true'
      ? await createImageService(kc.makeApiClient(CoreV1Api), {
          registryConfig: values['registry-config'],
          allow: values['allow-registry'],
          plainHttp: values['plain-http'],
          cacheDir: values['image-cache-dir'],
          operatorPullSecret: values['operator-pull-secret'],
          signatureTtlMs,
          signatureRetryMs,
          ...(vulnerabilityDb === undefined ? {} : { vulnerabilities: vulnerabilityDb }),
          onSignatureVerification: (verdict) =>
            recordSignatureVerification(metrics, verdict.toLowerCase() as Lowercase<typeof verdict>),
          ...(analysisWorkers === undefined ? {} : { analysisWorkers }),
          ...(analysisHeapMiB === undefined ? {} : { analysisHeapMiB }),
          ...(analysisTimeout === undefined ? {} : { analysisTimeoutMs: Math.round(analysisTimeout * 1000) }),
          ...(maxImageMiB === undefined ? {} : { limits: { maxImageBytes: maxImageMiB * 1024 * 1024 } }),
          logger: {
            debug: (message, fields) => log.debug(message, { controller: 'image', ...fields }),
            info: (message, fields) => log.info(message, { controller: 'image', ...fields }),
            warn: (message, fields) => log.warn(message, { controller: 'image', ...fields }),
          },
        })
      : undefined;
  const identity = process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const operator = new Manager({
    kubeConfig: kc,
    metrics,
    log,
    identity,
    leaderElection: {
      enabled: values['leader-elect'] === 'true',
      namespace: values['leader-election-namespace'] ?? ownNamespace,
      name: 'shipshape-operator',
    },
    excludedNamespaces: excluded,
    workers,
    ...(validatingAdmissionPoliciesOn(values)
      ? { validatingAdmissionPolicies: { excludedNamespaces: excludedNamespacesOf(ownNamespace) } }
      : {}),
    ...(images === undefined ? {} : { images }),
    // Sweeps a tenth of the grace apart, at most every 5 minutes.
    imageReportGc: { graceMs: imageReportGraceMs, intervalMs: Math.min(imageReportGraceMs / 10, 300_000) },
    ...(vulnerabilityDb === undefined ? {} : { vulnerabilityDatabase: vulnerabilityDb }),
  });
  // SIGHUP refreshes now (a volume updated in place need not wait for the schedule); the refresher's
  // observer logs and counts it like a scheduled one.
  const onHangup = (): void => void vulnerabilityDb?.refresh();
  if (vulnerabilityDb !== undefined) process.on('SIGHUP', onHangup);

  let webhook: RunningWebhook | undefined;
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.off('SIGHUP', onHangup);
    await webhook?.stop();
    await operator.stop();
    await images?.shutdown();
    await vulnerabilityDb?.close();
    await Promise.all([metricsEndpoint.close(), probeEndpoint.close()]);
  };

  const signalled = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });

  try {
    const version = await checkConnection(kc, Number(values['connect-timeout']) * 1000);
    readiness.set('apiserver', true);
    log.info('connected to Kubernetes API server', { server: apiServerUrl(kc), version });
  } catch (error) {
    await stop();
    if (error instanceof ApiServerUnreachable) {
      io.stderr.write(`shipshape operator: ${error.message}\n`);
      return 1;
    }
    throw error;
  }

  // The webhook starts once the caches hold the policies, on every replica (leadership gates only writes).
  const startFailed = operator
    .start()
    .then(async () => {
      webhook = await startWebhook(values, {
        kubeConfig: kc,
        store: operator.cache,
        ...(images === undefined ? {} : { images }),
        metrics,
        log,
        operatorNamespace: ownNamespace,
      });
      readiness.set('caches', true);
      return new Promise<never>(() => undefined);
    })
    .catch((error: unknown) => error);

  const ended = await Promise.race([
    signalled.then((signal) => ({ signal })),
    startFailed.then((error) => ({ error })),
  ]);
  if ('error' in ended) {
    log.error('operator failed to start', { error: String(ended.error) });
    io.stderr.write(`shipshape operator: failed to start: ${String(ended.error)}\n`);
    await stop();
    return 1;
  }
  log.info('shutting down', { signal: ended.signal });
  const deadline = setTimeout(() => {
    log.error('shutdown took too long; exiting', { budgetMs: SHUTDOWN_BUDGET_MS });
    process.exit(1);
  }, SHUTDOWN_BUDGET_MS);
  deadline.unref();
  await stop();
  log.info('stopped');
  return 0;
}

/** A numeric flag's value, at least `min` (an integer when `integer`), or undefined when absent. */
function optionalNumber(
  text: string | undefined,
  flag: string,
  min: number,
  integer: boolean,
): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value)))
    throw new Error(
      `${flag} must be ${integer ? 'an integer' : 'a number'} of at least ${min}, not "${text}"`,
    );
  return value;
}
