// `shipshape operator`: connect to the cluster, serve /metrics, /healthz and
// /readyz, run the controllers, and stop cleanly on SIGTERM.
import { parseArgs } from 'node:util';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createLogger } from '../log.js';
import { ApiServerUnreachable, apiServerUrl, checkConnection, loadKubeConfig } from '../kube/connect.js';
import { HttpEndpoints, Readiness } from '../operator/http-endpoints.js';
import type { CliIO } from './io.js';

export const operatorUsage = `Usage: shipshape operator [options]

Run the Shipshape operator against the cluster of the current kubeconfig
(--kubeconfig, $KUBECONFIG, ~/.kube/config, or the in-cluster service account).

Options:
  --kubeconfig <path>                 kubeconfig file to use
  --metrics-bind-address <host:port>  where /metrics is served (default :8080)
  --health-probe-bind-address <addr>  where /healthz and /readyz are served (default :8081)
  --connect-timeout <seconds>         how long to wait for the API server at start (default 10)
  --log-level <level>                 error, warn, info or debug (default info)
  -h, --help                          show this help
`;

/** How long shutdown may take before the process exits regardless. */
const SHUTDOWN_BUDGET_MS = 4_000;

export async function runOperator(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      kubeconfig: { type: 'string' },
      'metrics-bind-address': { type: 'string', default: ':8080' },
      'health-probe-bind-address': { type: 'string', default: ':8081' },
      'connect-timeout': { type: 'string', default: '10' },
      'log-level': { type: 'string', default: process.env.SHIPSHAPE_LOG_LEVEL ?? 'info' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    io.stdout.write(operatorUsage);
    return 0;
  }
  const log = createLogger(values['log-level']);

  const kc = loadKubeConfig(values.kubeconfig);
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics, prefix: 'shipshape_' });
  const readiness = new Readiness();
  readiness.require('apiserver');

  const metricsEndpoint = new HttpEndpoints({ metrics });
  const probeEndpoint = new HttpEndpoints({ readiness });
  const metricsPort = await metricsEndpoint.listen(values['metrics-bind-address']);
  const probePort = await probeEndpoint.listen(values['health-probe-bind-address']);
  log.info('serving', { metricsPort, probePort });

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
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

  const signal = await signalled;
  log.info('shutting down', { signal });
  const deadline = setTimeout(() => {
    log.error('shutdown took too long; exiting', { budgetMs: SHUTDOWN_BUDGET_MS });
    process.exit(1);
  }, SHUTDOWN_BUDGET_MS);
  deadline.unref();
  await stop();
  log.info('stopped');
  return 0;
}
