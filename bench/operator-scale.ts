// Operator at scale on the local control plane: 200 Deployments × 10 replicas
// (2,000 pods on kwok nodes) under one policy, each Deployment running its own
// image pushed to the local registry (so --images distinct digests, all really
// analysed). Measures the time until every Deployment's SecurityReport carries
// the final image analysis (Analyzed or Failed, not Pending), the operator's peak
// RSS, the API requests it made (from the API server's audit log), and its writes
// in a steady minute.
// With --vulnerability-db <dir> (e.g. the ≥300,000 advisories of bench/vuln-generate.js)
// the operator loads that database (dir: source), each image carries a dpkg database of
// --packages Debian packages named as the database's Debian:12 packages (random
// versions, so most are affected), and the bench waits until every ImageReport says its
// vulnerabilities are matched; then it adds an advisory to the directory, sends SIGHUP
// and watches the reload (release, load, re-match) for --reload-seconds: the peak RSS of
// the whole operator with the database, the findings and a refresh.
// Usage: node dist/bench/operator-scale.js [--deployments 200] [--replicas 10] [--images N]
//        [--vulnerability-db <dir> [--packages 200] [--reload-seconds 90]]
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { startLocalCluster } from '../test/cluster/local-cluster.js';
import { installCrds } from '../test/support/crds.js';
import { createSecurityPolicy } from '../test/support/policies.js';
import { metricValue, startOperatorProcess } from '../test/support/operator-process.js';
import { pushImage } from '../test/support/oci-push.js';
import { tar } from '../test/support/tar.js';
import { trimPod } from '../src/controllers/resources.js';
import { shippedOperatorEnv } from '../test/support/shipped-operator-env.js';
import { VulnerabilityDatabase } from '../src/vuln/database.js';

const { values } = parseArgs({
  options: {
    deployments: { type: 'string', default: '200' },
    replicas: { type: 'string', default: '10' },
    'steady-seconds': { type: 'string', default: '60' },
    images: { type: 'string' },
    // The operator's --workers (reconcile workers per controller); its own default otherwise.
    workers: { type: 'string' },
    // Overrides the manifest's V8 old-space cap.
    'operator-heap-mib': { type: 'string' },
    // The operator runs with the manifest's NODE_OPTIONS and MALLOC_ARENA_MAX (config/manager);
    // these replace them for experiments, e.g. --node-options=--max-semi-space-size=32.
    'node-options': { type: 'string' },
    'malloc-arena-max': { type: 'string' },
    // Write a heap snapshot of the operator into this directory before it stops (SIGUSR2).
    'heap-snapshot-dir': { type: 'string' },
    'vulnerability-db': { type: 'string' },
    packages: { type: 'string', default: '200' },
    'reload-seconds': { type: 'string', default: '90' },
  },
});
const deployments = Number(values.deployments);
const replicas = Number(values.replicas);
const steadySeconds = Number(values['steady-seconds']);
const imageCount = Number(values.images ?? deployments);
const ns = 'bench';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface AuditEvent {
  auditID: string;
  verb: string;
  objectRef?: { resource?: string; subresource?: string };
  requestReceivedTimestamp: string;
}

function auditEvents(path: string): AuditEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent);
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(status.match(/^VmHWM:\s+(\d+) kB/m)?.[1] ?? 0);
  return kb / 1024;
}

const cluster = await startLocalCluster({ nodes: Math.ceil((deployments * replicas) / 900), auditLog: true });
try {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  await installCrds(kc);
  for (const name of ['shipshape-system', ns]) await core.createNamespace({ body: { metadata: { name } } });
  await createSecurityPolicy(custom, ns, 'baseline', { podSecurity: { level: 'restricted' } });

  // Package names the database knows (read here, then dropped), so that images match it.
  const vulnDb = values['vulnerability-db'];
  let debianNames: string[] = [];
  if (vulnDb !== undefined) {
    const db = new VulnerabilityDatabase();
    const error = await db.loadDirectory(vulnDb);
    if (error !== undefined) throw new Error(error.message);
    debianNames = db.packageNames('Debian:12');
    console.log(`database ${vulnDb}: ${db.size} advisories, ${debianNames.length} Debian:12 packages`);
  }
  let seed = 17;
  const random = (n: number): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return Math.floor((seed / 2 ** 32) * n);
  };
  const dpkgStatus = (): string =>
    Array.from(
      { length: Number(values.packages) },
      () =>
        `Package: ${debianNames[random(debianNames.length)]}\nStatus: install ok installed\n` +
        `Architecture: amd64\nVersion: ${random(5)}.${random(10)}.${random(10)}-1\n\n`,
    ).join('');

  // One small image per index, each with its own digest: an os-release and a file of its own.
  const pushStarted = Date.now();
  const images: string[] = [];
  for (let i = 0; i < imageCount; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, imageCount - i) }, async (_, j) => {
        const n = i + j;
        const layer = tar([
          {
            path: 'etc/os-release',
            content: 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12"\n',
          },
          { path: `srv/app-${n}.txt`, content: `app ${n}\n` },
          ...(vulnDb === undefined ? [] : [{ path: 'var/lib/dpkg/status', content: dpkgStatus() }]),
        ]);
        await pushImage(cluster.registryHost, `bench/app-${n}`, '1.0', [layer], {
          config: { User: '10001' },
        });
        return `${cluster.registryHost}/bench/app-${n}:1.0`;
      }),
    );
    for (const image of batch) images.push(image);
  }
  console.log(`pushed ${imageCount} images in ${((Date.now() - pushStarted) / 1000).toFixed(1)} s`);

  const shipped = shippedOperatorEnv();
  const operatorEnv: Record<string, string> = {
    NODE_OPTIONS: [
      values['node-options'] ?? shipped.NODE_OPTIONS ?? '',
      values['operator-heap-mib'] ? `--max-old-space-size=${values['operator-heap-mib']}` : '',
      values['heap-snapshot-dir'] ? '--heapsnapshot-signal=SIGUSR2' : '',
    ]
      .filter(Boolean)
      .join(' '),
  };
  const arenas = values['malloc-arena-max'] ?? shipped.MALLOC_ARENA_MAX;
  if (arenas !== undefined) operatorEnv.MALLOC_ARENA_MAX = arenas;
  console.log(`operator environment: ${JSON.stringify(operatorEnv)}`);
  const operator = await startOperatorProcess(
    [
      `--kubeconfig=${cluster.operatorKubeconfigPath}`,
      '--namespace=shipshape-system',
      '--log-level=warn',
      '--allow-registry=127.0.0.1:*',
      `--plain-http=${cluster.registryHost}`,
      ...(values.workers === undefined ? [] : [`--workers=${values.workers}`]),
      ...(vulnDb === undefined ? [] : [`--vulnerability-db-source=dir:${vulnDb}`]),
    ],
    operatorEnv,
  );
  await operator.waitReady(60_000);
  const operatorStarted = new Date();
  // Where the operator's memory is at its fullest: V8 heap, off-heap buffers, the rest.
  const mib = (bytes: number | undefined) => (bytes ?? 0) / 2 ** 20;
  let fullest = {
    rss: 0,
    heapUsed: 0,
    heapTotal: 0,
    external: 0,
    newSpace: 0,
    oldSpace: 0,
    anon: 0,
    file: 0,
  };
  const procStatus = (field: string, text: string) =>
    Number(text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0) / 1024;
  const sampler = setInterval(() => {
    operator
      .metrics()
      .then((text) => {
        const rss = mib(metricValue(text, 'shipshape_process_resident_memory_bytes'));
        if (rss <= fullest.rss) return;
        const status = readFileSync(`/proc/${operator.child.pid ?? 0}/status`, 'utf8');
        fullest = {
          anon: procStatus('RssAnon', status),
          file: procStatus('RssFile', status),
          rss,
          heapUsed: mib(metricValue(text, 'shipshape_nodejs_heap_size_used_bytes')),
          heapTotal: mib(metricValue(text, 'shipshape_nodejs_heap_size_total_bytes')),
          external: mib(metricValue(text, 'shipshape_nodejs_external_memory_bytes')),
          newSpace: mib(metricValue(text, 'shipshape_nodejs_heap_space_size_total_bytes', { space: 'new' })),
          oldSpace: mib(metricValue(text, 'shipshape_nodejs_heap_space_size_total_bytes', { space: 'old' })),
        };
      })
      .catch(() => undefined);
  }, 1000);

  const started = Date.now();
  const createDeployment = (i: number) => {
    const labels = { app: `app-${i}` };
    return apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: `app-${i}` },
        spec: {
          replicas,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              nodeSelector: { type: 'kwok' },
              containers: [
                {
                  name: 'app',
                  image: images[i % imageCount],
                  securityContext: { runAsUser: i % 2 },
                },
              ],
            },
          },
        },
      },
    });
  };
  // Ten clients at a time, as a CI pipeline rolling out many workloads would.
  for (let i = 0; i < deployments; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, deployments - i) }, (_, j) => createDeployment(i + j)),
    );
  }
  const created = Date.now();
  // Done means every SecurityReport exists and says what its image is (Analyzed or
  // Failed, not Pending), and every image's ImageReport carries its analysis.
  type Listed = { items: { status?: { images?: { analysis?: string }[] } }[] };
  type ListedImages = { items: { status?: { conditions?: { type?: string; status?: string }[] } }[] };
  let reports = 0;
  let complete = 0;
  let analyzed = 0;
  let imageReports = 0;
  let firstAllReports: number | undefined;
  let securityReportsDone: number | undefined;
  while (complete < deployments || imageReports < imageCount) {
    const list = (await custom.listNamespacedCustomObject({
      group: 'shipshape.dev',
      version: 'v1alpha1',
      plural: 'securityreports',
      namespace: ns,
    })) as Listed;
    reports = list.items.length;
    if (reports >= deployments) firstAllReports ??= Date.now();
    const states = list.items.map((r) => r.status?.images?.map((i) => i.analysis) ?? []);
    complete = states.filter(
      (s) => s.length > 0 && s.every((a) => a === 'Analyzed' || a === 'Failed'),
    ).length;
    analyzed = states.filter((s) => s.length > 0 && s.every((a) => a === 'Analyzed')).length;
    if (complete >= deployments) securityReportsDone ??= Date.now();
    const images = (await custom.listClusterCustomObject({
      group: 'shipshape.dev',
      version: 'v1alpha1',
      plural: 'imagereports',
    })) as ListedImages;
    imageReports = images.items.filter(
      (r) =>
        r.status?.conditions?.some((c) => c.type === 'Analyzed' && c.status === 'True') &&
        (vulnDb === undefined ||
          r.status.conditions.some((c) => c.type === 'VulnerabilitiesMatched' && c.status === 'True')),
    ).length;
    if (operator.child.exitCode !== null || operator.child.signalCode !== null)
      throw new Error(`the operator exited: ${operator.output().slice(-4000)}`);
    if (Date.now() - started > 900_000)
      throw new Error(
        `only ${complete} of ${deployments} reports complete after 15 minutes (${reports} exist, ${imageReports} of ${imageCount} ImageReports)`,
      );
    await sleep(500);
  }
  const allReports = Date.now();
  let running = 0;
  while (running < deployments * replicas && Date.now() - started < 600_000) {
    const pods = await core.listNamespacedPod({ namespace: ns, fieldSelector: 'status.phase=Running' });
    running = pods.items.length;
    await sleep(1000);
  }
  const podsRunning = Date.now();
  // What the informer transform keeps of a pod, as JSON bytes (a proxy for cache memory per pod).
  const sample = (await core.listNamespacedPod({ namespace: ns, limit: 200 })).items;
  const bytes = (objects: unknown[]) =>
    objects.reduce<number>((n, o) => n + JSON.stringify(o).length, 0) / objects.length;
  const podBytes = { full: bytes(sample), cached: bytes(sample.map((p) => trimPod(p))) };
  // Let pod status churn settle (digests, policy status), then count writes in a quiet window.
  await sleep(15_000);
  const steadyFrom = new Date();
  await sleep(steadySeconds * 1000);
  const steadyTo = new Date();

  const events = auditEvents(cluster.auditLogPath ?? '');
  const during = events.filter((e) => new Date(e.requestReceivedTimestamp) >= operatorStarted);
  const writes = (list: AuditEvent[]) => list.filter((e) => !['get', 'list', 'watch'].includes(e.verb));
  const steady = events.filter((e) => {
    const t = new Date(e.requestReceivedTimestamp);
    return t >= steadyFrom && t < steadyTo;
  });
  const rss = peakRssMiB(operator.child.pid ?? 0);
  let reload: string | undefined;
  if (vulnDb !== undefined) {
    // A refresh with a change: one more advisory in the directory, and SIGHUP.
    const added = join(vulnDb, 'bench-reload.json');
    writeFileSync(
      added,
      JSON.stringify({
        schema_version: '1.7.0',
        id: 'BENCH-RELOAD-1',
        modified: new Date().toISOString(),
        affected: [
          {
            package: { ecosystem: 'Debian:12', name: debianNames[0] },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
          },
        ],
      }),
    );
    // A scrape that fails (the operator busy, or gone) counts as no news; its exit is reported below.
    const successes = async () =>
      metricValue(await operator.metrics().catch(() => ''), 'shipshape_vulndb_refresh_total', {
        result: 'success',
      }) ?? 0;
    const before = await successes();
    const reloadStarted = Date.now();
    operator.child.kill('SIGHUP');
    let reloaded: number | undefined;
    while (Date.now() - reloadStarted < Number(values['reload-seconds']) * 1000) {
      if (reloaded === undefined && (await successes()) > before) reloaded = Date.now();
      await sleep(1000);
    }
    rmSync(added);
    if (operator.child.exitCode !== null || operator.child.signalCode !== null)
      throw new Error(`the operator exited during the reload: ${operator.output().slice(-3000)}`);
    const after = peakRssMiB(operator.child.pid ?? 0);
    reload =
      `database reload (SIGHUP, one advisory added): loaded ${reloaded === undefined ? 'not within the window' : `${((reloaded - reloadStarted) / 1000).toFixed(1)} s after the signal`}; ` +
      `operator peak RSS before it ${rss.toFixed(0)} MiB, after ${Number(values['reload-seconds'])} s ${after.toFixed(0)} MiB`;
  }
  clearInterval(sampler);
  if (values['heap-snapshot-dir']) {
    const { readdirSync } = await import('node:fs');
    const before = new Set(readdirSync(process.cwd()));
    operator.child.kill('SIGUSR2');
    // The snapshot is written synchronously by the operator; wait until its file stops growing.
    let last = -1;
    for (let i = 0; i < 120; i++) {
      await sleep(1000);
      const file = readdirSync(process.cwd()).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
      if (file === undefined) continue;
      const size = statSync(join(process.cwd(), file)).size;
      if (size === last && size > 0) {
        renameSync(join(process.cwd(), file), join(values['heap-snapshot-dir'], file));
        console.log(`heap snapshot: ${join(values['heap-snapshot-dir'], file)}`);
        break;
      }
      last = size;
    }
  }
  await operator.stop();
  // The operator's warnings, by message and the start of the error: a bench that hides them hides bugs.
  const warnings = new Map<string, number>();
  for (const line of operator.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as {
        level?: string;
        message?: string;
        controller?: string;
        error?: string;
      };
      if (entry.level !== 'warn' && entry.level !== 'error') continue;
      const key = `${entry.level} ${entry.controller ?? ''}: ${entry.message ?? ''} ${(entry.error ?? '').slice(0, 120)}`;
      warnings.set(key, (warnings.get(key) ?? 0) + 1);
    } catch {
      // not a log line
    }
  }

  console.log(`deployments: ${deployments}, replicas: ${replicas}, pods: ${deployments * replicas}`);
  if (reload !== undefined) console.log(reload);
  console.log(`creating the Deployments took: ${((created - started) / 1000).toFixed(1)} s`);
  console.log(
    `time until every report exists: ${(((firstAllReports ?? allReports) - started) / 1000).toFixed(1)} s after the first create`,
  );
  console.log(
    `time until every SecurityReport and ImageReport carries its final image analysis: ${((allReports - started) / 1000).toFixed(1)} s after the first create, ${((allReports - created) / 1000).toFixed(1)} s after the last (${analyzed} of ${deployments} Analyzed)`,
  );
  console.log(
    `SecurityReports complete ${(((securityReportsDone ?? allReports) - created) / 1000).toFixed(1)} s after the last create; ImageReports (${imageReports} of ${imageCount}) ${((allReports - created) / 1000).toFixed(1)} s after it`,
  );
  console.log(`pods running after: ${((podsRunning - started) / 1000).toFixed(1)} s (${running} running)`);
  console.log(
    `operator peak RSS (VmHWM): ${rss.toFixed(0)} MiB${values['operator-heap-mib'] ? ` (heap capped at ${values['operator-heap-mib']} MiB)` : ''}`,
  );
  console.log(
    `at the fullest sample (1 s polls): RSS ${fullest.rss.toFixed(0)} MiB = V8 heap ${fullest.heapTotal.toFixed(0)} MiB (used ${fullest.heapUsed.toFixed(0)}; old space ${fullest.oldSpace.toFixed(0)}, new space ${fullest.newSpace.toFixed(0)}) + external ${fullest.external.toFixed(0)} MiB + the rest; anonymous ${fullest.anon.toFixed(0)} MiB, file-backed ${fullest.file.toFixed(0)} MiB`,
  );
  console.log(
    `pod as listed: ${podBytes.full.toFixed(0)} B of JSON; as cached after the transform: ${podBytes.cached.toFixed(0)} B`,
  );
  console.log(
    `operator API requests (audit log, from operator start): ${during.length}, of which writes: ${writes(during).length}`,
  );
  console.log(
    `operator requests in a steady ${steadySeconds} s window: ${steady.length}, writes: ${writes(steady).length}`,
  );
  const tally = (list: AuditEvent[]) => {
    const counts = new Map<string, number>();
    for (const e of list) {
      const k = `${e.verb} ${e.objectRef?.resource ?? ''}${e.objectRef?.subresource ? '/' + e.objectRef.subresource : ''}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    return [...counts].sort((a, b) => b[1] - a[1]);
  };
  console.log('operator warnings and errors, by message:');
  for (const [k, n] of [...warnings].sort((a, b) => b[1] - a[1]).slice(0, 10))
    console.log(`  ${String(n).padStart(6)}  ${k.replace(/\s+/g, ' ')}`);
  console.log('requests by verb and resource, whole run:');
  for (const [k, n] of tally(during)) console.log(`  ${String(n).padStart(6)}  ${k}`);
  console.log(`writes by verb and resource, steady ${steadySeconds} s window:`);
  for (const [k, n] of tally(writes(steady))) console.log(`  ${String(n).padStart(6)}  ${k}`);
} finally {
  await cluster.stop();
}
