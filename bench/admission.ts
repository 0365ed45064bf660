// Benchmark: admission latency at 200 concurrent requests, in one run on the
// local control plane:
//   A. the API server alone (dry-run creates of a compliant Deployment, no webhook registered),
//   B. the same requests with the Shipshape webhook registered (Enforce policy),
//   C. the webhook alone (AdmissionReviews POSTed straight to it over TLS),
// each with p50 / p99 / max, and the reviews per second one replica sustains
// (C). B minus A is what the webhook adds to a real request. Images are
// "cached" in the sense that matters here: no request waits for analysis (the
// operator runs with --image-analysis=false, so rules that need image facts
// have none and the policy's onImageUnknown is Allow).
//   D. cache misses with a signature check: a second operator run with image
//      analysis verifies first-seen images, each signed by the real cosign and
//      pushed to the local registry, under an Enforce policy that requires the
//      signature (onImageUnknown Deny, so an answer in time is a verified one),
//      one at a time and 20 at once.
// How the load is generated: A, B and D by this process (Node, through the API
// server). C by h2load (test/support/h2load.ts), a native HTTP/2 client, as the
// API server talks to webhooks: two h2load processes at once, each one TLS
// connection with 100 concurrent streams, one POSTing a compliant Deployment's
// review and the other a violating one (so half are admitted, half denied).
// A Node client on the same two cores spent as much CPU as the webhook itself,
// and its event loop and GC pauses showed up as the webhook's p99. Before the
// load, one review of each kind is checked over HTTP/2 from here (uid echoed,
// allowed or not).
// The operator runs with the shipped manifest's environment (config/manager:
// heap and young-generation sizes in NODE_OPTIONS), as deployed.
// During B it counts the TCP connections the API server holds to the webhook
// (from /proc/net/tcp): HTTP/2 multiplexes reviews over one or two. Not a timed test.
// The machine's load average is printed with the results: on a shared machine
// the figures mean little without it.
// Usage: node dist/bench/admission.js [--requests 2000] [--concurrency 200] [--seconds 10]
//        [--profile <dir>]   (the operator runs with --cpu-prof into <dir>; open the .cpuprofile in DevTools)
import { connect as http2Connect } from 'node:http2';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi, type V1Deployment } from '@kubernetes/client-node';
import { loadKubeConfig } from '../src/runtime/connect.js';
import { freePort, startLocalCluster, toolPath } from '../test/cluster/local-cluster.js';
import { pushImage } from '../test/support/oci-push.js';
import { tar } from '../test/support/tar.js';
import { ApiClient } from '../test/support/api-request.js';
import { installCrds } from '../test/support/crds.js';
import { compliantContainer } from '../test/support/workloads.js';
import { createReadyNamespace } from '../test/support/namespaces.js';
import { startOperatorProcess } from '../test/support/operator-process.js';
import { createSecurityPolicy } from '../test/support/policies.js';
import { eventually } from '../test/support/wait.js';
import { runH2load, type H2loadResult } from '../test/support/h2load.js';
import { shippedOperatorEnv } from '../test/support/shipped-operator-env.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    profile: { type: 'string' },
  },
});
const loads: string[] = [];
const noteLoad = (when: string) =>
  loads.push(
    `${when}: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
const total = Number(values.requests);
const concurrency = Number(values.concurrency);
const sustainSeconds = Number(values.seconds);
const ns = 'bench-admission';

function deployment(name: string, compliant: boolean): V1Deployment {
  const labels = { app: 'bench' };
  const container = compliant
    ? compliantContainer('registry.example/app:1.4.2')
    : { name: 'app', image: 'registry.example/app:latest' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: {
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [container] } },
    },
  };
}

interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
  perSecond: number;
  failures: number;
}

function stats(latencies: number[], failures: number, wallMs: number): Stats {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return {
    n: sorted.length,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted.at(-1) ?? NaN,
    perSecond: (sorted.length / wallMs) * 1000,
    failures,
  };
}

/** Runs `one` `count` times (or until `untilMs`) with `concurrency` in flight; latencies in ms. */
async function load(one: (i: number) => Promise<boolean>, count: number, untilMs?: number): Promise<Stats> {
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (untilMs === undefined ? i >= count : performance.now() - started > untilMs) return;
      const t = performance.now();
      const ok = await one(i).catch(() => false);
      latencies.push(performance.now() - t);
      if (!ok) failures++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return stats(latencies, failures, performance.now() - started);
}

/** Established TCP connections whose local port is `port` (Linux /proc; undefined elsewhere). */
function connectionsTo(port: number): Set<string> | undefined {
  const found = new Set<string>();
  try {
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6'])
      for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
        const [, local, remote, state] = line.trim().split(/\s+/);
        if (state === '01' && local && parseInt(local.split(':')[1] ?? '', 16) === port)
          found.add(remote ?? '');
      }
  } catch {
    return undefined;
  }
  return found;
}

/** Samples connectionsTo(port) while `work` runs: the most open at once, and how many distinct ones. */
async function watchConnections<T>(port: number, work: Promise<T>) {
  let most = 0;
  const seen = new Set<string>();
  let running = true;
  const sampler = (async () => {
    while (running) {
      const now = connectionsTo(port);
      if (now) {
        most = Math.max(most, now.size);
        for (const c of now) seen.add(c);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const result = await work;
  running = false;
  await sampler;
  return { result, most, distinct: seen.size };
}

const row = (name: string, s: Stats) =>
  `${name.padEnd(44)} ${String(s.n).padStart(6)} ${s.p50.toFixed(1).padStart(8)} ${s.p99.toFixed(1).padStart(8)} ${s.max.toFixed(1).padStart(8)} ${s.perSecond.toFixed(0).padStart(7)} ${String(s.failures).padStart(5)}`;

const cluster = await startLocalCluster({ nodes: 1, log: (line) => console.error(`bench: ${line}`) });
// One connection pool for the setup's API calls (client-node opens one per request otherwise).
const kc = loadKubeConfig(cluster.kubeconfigPath);
const core = kc.makeApiClient(CoreV1Api);
await installCrds(kc);
for (const name of ['shipshape-system', ns]) await createReadyNamespace(core, name);
await createSecurityPolicy(kc.makeApiClient(CustomObjectsApi), ns, 'strict', { enforcement: 'Enforce' });
const api = new ApiClient(kc);
const collection = `/apis/apps/v1/namespaces/${ns}/deployments`;
const apiCreate = (compliant: boolean) => async (i: number) =>
  (await api.create(collection, deployment(`d${i}`, compliant), { dryRun: true })).status ===
  (compliant ? 201 : 403);

const results: [string, Stats][] = [];
const notes: string[] = [];
noteLoad('start');
// Warm the API server's connections and caches before measuring anything.
await load(apiCreate(true), 400);
results.push(['A. API server, no webhook (dry-run create)', await load(apiCreate(true), total)]);

// As deployed: the manifest's NODE_OPTIONS (heap, young generation) and malloc arenas; not its
// container paths (SHIPSHAPE_CACHE_DIR), which are no place to write on this machine.
const manifestEnv = shippedOperatorEnv();
const shipped = Object.fromEntries(
  (['NODE_OPTIONS', 'MALLOC_ARENA_MAX'] as const).flatMap((name) =>
    manifestEnv[name] === undefined ? [] : [[name, manifestEnv[name]]],
  ),
);
const profiled = (env: Record<string, string>) =>
  values.profile === undefined
    ? env
    : {
        ...env,
        NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${values.profile}`.trim(),
      };
notes.push(`operator environment: ${JSON.stringify(shipped)}`);
const port = await freePort();
const operator = await startOperatorProcess(
  [
    `--kubeconfig=${cluster.kubeconfigPath}`,
    '--namespace=shipshape-system',
    '--log-level=warn',
    '--image-analysis=false',
    '--leader-elect=false',
    `--webhook-bind-address=127.0.0.1:${port}`,
    `--webhook-url=https://127.0.0.1:${port}/validate`,
  ],
  profiled(shipped),
);
try {
  await operator.waitReady(60_000);
  await eventually('the webhook in the request path', async () => (await apiCreate(false)(0)) === true, {
    timeoutMs: 30_000,
  });
  await load(apiCreate(true), 400);
  const admitted = await watchConnections(port, load(apiCreate(true), total));
  notes.push(
    `API server → webhook connections during B (admitted): at most ${admitted.most} open at once, ${admitted.distinct} distinct`,
  );
  results.push(['B. API server + webhook, compliant (admitted)', admitted.result]);
  results.push(['B. API server + webhook, violating (denied)', await load(apiCreate(false), total)]);

  const secret = await core.readNamespacedSecret({
    namespace: 'shipshape-system',
    name: 'shipshape-webhook-server-cert',
  });
  const ca = Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString();
  const review = (uid: string, compliant: boolean) =>
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
        resource: { group: 'apps', version: 'v1', resource: 'deployments' },
        operation: 'CREATE',
        namespace: ns,
        name: uid,
        object: deployment(uid, compliant),
      },
    });
  const bodies = mkdtempSync(join(tmpdir(), 'shipshape-bench-reviews-'));
  try {
    const compliantBody = join(bodies, 'compliant.json');
    const violatingBody = join(bodies, 'violating.json');
    writeFileSync(compliantBody, review('bench-compliant', true));
    writeFileSync(violatingBody, review('bench-violating', false));
    // h2load looks at status codes only: check the answers themselves once (verifying the serving certificate).
    const session = http2Connect(`https://127.0.0.1:${port}`, { ca });
    try {
      for (const [file, uid, allowed] of [
        [compliantBody, 'bench-compliant', true],
        [violatingBody, 'bench-violating', false],
      ] as const) {
        const text = await new Promise<string>((resolve, reject) => {
          const stream = session.request({
            ':method': 'POST',
            ':path': '/validate',
            'content-type': 'application/json',
          });
          let body = '';
          stream.on('data', (c: Buffer) => (body += c.toString()));
          stream.on('end', () => resolve(body));
          stream.on('error', reject);
          stream.end(readFileSync(file));
        });
        const answer = (JSON.parse(text) as { response?: { uid?: string; allowed?: boolean } }).response;
        if (answer?.uid !== uid || answer.allowed !== allowed)
          throw new Error(`the webhook answered ${uid} with ${text.slice(0, 300)}`);
      }
    } finally {
      session.close();
    }
    const perHalf = Math.max(1, Math.floor(concurrency / 2));
    const direct = async (size: { requests: number } | { seconds: number }): Promise<Stats> => {
      const halves: H2loadResult[] = await Promise.all(
        [compliantBody, violatingBody].map((bodyFile) =>
          runH2load({
            url: `https://127.0.0.1:${port}/validate`,
            bodyFile,
            connections: 1,
            streams: perHalf,
            headers: { 'content-type': 'application/json' },
            ...('requests' in size ? { requests: Math.ceil(size.requests / 2) } : size),
          }),
        ),
      );
      const latencies = halves.flatMap((h) => h.latenciesMs);
      const failures = halves.reduce((sum, h) => sum + h.failures, 0);
      return stats(latencies, failures, Math.max(...halves.map((h) => h.spanMs)));
    };
    await direct({ requests: 20 * concurrency });
    results.push(['C. webhook alone (half compliant, half denied)', await direct({ requests: total })]);
    results.push([
      `C. webhook alone, sustained ${sustainSeconds}s`,
      await direct({ seconds: sustainSeconds }),
    ]);
  } finally {
    rmSync(bodies, { recursive: true, force: true });
  }
  noteLoad('after C');
} finally {
  await operator.stop();
}

// D. Cache misses with a signature check.
const work = mkdtempSync(join(tmpdir(), 'shipshape-bench-sig-'));
try {
  mkdirSync(join(work, 'home'));
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: join(work, 'home'),
    DOCKER_CONFIG: join(work, 'home', '.docker'),
    TUF_ROOT: join(work, 'home', 'tuf'),
    COSIGN_PASSWORD: 'bench-password',
    // Nothing but loopback is ever dialled.
    HTTPS_PROXY: 'http://127.0.0.1:9',
    HTTP_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '127.0.0.1',
  };
  const run = promisify(execFile);
  const cosign = (args: string[]) => run(toolPath('cosign-v2'), args, { env, cwd: work, timeout: 120_000 });
  await cosign(['generate-key-pair', '--output-key-prefix', 'release']);
  const host = cluster.registryHost;
  const sigNs = 'bench-admission-sig';
  await createReadyNamespace(core, sigNs);
  await core.createNamespacedSecret({
    namespace: sigNs,
    body: {
      metadata: { name: 'release-key' },
      stringData: { 'cosign.pub': readFileSync(join(work, 'release.pub'), 'utf8') },
    },
  });
  await createSecurityPolicy(kc.makeApiClient(CustomObjectsApi), sigNs, 'signed-only', {
    enforcement: 'Enforce',
    onImageUnknown: 'Deny',
    signatures: {
      required: true,
      images: [`${host}/bench-sig/**`],
      attestors: [
        {
          name: 'release',
          publicKeyRef: { name: 'release-key', key: 'cosign.pub' },
          transparencyLog: { threshold: 0 },
        },
      ],
    },
  });
  // Distinct images (distinct content, so distinct digests): each is first-seen by the operator.
  const signed: string[] = [];
  const count = 31;
  for (let i = 0; i < count; i += 4) {
    await Promise.all(
      Array.from({ length: Math.min(4, count - i) }, async (_, j) => {
        const n = i + j;
        const image = await pushImage(
          host,
          `bench-sig/app${n}`,
          '1.0',
          [tar([{ path: 'a', content: `bench image ${n} ${Date.now()}\n` }])],
          { config: { User: '10001' } },
        );
        await cosign([
          'sign',
          '--key',
          'release.key',
          '--tlog-upload=false',
          '--allow-http-registry',
          '--allow-insecure-registry',
          '-y',
          `${host}/bench-sig/app${n}@${image.digest}`,
        ]);
        signed[n] = image.reference;
      }),
    );
  }
  const sigPort = await freePort();
  const verifying = await startOperatorProcess(
    [
      `--kubeconfig=${cluster.kubeconfigPath}`,
      '--namespace=shipshape-system',
      '--log-level=warn',
      '--leader-elect=false',
      '--allow-registry=127.0.0.1:*',
      `--plain-http=${host}`,
      `--webhook-bind-address=127.0.0.1:${sigPort}`,
      `--webhook-url=https://127.0.0.1:${sigPort}/validate`,
    ],
    shipped,
  );
  try {
    await verifying.waitReady(60_000);
    const sigCollection = `/apis/apps/v1/namespaces/${sigNs}/deployments`;
    const create = async (name: string, image: string) => {
      const d = deployment(name, true);
      d.metadata!.namespace = sigNs;
      d.spec!.template.spec!.containers[0]!.image = image;
      return (await api.create(sigCollection, d, { dryRun: true })).status === 201;
    };
    // The first image also waits for the webhook configuration to point here.
    await eventually('the verifying webhook to admit a signed image', () => create('warm', signed[0]!), {
      timeoutMs: 60_000,
    });
    const sequential: number[] = [];
    let sequentialFailures = 0;
    const started = performance.now();
    for (let i = 1; i <= 10; i++) {
      const t = performance.now();
      if (!(await create(`seq${i}`, signed[i]!))) sequentialFailures++;
      sequential.push(performance.now() - t);
    }
    results.push([
      'D. cache miss + signature, one at a time',
      stats(sequential, sequentialFailures, performance.now() - started),
    ]);
    const burst = await (async () => {
      const latencies: number[] = [];
      let failures = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: 20 }, async (_, j) => {
          const t = performance.now();
          if (!(await create(`burst${j}`, signed[11 + j]!))) failures++;
          latencies.push(performance.now() - t);
        }),
      );
      return stats(latencies, failures, performance.now() - t0);
    })();
    results.push(['D. cache miss + signature, 20 at once', burst]);
    noteLoad('after D');
  } finally {
    await verifying.stop();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  api.close();
  await cluster.stop();
}

console.log(`\nadmission latency, ${concurrency} concurrent requests (ms)\n`);
console.log(
  `${'phase'.padEnd(44)} ${'n'.padStart(6)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'max'.padStart(8)} ${'req/s'.padStart(7)} ${'fail'.padStart(5)}`,
);
for (const [name, s] of results) console.log(row(name, s));
for (const note of notes) console.log(`\n${note}`);
console.log(`\nload average (1, 5, 15 min) on ${navigator.hardwareConcurrency} cores: ${loads.join('; ')}`);
const a = results[0]![1];
const b = results[1]![1];
console.log(
  `\nwebhook overhead on admitted requests: p50 +${(b.p50 - a.p50).toFixed(1)} ms, p99 +${(b.p99 - a.p99).toFixed(1)} ms`,
);
