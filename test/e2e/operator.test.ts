// `shipshape operator` as a user runs it: it connects, serves metrics and
// probes, becomes ready, and stops promptly on SIGTERM; pointed nowhere, it
// fails fast with one line that names the server.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeConfig, kubeconfigPath } from './harness.js';
import { installCrds } from '../support/crds.js';
import { freePort } from '../cluster/local-cluster.js';
import { eventually } from '../support/wait.js';

const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

function runOperator(args: string[]): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [cli, 'operator', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe('shipshape operator', () => {
  // Ready means every informer listed once, and the operator watches its own CRDs.
  before(async () => installCrds(kubeConfig()));

  it('serves /metrics, turns ready after connecting, and exits within 5 s of SIGTERM', async () => {
    const metricsPort = await freePort();
    const probePort = await freePort();
    const operator = runOperator([
      `--kubeconfig=${kubeconfigPath()}`,
      `--metrics-bind-address=127.0.0.1:${metricsPort}`,
      `--health-probe-bind-address=127.0.0.1:${probePort}`,
    ]);
    try {
      await eventually('the operator to be ready', async () => {
        const response = await fetch(`http://127.0.0.1:${probePort}/readyz`);
        return response.status === 200;
      });
      const healthz = await fetch(`http://127.0.0.1:${probePort}/healthz`);
      assert.equal(healthz.status, 200);
      const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
      const text = await metrics.text();
      assert.match(text, /^# TYPE shipshape_process_cpu_user_seconds_total counter$/m);
      assert.match(text, /^shipshape_process_resident_memory_bytes \d+/m);

      const sent = Date.now();
      operator.child.kill('SIGTERM');
      const code = await operator.exited;
      const tookMs = Date.now() - sent;
      assert.equal(code, 0, operator.output());
      assert.ok(tookMs < 5000, `stopped in ${tookMs} ms`);
    } finally {
      operator.child.kill('SIGKILL');
    }
  });

  it('reports not ready before it has connected', async () => {
    // The API server below never answers: readiness must stay false meanwhile.
    const { createServer } = await import('node:net');
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-e2e-'));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, nowhereKubeconfig(`https://127.0.0.1:${port}`));
    const probePort = await freePort();
    const operator = runOperator([
      `--kubeconfig=${kubeconfig}`,
      '--metrics-bind-address=127.0.0.1:0',
      `--health-probe-bind-address=127.0.0.1:${probePort}`,
      '--connect-timeout=3',
    ]);
    try {
      const readyz = await eventually('the probe endpoint', async () =>
        fetch(`http://127.0.0.1:${probePort}/readyz`),
      );
      assert.equal(readyz.status, 503);
      assert.match(await readyz.text(), /apiserver/);
      assert.notEqual(await operator.exited, 0);
    } finally {
      operator.child.kill('SIGKILL');
      silent.close();
    }
  });

  it('exits non-zero with a one-line error naming the server when the kubeconfig points nowhere', async () => {
    const port = await freePort(); // free, so nothing listens there
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-e2e-'));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, nowhereKubeconfig(`https://127.0.0.1:${port}`));
    const operator = runOperator([
      `--kubeconfig=${kubeconfig}`,
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
    ]);
    const code = await operator.exited;
    assert.notEqual(code, 0);
    const errorLines = operator
      .output()
      .split('\n')
      .filter((line) => line.startsWith('shipshape operator:'));
    assert.equal(errorLines.length, 1, operator.output());
    assert.match(
      errorLines[0] ?? '',
      new RegExp(`cannot reach Kubernetes API server https://127\\.0\\.0\\.1:${port}`),
    );
  });
});

function nowhereKubeconfig(server: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'nowhere', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'nowhere', user: { token: 'not-a-secret' } }],
    contexts: [{ name: 'nowhere', context: { cluster: 'nowhere', user: 'nowhere' } }],
    'current-context': 'nowhere',
  });
}
