// Hostile images against the running operator: Deployments whose images are built
// to exhaust an analyzer (too many layers, an inflation bomb, 1 MiB symlink targets,
// a forged dpkg database of a million packages, a layer that never finishes
// arriving) are created at the same moment as an ordinary one. Each hostile image
// must end Failed with a reason naming the budget it broke, the ordinary one must be
// analysed within 10 s, and /healthz must answer 200 all along: analysis runs in
// worker processes with budgets, so nothing a tenant pushes stalls or kills the
// operator. The test prints the operator's and the workers' peak RSS and the
// longest event-loop stall the operator's /metrics reported.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type V1Deployment } from '@kubernetes/client-node';
import type { ReportedImage, SecurityReport } from '../../src/api/report-types.js';
import { installCrds } from '../support/crds.js';
import { createReadyNamespace } from '../support/namespaces.js';
import { pushBlob, pushImage, pushManifest } from '../support/oci-push.js';
import { metricValue, startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { createSecurityPolicy } from '../support/policies.js';
import { tar } from '../support/tar.js';
import { eventually } from '../support/wait.js';
import { storeTarImage } from '../unit/image/images.js';
import { FakeRegistry, startRegistry, type TestServer } from '../unit/registry/fake-registry.js';
import { entryBlocks, header as tarHeader } from '../unit/sbom/tar-writer.js';
import { kubeConfig, kubeconfigPath, registryHost } from './harness.js';

const GROUP = { group: 'shipshape.dev', version: 'v1alpha1' };
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const MiB = 1024 * 1024;

/** The operator's budgets in this test: small enough that every hostile image trips one quickly. */
const HEAP_MIB = 128;
const TIMEOUT_S = 40;
const MAX_IMAGE_MIB = 256;

async function gzipStream(blocks: Iterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(blocks).pipe(createGzip())) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

/** A tar of one 1 GiB file of zeros: about 1 MiB gzipped, a gigabyte to inflate. */
function* inflationBomb(): Generator<Buffer> {
  yield tarHeader({ name: 'zeros', typeflag: '0', size: 1024 * MiB });
  const zeros = Buffer.alloc(MiB);
  for (let i = 0; i < 1024; i++) yield zeros;
  yield Buffer.alloc(1024);
}

/** 450 symlinks whose PAX linkpath is 1 MiB long. */
function* longSymlinks(): Generator<Buffer> {
  const target = 'x'.repeat(MiB);
  for (let i = 0; i < 450; i++) {
    yield* entryBlocks({ name: `l${i}`, type: 'symlink', linkName: 'x', pax: { linkpath: target } });
  }
  yield Buffer.alloc(1024);
}

/** A dpkg status file just under the 64 MiB file limit: over a million packages. */
function forgedDpkgStatus(): Buffer {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < 60 * MiB; i++) {
    const entry = `Package: p${i}\nStatus: install ok installed\nVersion: 1\n\n`;
    parts.push(entry);
    size += entry.length;
  }
  return Buffer.from(parts.join(''));
}

/** Pushes gzipped layer blobs as they are and a manifest naming them. */
async function pushBlobs(repository: string, blobs: Buffer[]): Promise<string> {
  const registry = registryHost();
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  const configDigest = await pushBlob(registry, repository, config);
  const layers = [];
  for (const blob of blobs) {
    layers.push({
      mediaType: LAYER_GZIP,
      digest: await pushBlob(registry, repository, blob),
      size: blob.length,
    });
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

    operator = await startOperatorProcess([
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
    ]);
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
          peakWorkerRss = Math.max(peakWorkerRss, statusLine(pid, 'VmRSS') ?? 0);
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
    await operator?.stop('SIGKILL');
    await slowServer?.close();
    await core?.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('fails each hostile image on its budget, analyses the ordinary one within 10 s, and stays healthy', async () => {
    // prom-client resets the lag histogram on each scrape: this one drops the start-up stalls.
    await operator.metrics();
    measuring = true;
    const created = Date.now();
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

    const expected: Record<string, { reason: string; message: RegExp }> = {
      'many-layers': { reason: 'AnalysisTooLarge', message: /200 layers|layers/ },
      'inflation-bomb': { reason: 'AnalysisTooLarge', message: /maxImageBytes/ },
      'long-symlinks': { reason: 'AnalysisTooLarge', message: /header|path/i },
      'forged-dpkg': { reason: 'AnalysisMemoryLimit', message: new RegExp(`${HEAP_MIB} MiB heap`) },
      'slow-layer': {
        reason: 'AnalysisTimeout',
        message: /layer sha256:[0-9a-f]{64} .* took longer than its budget/,
      },
    };
    const settledAfter: Record<string, number> = {};
    for (const [name, want] of Object.entries(expected)) {
      const entry = await eventually(
        `the ${name} image to fail`,
        async () => {
          const e = await imageEntry(name);
          return e?.analysis === 'Failed' ? e : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 250 },
      );
      settledAfter[name] = Date.now() - created;
      assert.equal(entry.reason, want.reason, `${name}: ${JSON.stringify(entry)}`);
      assert.match(entry.message ?? '', want.message, name);
    }

    // A few more seconds of probing after the last failure, with the workers replaced.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.equal(operator.child.exitCode, null, `the operator is still running:\n${operator.output()}`);
    assert.deepEqual(healthFailures, [], `/healthz failed ${healthFailures.length} of ${healthChecks} times`);
    const operatorPeak = statusLine(operator.child.pid!, 'VmHWM') ?? 0;
    console.log(
      `      ordinary analysed after ${ordinaryMs} ms; failures after ${JSON.stringify(settledAfter)} ms;\n` +
        `      /healthz ${healthChecks} probes, 0 failed; operator peak RSS (VmHWM) ${(operatorPeak / MiB).toFixed(0)} MiB; ` +
        `largest worker RSS seen ${(peakWorkerRss / MiB).toFixed(0)} MiB; ` +
        `longest event-loop stall ${(maxEventLoopLagSeconds * 1000).toFixed(0)} ms`,
    );
    assert.ok(maxEventLoopLagSeconds < 0.5, `event loop stalled ${maxEventLoopLagSeconds} s`);
  });

  it('leaves no analysis worker behind when the operator is killed', async () => {
    const workers = childPids(operator.child.pid!);
    assert.ok(workers.length > 0, 'idle analysis workers are kept for the next images');
    await operator.stop('SIGKILL');
    await eventually(
      'the workers to exit with the operator',
      async () => workers.every((pid) => statusLine(pid, 'VmRSS') === undefined),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  });
});
