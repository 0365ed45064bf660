// Runs `shipshape operator` as a user would (a separate process from the
// built CLI) and reads its metrics, for e2e tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../cluster/local-cluster.js';
import { eventually } from './wait.js';

const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

export interface OperatorProcess {
  child: ChildProcess;
  metricsPort: number;
  probePort: number;
  output(): string;
  exited: Promise<number | null>;
  metrics(): Promise<string>;
  /** Value of one series, e.g. metric('shipshape_leader') or metric('shipshape_violations', { namespace: 'x' }). */
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  waitReady(timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startOperatorProcess(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<OperatorProcess> {
  const metricsPort = await freePort();
  const probePort = await freePort();
  const child = spawn(
    process.execPath,
    [
      cli,
      'operator',
      `--metrics-bind-address=127.0.0.1:${metricsPort}`,
      `--health-probe-bind-address=127.0.0.1:${probePort}`,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const metrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const proc: OperatorProcess = {
    child,
    metricsPort,
    probePort,
    output: () => output,
    exited,
    metrics,
    async metric(name, labels = {}) {
      return metricValue(await metrics(), name, labels);
    },
    async waitReady(timeoutMs = 30_000) {
      await eventually(
        'the operator to be ready',
        async () => (await fetch(`http://127.0.0.1:${probePort}/readyz`)).status === 200,
        { timeoutMs },
      );
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
  return proc;
}

/** Sum of the samples of `name` whose labels include `labels`. */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries(
      [...(match[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    if (Object.entries(labels).every(([k, v]) => present[k] === v)) total = (total ?? 0) + Number(match[4]);
  }
  return total;
}
