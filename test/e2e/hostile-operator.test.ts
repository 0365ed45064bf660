// Hostile images against the running operator: Deployments whose images are built
// to exhaust an analyzer are created at the same moment as an ordinary one. Some
// must end Failed with a reason naming the budget they broke (too many layers, a
// gzip and a zstd inflation bomb, 1 MiB symlink targets, a forged dpkg database, a
// layer that never finishes arriving, rpmdbs SQLite would execute, which are refused
// as UnreadablePackageDatabase); the others are inputs the bounded code now handles
// correctly and fast (40,000 whiteouts, 2,000 long same-length names, an ELF of
// 65,535 sections, 120 KB backtracking env values), and must end Analyzed within the
// budget. The ordinary one must be
// analysed within 10 s, and /healthz must answer 200 all along: analysis runs in
// worker processes with budgets, so nothing a tenant pushes stalls or kills the
// operator. The test prints the operator's and the workers' peak RSS and the
// longest event-loop stall the operator's /metrics reported.
// SHIPSHAPE_E2E_CPU_PROF=<dir> writes the operator's CPU profile there (it is then
// stopped with SIGTERM, which lets V8 write it, instead of SIGKILL).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type http from 'node:http';
import { gzipSync } from 'node:zlib';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type V1Deployment } from '@kubernetes/client-node';
import type { ImageReport, ReportedImage, SecurityReport } from '../../src/api/report-types.js';
import { OPERATOR_OVERHEAD_MIB, WORKER_OVERHEAD_MIB } from '../../src/image/analysis-pool.js';
import { imageReportName } from '../../src/report/image-report.js';
import { installCrds } from '../support/crds.js';
import {
  BACKTRACKING_ENV_VALUES,
  forgedDpkgStatus,
  gzipStream,
  hostileElf,
  inflationBomb,
  longSameLengthNames,
  longSymlinks,
  recursiveViewRpmdb,
  whiteoutBomb,
  zeroblobRpmdb,
  zstdBomb,
} from '../support/hostile-layers.js';
import { createReadyNamespace } from '../support/namespaces.js';
import { pushBlob, pushImage, pushManifest } from '../support/oci-push.js';
import { metricValue, startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { createSecurityPolicy } from '../support/policies.js';
import { operatorHeapMiB, shippedOperatorEnv } from '../support/shipped-operator-env.js';
import { tar } from '../support/tar.js';
import { eventually } from '../support/wait.js';
import { storeTarImage } from '../unit/image/images.js';
import { FakeRegistry, startRegistry, type TestServer } from '../unit/registry/fake-registry.js';
import { MEDIA_TYPE, tar as tarOf } from '../unit/sbom/tar-writer.js';
import { kubeConfig, kubeconfigPath, registryHost } from './harness.js';

const GROUP = { group: 'shipshape.dev', version: 'v1alpha1' };
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MiB = 1024 * 1024;

/** The operator's budgets in this test: small enough that every hostile image trips one quickly. */
const HEAP_MIB = 128;
const TIMEOUT_S = 40;
const MAX_IMAGE_MIB = 256;
/** ImageReport garbage collection's grace in this test: short, so a deleted Deployment's report goes soon. */
const IMAGE_REPORT_GRACE_S = 5;
const cpuProfileDir = process.env.SHIPSHAPE_E2E_CPU_PROF;
const shipped = shippedOperatorEnv();
/** How the operator is stopped: V8 writes a CPU profile on exit, never on SIGKILL. */
const STOP_SIGNAL = cpuProfileDir === undefined ? 'SIGKILL' : 'SIGTERM';

/** Pushes layer blobs as they are (gzip unless told) and a manifest naming them. */
async function pushBlobs(
  repository: string,
  blobs: Array<Buffer | { blob: Buffer; mediaType: string }>,
  env: string[] = [],
): Promise<string> {
  const registry = registryHost();
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: env.length > 0 ? { Env: env } : {},
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  const configDigest = await pushBlob(registry, repository, config);
  const layers = [];
  for (const layer of blobs) {
    const { blob, mediaType } = Buffer.isBuffer(layer) ? { blob: layer, mediaType: MEDIA_TYPE.gzip } : layer;
    layers.push({ mediaType, digest: await pushBlob(registry, repository, blob), size: blob.length });
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers,
    }),
  );
  await pushManifest(registry, repository, 'v1', manifest, OCI_MANIFEST);
  return `${registry}/${repository}:v1`;
}

function deployment(name: string, image: string): V1Deployment {
  const labels = { app: name };
  return {
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { nodeSelector: { type: 'kwok' }, containers: [{ name: 'app', image }] },
      },
    },
  };
}

function statusLine(pid: number, field: string): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
      readFileSync(`/proc/${pid}/status`, 'utf8'),
    );
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds a process has used (/proc/<pid>/stat, clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

describe('operator under hostile images', function () {
  this.timeout(300_000);
  const ns = `e2e-hostile-${Date.now().toString(36)}`;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let custom: CustomObjectsApi;
  let operator: OperatorProcess;
  let slowRegistry: FakeRegistry;
  let slowServer: TestServer;
  const dribbling = new Set<{ timer: NodeJS.Timeout; res: http.ServerResponse }>();
  const images: Record<string, string> = {};
  const samplers: NodeJS.Timeout[] = [];
  let healthChecks = 0;
  const healthFailures: string[] = [];
  let maxEventLoopLagSeconds = 0;
  /** Set once the Deployments are created: the operator's start-up stalls are not what is measured. */
  let measuring = false;
  let peakWorkerRss = 0;

  const imageEntry = async (name: string): Promise<ReportedImage | undefined> => {
    const report = (await custom
      .getNamespacedCustomObject({
        ...GROUP,
        plural: 'securityreports',
        namespace: ns,
        name: `deployment-${name}`,
      })
      .catch(() => undefined)) as SecurityReport | undefined;
    return report?.status?.images?.[0];
  };

  before(async function () {
    this.timeout(240_000);
    const kc = kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    await installCrds(kc);
    for (const name of ['shipshape-system', ns]) await createReadyNamespace(core, name);
    await createSecurityPolicy(custom, ns, 'images');

    const registry = registryHost();
    images.ordinary = (
      await pushImage(registry, 'hostile-op/ordinary', 'v1', [
        tar([
          { path: 'etc/', type: 'dir' },
          { path: 'etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
          { path: 'var/lib/dpkg/', type: 'dir' },
          { path: 'var/lib/dpkg/status', content: readFileSync('test/fixtures/sbom/dpkg-status') },
        ]),
      ])
    ).reference;
    images['many-layers'] = await pushBlobs(
      'hostile-op/many-layers',
      Array.from({ length: 200 }, (_, i) => gzipSync(tar([{ path: `layer-${i}`, content: `${i}\n` }]))),
    );
    images['inflation-bomb'] = await pushBlobs('hostile-op/inflation-bomb', [
      await gzipStream(inflationBomb()),
    ]);
    images['long-symlinks'] = await pushBlobs('hostile-op/long-symlinks', [await gzipStream(longSymlinks())]);
    images['forged-dpkg'] = await pushBlobs('hostile-op/forged-dpkg', [
      gzipSync(
        tar([
          { path: 'etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
          { path: 'var/lib/dpkg/status', content: forgedDpkgStatus() },
        ]),
      ),
    ]);

    images['zstd-bomb'] = await pushBlobs('hostile-op/zstd-bomb', [
      { blob: zstdBomb(), mediaType: MEDIA_TYPE.zstd },
    ]);
    const whiteouts = whiteoutBomb(40_000);
    images.whiteouts = await pushBlobs('hostile-op/whiteouts', [
      gzipSync(tarOf(whiteouts.lower)),
      gzipSync(tarOf(whiteouts.upper)),
    ]);
    images['long-paths'] = await pushBlobs('hostile-op/long-paths', [
      gzipSync(tarOf(longSameLengthNames(2000, 4096))),
    ]);
    images['elf-sections'] = await pushBlobs('hostile-op/elf-sections', [
      gzipSync(tar([{ path: 'usr/bin/tool', content: hostileElf(65_535), mode: 0o755 }])),
    ]);
    images['backtracking-env'] = await pushBlobs(
      'hostile-op/backtracking-env',
      [gzipSync(tar([{ path: 'etc/hostname', content: 'box\n' }]))],
      Object.values(BACKTRACKING_ENV_VALUES).map((value, i) => `HARMLESS_${i}=${value}`),
    );
    for (const [name, rpmdb] of [
      ['rpmdb-view', recursiveViewRpmdb()],
      ['rpmdb-zeroblob', zeroblobRpmdb()],
    ] as const) {
      images[name] = await pushBlobs(`hostile-op/${name}`, [
        gzipSync(
          tar([
            { path: 'etc/os-release', content: 'ID=rhel\nVERSION_ID="9.4"\n' },
            { path: 'var/lib/rpm/rpmdb.sqlite', content: rpmdb },
          ]),
        ),
      ]);
    }

    // A registry that sends the layer one byte every half second, forever.
    slowRegistry = new FakeRegistry();
    slowServer = await startRegistry(slowRegistry);
    const slow = storeTarImage(slowRegistry, 'hostile-op/slow-layer', 'v1', [
      tar([{ path: 'etc/os-release', content: 'ID=debian\n' }]),
    ]);
    const slowLayer = slow.layers[0]!.digest;
    slowRegistry.override = (req, res) => {
      if (!req.url?.endsWith(`/blobs/${slowLayer}`)) return false;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const entry = { timer: setInterval(() => res.write(Buffer.alloc(1, 0x1f)), 500), res };
      dribbling.add(entry);
      res.on('close', () => {
        clearInterval(entry.timer);
        dribbling.delete(entry);
      });
      return true;
    };
    images['slow-layer'] = `${slowServer.host}/hostile-op/slow-layer:v1`;

    operator = await startOperatorProcess(
      [
        `--kubeconfig=${kubeconfigPath()}`,
        '--namespace=shipshape-system',
        '--leader-elect=false',
        '--log-level=warn',
        '--allow-registry=127.0.0.1:*',
        `--plain-http=${registry}`,
        `--plain-http=${slowServer.host}`,
        '--analysis-workers=4',
        `--analysis-memory-mib=${HEAP_MIB}`,
        `--analysis-timeout=${TIMEOUT_S}`,
        `--analysis-max-image-mib=${MAX_IMAGE_MIB}`,
        `--image-report-grace=${IMAGE_REPORT_GRACE_S}`,
      ],
      // As deployed (heap, young generation, malloc arenas), so its peak RSS is measured against its share.
      {
        ...(shipped.MALLOC_ARENA_MAX === undefined ? {} : { MALLOC_ARENA_MAX: shipped.MALLOC_ARENA_MAX }),
        NODE_OPTIONS: [
          shipped.NODE_OPTIONS ?? '',
          cpuProfileDir === undefined ? '' : `--cpu-prof --cpu-prof-dir=${cpuProfileDir}`,
        ]
          .filter(Boolean)
          .join(' '),
      },
    );
    await operator.waitReady();

    const probe = `http://127.0.0.1:${operator.probePort}/healthz`;
    samplers.push(
      setInterval(() => {
        healthChecks++;
        fetch(probe, { signal: AbortSignal.timeout(1_000) })
          .then((r) => {
            if (r.status !== 200) healthFailures.push(`status ${r.status}`);
            return r.body?.cancel();
          })
          .catch((err: unknown) => healthFailures.push(String(err)));
      }, 100),
      setInterval(() => {
        operator
          .metrics()
          .then((text) => {
            const lag = metricValue(text, 'shipshape_nodejs_eventloop_lag_max_seconds') ?? 0;
            if (measuring) maxEventLoopLagSeconds = Math.max(maxEventLoopLagSeconds, lag);
          })
          .catch(() => undefined);
        for (const pid of childPids(operator.child.pid!)) {
          // VmHWM: the worker's own peak, also between two samples.
          peakWorkerRss = Math.max(peakWorkerRss, statusLine(pid, 'VmHWM') ?? 0);
        }
      }, 250),
    );
  });

  after(async () => {
    for (const timer of samplers) clearInterval(timer);
    for (const { timer, res } of dribbling) {
      clearInterval(timer);
      res.destroy();
    }
    await operator?.stop(STOP_SIGNAL);
    await slowServer?.close();
    await core?.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('fails each hostile image on its budget, analyses the ordinary one within 10 s, and stays healthy', async () => {
    // prom-client resets the lag histogram on each scrape: this one drops the start-up stalls.
    await operator.metrics();
    measuring = true;
    const created = Date.now();
    const cpuAtCreate = cpuSeconds(operator.child.pid!);
    await Promise.all(
      Object.entries(images).map(([name, image]) =>
        apps.createNamespacedDeployment({ namespace: ns, body: deployment(name, image) }),
      ),
    );

    const ordinary = await eventually(
      'the ordinary image to be analysed',
      async () => {
        const entry = await imageEntry('ordinary');
        return entry?.analysis === 'Analyzed' ? entry : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const ordinaryMs = Date.now() - created;
    assert.ok((ordinary.packages ?? 0) > 40, `packages: ${ordinary.packages}`);

    // Failed on a budget it names, or (where the bounded code reads the input correctly
    // and fast) Analyzed within the image's wall-clock budget.
    // An Analyzed image's ImageReport says which files were not read; only an image whose
    // files all were (ordinary files, no package data) reads "Found 0 packages." alone.
    type Outcome =
      | { analysis: 'Failed'; reason: string; message: RegExp }
      | { analysis: 'Analyzed'; packages: number; analyzedMessage: RegExp };
    const expected: Record<string, Outcome> = {
      'many-layers': {
        analysis: 'Failed',
        reason: 'AnalysisTooLarge',
        message: /200 layers, over the limit of 128/,
      },
      'inflation-bomb': { analysis: 'Failed', reason: 'AnalysisTooLarge', message: /maxImageBytes/ },
      'zstd-bomb': { analysis: 'Failed', reason: 'AnalysisTooLarge', message: /maxImageBytes/ },
      'long-symlinks': { analysis: 'Failed', reason: 'AnalysisTooLarge', message: /header|path/i },
      'forged-dpkg': { analysis: 'Failed', reason: 'AnalysisTooLarge', message: /MAX_DPKG_PACKAGES/ },
      'slow-layer': {
        analysis: 'Failed',
        reason: 'AnalysisTimeout',
        message: /layer sha256:[0-9a-f]{64} .* took longer than its budget/,
      },
      whiteouts: { analysis: 'Analyzed', packages: 0, analyzedMessage: /^Found 0 packages\.$/ },
      'long-paths': { analysis: 'Analyzed', packages: 0, analyzedMessage: /^Found 0 packages\.$/ },
      'elf-sections': {
        analysis: 'Analyzed',
        packages: 0,
        analyzedMessage:
          /^Found 0 packages\. 1 file was not read, .*go-binary: \/usr\/bin\/tool: .*65535 sections, over the limit of 4096 \(MAX_ELF_SECTIONS\)/,
      },
      'backtracking-env': { analysis: 'Analyzed', packages: 0, analyzedMessage: /^Found 0 packages\.$/ },
      // A refused package database leaves the inventory unknown: never a clean 0 packages.
      'rpmdb-view': {
        analysis: 'Failed',
        reason: 'UnreadablePackageDatabase',
        message: /\/var\/lib\/rpm\/rpmdb.sqlite: rpmdb Packages is not a plain table \(view\)/,
      },
      'rpmdb-zeroblob': {
        analysis: 'Failed',
        reason: 'UnreadablePackageDatabase',
        message: /\/var\/lib\/rpm\/rpmdb.sqlite: rpmdb Packages.blob is a generated column/,
      },
    };
    assert.deepEqual(
      Object.keys(expected).sort(),
      Object.keys(images)
        .filter((n) => n !== 'ordinary')
        .sort(),
    );
    const settledAfter: Record<string, number> = {};
    const outcomes = await Promise.allSettled(
      Object.entries(expected).map(async ([name, want]) => {
        const entry = await eventually(
          `the ${name} image to be ${want.analysis}`,
          async () => {
            const e = await imageEntry(name);
            return e?.analysis === 'Failed' || e?.analysis === 'Analyzed' ? e : undefined;
          },
          { timeoutMs: 120_000, intervalMs: 250 },
        );
        settledAfter[name] = Date.now() - created;
        assert.equal(entry.analysis, want.analysis, `${name}: ${JSON.stringify(entry)}`);
        if (want.analysis === 'Failed') {
          assert.equal(entry.reason, want.reason, `${name}: ${JSON.stringify(entry)}`);
          assert.match(entry.message ?? '', want.message, name);
        } else {
          assert.equal(entry.packages ?? 0, want.packages, `${name}: ${JSON.stringify(entry)}`);
          const imageReport = (await custom.getClusterCustomObject({
            ...GROUP,
            plural: 'imagereports',
            name: (entry.digest ?? '').replace(':', '-'),
          })) as ImageReport;
          const analyzed = imageReport.status?.conditions?.find((c) => c.type === 'Analyzed');
          assert.match(analyzed?.message ?? '', want.analyzedMessage, name);
          assert.ok(settledAfter[name] < TIMEOUT_S * 1000, `${name} took ${settledAfter[name]} ms`);
        }
      }),
    );
    const wrong = outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []));
    assert.deepEqual(wrong, [], `settled after ${JSON.stringify(settledAfter)} ms`);

    // A few more seconds of probing after the last failure, with the workers replaced.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.equal(operator.child.exitCode, null, `the operator is still running:\n${operator.output()}`);
    assert.deepEqual(healthFailures, [], `/healthz failed ${healthFailures.length} of ${healthChecks} times`);
    const operatorPeak = statusLine(operator.child.pid!, 'VmHWM') ?? 0;
    const operatorCpuS = cpuSeconds(operator.child.pid!) - cpuAtCreate;
    // The shares of config/manager's memory limit (see its rule): the operator's heap
    // plus its overhead, and a worker's heap (here HEAP_MIB) plus its overhead.
    const manifestHeapMiB = operatorHeapMiB(shipped.NODE_OPTIONS);
    const operatorShare = (manifestHeapMiB + OPERATOR_OVERHEAD_MIB) * MiB;
    const workerShare = (HEAP_MIB + WORKER_OVERHEAD_MIB) * MiB;
    console.log(
      `      ordinary analysed after ${ordinaryMs} ms; settled after ${JSON.stringify(settledAfter)} ms;\n` +
        `      /healthz ${healthChecks} probes, 0 failed; operator peak RSS (VmHWM) ${(operatorPeak / MiB).toFixed(0)} MiB ` +
        `of its ${operatorShare / MiB} MiB share of the manifest's limit; ` +
        `largest worker peak RSS ${(peakWorkerRss / MiB).toFixed(0)} MiB of a ${workerShare / MiB} MiB share;\n` +
        `      longest event-loop stall ${(maxEventLoopLagSeconds * 1000).toFixed(0)} ms; operator CPU ` +
        `${operatorCpuS.toFixed(1)} s over ${((Date.now() - created) / 1000).toFixed(1)} s; load average ${loadavg()[0]!.toFixed(1)}`,
    );
    assert.ok(operatorPeak < operatorShare, 'the operator stays inside its share of the memory limit');
    assert.ok(peakWorkerRss < workerShare, 'each worker stays inside its share of the memory limit');
    assert.ok(maxEventLoopLagSeconds < 0.5, `event loop stalled ${maxEventLoopLagSeconds} s`);
  });

  it('deletes the ImageReport of a digest once no workload has run it for the grace period, and writes it again when one does', async () => {
    const entry = await imageEntry('ordinary');
    const name = imageReportName(entry?.digest ?? '');
    assert.ok(name, `the ordinary image's digest: ${JSON.stringify(entry)}`);
    const report = (): Promise<unknown> =>
      custom.getClusterCustomObject({ ...GROUP, plural: 'imagereports', name }).catch(() => undefined);
    // Kept while the Deployment runs it: a few grace periods pass first.
    await new Promise((resolve) => setTimeout(resolve, 3 * IMAGE_REPORT_GRACE_S * 1000));
    assert.ok(await report(), 'the report of a running digest is kept');
    await apps.deleteNamespacedDeployment({
      namespace: ns,
      name: 'ordinary',
      propagationPolicy: 'Foreground',
    });
    const deletedAt = Date.now();
    await eventually('the ImageReport to be deleted', async () => (await report()) === undefined, {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    const after = Date.now() - deletedAt;
    console.log(`      ImageReport ${name} deleted ${after} ms after its Deployment`);
    assert.ok(after >= IMAGE_REPORT_GRACE_S * 1000, `deleted after ${after} ms, inside the grace`);
    // The digest comes back: its report is written again (the next sweep hands it back).
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('ordinary-again', images.ordinary!),
    });
    await eventually('the ImageReport to be written again', async () => (await report()) !== undefined, {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    // The other images are still run by their Deployments, so their reports stay.
    const other = imageReportName((await imageEntry('whiteouts'))?.digest ?? '');
    assert.ok(
      other && (await custom.getClusterCustomObject({ ...GROUP, plural: 'imagereports', name: other })),
    );
  });

  it('leaves no analysis worker behind when the operator is killed', async () => {
    const workers = childPids(operator.child.pid!);
    assert.ok(workers.length > 0, 'idle analysis workers are kept for the next images');
    await operator.stop(STOP_SIGNAL);
    await eventually(
      'the workers to exit with the operator',
      async () => workers.every((pid) => statusLine(pid, 'VmRSS') === undefined),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  });
});
