// A real Prometheus for e2e tests (the `prometheus` binary of Debian's
// package, installed by hack/install-system-deps.sh): started on a free
// loopback port with a static scrape job for the operator under test and,
// optionally, rule files; read through its HTTP API (/api/v1/query,
// /api/v1/alerts, /api/v1/rules). Its process is recorded and stopped like
// the cluster's (test/cluster/processes.ts), so a crashed run is reaped.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../cluster/local-cluster.js';
import { startProcess, stopRecorded, type ManagedProcess } from '../cluster/processes.js';
import { eventually } from './wait.js';

export interface PrometheusOptions {
  /** host:port of every /metrics endpoint to scrape; loopback only. */
  readonly targets: readonly string[];
  /** The job label (default `shipshape`, as the ServiceMonitor's jobLabel gives it). */
  readonly job?: string;
  /** Scrape and rule evaluation interval in seconds (default 1). */
  readonly intervalSeconds?: number;
  /** Rule files to load, by file name and YAML content. */
  readonly ruleFiles?: Readonly<Record<string, string>>;
  /** The prometheus binary (default $PROMETHEUS, else `prometheus` on PATH). */
  readonly binary?: string;
}

/** One series of an instant vector. */
export interface Sample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface ActiveAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly state: 'pending' | 'firing' | 'inactive';
  readonly value: string;
}

export interface PrometheusServer {
  readonly url: string;
  readonly job: string;
  /** Evaluates a PromQL expression now; scalars come back as one series without labels. */
  query(expr: string): Promise<Sample[]>;
  alerts(): Promise<ActiveAlert[]>;
  /** Rule groups as loaded, with each rule's health (ok, err, unknown) and last error. */
  ruleHealth(): Promise<{ name: string; health: string; lastError?: string }[]>;
  /** Waits until `count` scrapes of every target of the job happened after `since` (ms epoch). */
  waitForScrapes(count: number, since: number, timeoutMs?: number): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

/** The prometheus.yml of the test server: one static job, honor_labels as the ServiceMonitor sets it. */
export function prometheusConfig(options: {
  job: string;
  targets: readonly string[];
  intervalSeconds: number;
  ruleFiles: readonly string[];
}): string {
  for (const target of options.targets) {
    if (!/^(127\.\d+\.\d+\.\d+|\[::1\]|localhost):\d+$/.test(target)) {
      throw new Error(`scrape target ${target} is not on loopback; the e2e Prometheus scrapes only loopback`);
    }
  }
  return JSON.stringify(
    {
      global: {
        scrape_interval: `${options.intervalSeconds}s`,
        scrape_timeout: `${options.intervalSeconds}s`,
        evaluation_interval: `${options.intervalSeconds}s`,
      },
      rule_files: options.ruleFiles,
      scrape_configs: [
        {
          job_name: options.job,
          // The operator's `namespace` label is the workload's, as in the cluster setup.
          honor_labels: true,
          metrics_path: '/metrics',
          static_configs: [{ targets: options.targets }],
        },
      ],
    },
    null,
    2,
  );
}

interface ApiResponse<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const job = options.job ?? 'shipshape';
  const intervalSeconds = options.intervalSeconds ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-prometheus-'));
  const ruleFiles = Object.entries(options.ruleFiles ?? {}).map(([name, content]) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  });
  writeFileSync(
    join(dir, 'prometheus.yml'),
    prometheusConfig({ job, targets: options.targets, intervalSeconds, ruleFiles }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const binary = options.binary ?? process.env.PROMETHEUS ?? 'prometheus';
  const child: ManagedProcess = startProcess(
    'prometheus',
    binary,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    dir,
  );
  const log = () => {
    try {
      return readFileSync(child.logFile, 'utf8');
    } catch {
      return '';
    }
  };
  let exitCode: number | string | undefined;
  void child.exited.then((code) => (exitCode = code));

  async function api<T>(path: string): Promise<T> {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as ApiResponse<T>;
    if (body.status !== 'success' || body.data === undefined) {
      throw new Error(`Prometheus ${path}: ${body.errorType ?? response.status}: ${body.error ?? 'no data'}`);
    }
    return body.data;
  }

  const server: PrometheusServer = {
    url,
    job,
    async query(expr) {
      const data = await api<{
        resultType: string;
        result: { metric: Record<string, string>; value: [number, string] }[] | [number, string];
      }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      if (data.resultType === 'scalar') {
        const [, value] = data.result as [number, string];
        return [{ metric: {}, value: Number(value) }];
      }
      if (data.resultType !== 'vector')
        throw new Error(`${expr}: a ${data.resultType}, not an instant vector`);
      return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({
        metric: r.metric,
        value: Number(r.value[1]),
      }));
    },
    async alerts() {
      return (await api<{ alerts: ActiveAlert[] }>('/api/v1/alerts')).alerts;
    },
    async ruleHealth() {
      const data = await api<{
        groups: { rules: { name: string; health: string; lastError?: string }[] }[];
      }>('/api/v1/rules');
      return data.groups.flatMap((g) =>
        g.rules.map((r) => ({ name: r.name, health: r.health, lastError: r.lastError })),
      );
    },
    async waitForScrapes(count, since, timeoutMs = 30_000) {
      await eventually(
        `${count} scrapes of job ${job} after ${new Date(since).toISOString()}`,
        async () => {
          const window = Math.max(1, Math.ceil((Date.now() - since) / 1000));
          const scrapes = await server.query(`count_over_time(up{job="${job}"}[${window}s])`);
          return scrapes.length === options.targets.length && scrapes.every((s) => s.value >= count);
        },
        { timeoutMs, intervalMs: 250 },
      );
    },
    log,
    async stop() {
      await stopRecorded(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };

  const ready = await eventually(
    'Prometheus to be ready',
    async () => {
      if (exitCode !== undefined) return 'exited';
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200 && 'ready';
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  ).catch(async (err: unknown) => {
    await server.stop();
    throw err;
  });
  if (ready === 'exited') {
    const output = log().slice(-2000);
    await server.stop();
    if (exitCode === 'spawn-error') {
      throw new Error(
        `${binary} could not be started: run hack/install-system-deps.sh (Debian package prometheus)`,
      );
    }
    throw new Error(`prometheus exited (${String(exitCode)}) before it was ready: ${output}`);
  }
  return server;
}
