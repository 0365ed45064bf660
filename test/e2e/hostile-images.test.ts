// Hostile and broken images: each one must give a clear per-image error (or a sane
// inventory), quickly, in bounded memory, and never take the analyzer down. Cases the
// real registry stores are pushed to it; cases it would refuse (wrong bytes for a
// digest, a 50 MB manifest, a registry that answers slowly forever) are served by
// small loopback servers impersonating a registry.
import assert from 'node:assert/strict';
import net from 'node:net';
import type http from 'node:http';
import { gzipSync } from 'node:zlib';

import {
  ImageAnalyzer,
  type ImageAnalysis,
  type ImageAnalysisFailure,
} from '../../src/image/image-analyzer.js';
import { RegistryClient, type RegistryClientConfig } from '../../src/registry/client.js';
import { manyEntriesLayer, sparseEntry } from '../support/hostile-layers.js';
import { pushBlob, pushManifest } from '../support/oci-push.js';
import { tar } from '../support/tar.js';
import { header as tarHeader } from '../unit/sbom/tar-writer.js';
import { FakeRegistry, startRegistry, startServer, type TestServer } from '../unit/registry/fake-registry.js';
import { registryHost } from './harness.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const MB = 1024 * 1024;

interface RawLayer {
  blob: Buffer;
  /** A size to claim in the manifest instead of the real one. */
  claimedSize?: number;
}

/** Pushes blobs as they are (no recompression) and a manifest naming them. */
async function pushRaw(
  repository: string,
  tag: string,
  layers: RawLayer[],
): Promise<{ reference: string; layerDigests: string[] }> {
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
  const descriptors = [];
  for (const layer of layers) {
    const digest = await pushBlob(registry, repository, layer.blob);
    descriptors.push({ mediaType: LAYER_GZIP, digest, size: layer.claimedSize ?? layer.blob.length });
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
      layers: descriptors,
    }),
  );
  await pushManifest(registry, repository, tag, manifest, OCI_MANIFEST);
  return { reference: `${registry}/${repository}:${tag}`, layerDigests: descriptors.map((d) => d.digest) };
}

function failure(result: ImageAnalysis): ImageAnalysisFailure {
  if (result.ok) assert.fail(`expected a failure, got ${result.inventory.packages.length} packages`);
  return result;
}

function ok(result: ImageAnalysis): Extract<ImageAnalysis, { ok: true }> {
  if (!result.ok) assert.fail(`${result.reason}: ${result.message}`);
  return result;
}

function loopback(hosts: string[], extra: Partial<RegistryClientConfig> = {}): RegistryClientConfig {
  return {
    policy: { allow: ['127.0.0.1:*'] },
    hosts: Object.fromEntries(hosts.map((h) => [h, { plainHttp: true }])),
    retry: { maxAttempts: 1 },
    ...extra,
  };
}

describe('hostile images', function () {
  this.timeout(180_000);
  let client: RegistryClient;
  let analyzer: ImageAnalyzer;
  let peakRss = 0;
  let baselineRss = 0;
  let sampler: NodeJS.Timeout | undefined;

  before(() => {
    client = new RegistryClient({ config: loopback([registryHost()]) });
    analyzer = new ImageAnalyzer({ registry: client });
    baselineRss = process.memoryUsage().rss;
    peakRss = baselineRss;
    sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  });
  after(() => {
    clearInterval(sampler);
    client.close();
  });

  it('reports a layer whose size differs from its manifest descriptor', async () => {
    const blob = gzipSync(tar([{ path: 'etc/os-release', content: 'ID=alpine\n' }]));
    const image = await pushRaw('hostile/size', 'v1', [{ blob, claimedSize: blob.length + 100 }]);
    const result = failure(await analyzer.analyze(image.reference));
    assert.equal(result.reason, 'SizeMismatch');
    assert.deepEqual(result.layer, { index: 0, digest: image.layerDigests[0] });
    assert.match(
      result.message,
      new RegExp(`${blob.length} bytes, its descriptor says ${blob.length + 100}`),
    );
  });

  it('reports a layer whose bytes do not match its digest (served by an impersonating registry)', async () => {
    const fake = new FakeRegistry();
    const server = await startRegistry(fake);
    const impersonator = new RegistryClient({ config: loopback([server.host]) });
    try {
      const real = gzipSync(tar([{ path: 'etc/os-release', content: 'ID=debian\n' }]));
      const layer = fake.putBlob(real);
      const evil = gzipSync(tar([{ path: 'etc/os-release', content: 'ID=alpine\n' }]));
      fake.blobs.set(
        layer.digest,
        Buffer.concat([evil, Buffer.alloc(real.length - evil.length)]).subarray(0, real.length),
      );
      const config = fake.putBlob(Buffer.from('{}'));
      fake.putManifest(
        'evil/app',
        'v1',
        {
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: [{ mediaType: LAYER_GZIP, ...layer }],
        },
        OCI_MANIFEST,
      );
      const result = failure(
        await new ImageAnalyzer({ registry: impersonator }).analyze(`${server.host}/evil/app:v1`),
      );
      assert.equal(result.reason, 'DigestMismatch');
      assert.deepEqual(result.layer, { index: 0, digest: layer.digest });
      assert.match(result.message, /not the expected one/);
    } finally {
      impersonator.close();
      await server.close();
    }
  });

  it('reports a truncated gzip stream as a corrupt layer', async () => {
    const gz = gzipSync(
      tar([{ path: 'var/lib/dpkg/status', content: 'Package: a\nVersion: 1\n\n'.repeat(2000) }]),
    );
    const image = await pushRaw('hostile/truncated', 'v1', [{ blob: gz.subarray(0, gz.length - 200) }]);
    const result = failure(await analyzer.analyze(image.reference));
    assert.equal(result.reason, 'CorruptLayer');
    assert.deepEqual(result.layer, { index: 0, digest: image.layerDigests[0] });
    assert.match(result.message, /unexpected end of file/);
  });

  it('keeps ../ paths and absolute symlinks inside the image', async () => {
    const layer = tar([
      { path: 'usr/lib/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
      { path: 'etc/os-release', type: 'symlink', linkTarget: '/../../../../usr/lib/os-release' },
      {
        path: '../../../../escape/node_modules/evil/package.json',
        content: '{"name":"evil","version":"6.6.6"}',
      },
      { path: 'app/node_modules/root', type: 'symlink', linkTarget: '/' },
      { path: 'var/lib/dpkg', type: 'symlink', linkTarget: '../../../../../../var/lib/dpkg' },
    ]);
    const image = await pushRaw('hostile/traversal', 'v1', [{ blob: gzipSync(layer) }]);
    const result = ok(await analyzer.analyze(image.reference));
    assert.equal(result.inventory.os?.id, 'debian', 'the absolute symlink resolves inside the image root');
    for (const p of result.inventory.packages) {
      assert.ok(p.location.startsWith('/') && !p.location.includes('..'), p.location);
    }
    assert.deepEqual(
      result.inventory.packages.map((p) => p.location),
      ['/escape/node_modules/evil/package.json'],
    );
  });

  it('does not believe a 10 GB sparse file, nor a 10 GB file header', async () => {
    const sparse = Buffer.concat([
      sparseEntry('var/lib/dpkg/status', 10 * 1024 * MB, Buffer.from('Package: x\n')),
      Buffer.alloc(1024),
    ]);
    const image = await pushRaw('hostile/sparse', 'v1', [{ blob: gzipSync(sparse) }]);
    const started = Date.now();
    const result = ok(await analyzer.analyze(image.reference));
    assert.deepEqual(result.inventory.packages, [], 'the sparse status file is not read');
    assert.ok(result.inventory.layers[0]!.uncompressedBytes < 4096);

    const claim = Buffer.concat([
      tarHeader({ name: 'big.bin', typeflag: '0', size: 10 * 1024 * MB }),
      Buffer.alloc(1024),
    ]);
    const big = await pushRaw('hostile/claim', 'v1', [{ blob: gzipSync(claim) }]);
    const refused = failure(await analyzer.analyze(big.reference));
    assert.equal(refused.reason, 'LimitExceeded');
    assert.equal(refused.limit?.name, 'layerBytes');
    assert.match(refused.message, /claims 10737418240 bytes/);
    assert.ok(Date.now() - started < 10_000);
  });

  describe('a layer of 1,000,000 tiny entries', () => {
    let reference: string;
    let layerDigest: string;
    before(async function () {
      this.timeout(120_000);
      const blob = await manyEntriesLayer(1_000_000);
      const image = await pushRaw('hostile/many', 'v1', [{ blob }]);
      reference = image.reference;
      layerDigest = image.layerDigests[0]!;
    });

    it('stops at the default entries-per-layer limit, naming the limit and the layer', async () => {
      const result = failure(await analyzer.analyze(reference));
      assert.equal(result.reason, 'LimitExceeded');
      assert.deepEqual(result.limit, { name: 'entriesPerLayer', value: 500_000 });
      assert.deepEqual(result.layer, { index: 0, digest: layerDigest });
    });

    it('walks all of them when the limit allows it', async () => {
      const generous = new ImageAnalyzer({ registry: client, limits: { maxEntriesPerLayer: 2_000_000 } });
      const result = ok(await generous.analyze(reference));
      assert.equal(result.inventory.layers[0]?.entries, 1_000_000);
      assert.equal(result.inventory.packages.length, 0);
    });
  });

  it('refuses a 50 MB manifest, announced or not', async () => {
    let chunked = false;
    const server = await startServer((req, res) => {
      if (!(req.url ?? '').includes('/manifests/')) return void res.writeHead(404).end();
      res.writeHead(200, {
        'content-type': OCI_MANIFEST,
        ...(chunked ? {} : { 'content-length': 50 * MB }),
      });
      const chunk = Buffer.alloc(MB, 0x20);
      let sent = 0;
      const write = (): void => {
        while (sent < 50 && !res.destroyed) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', write);
        }
        res.end();
      };
      write();
    });
    const c = new RegistryClient({ config: loopback([server.host]) });
    try {
      const a = new ImageAnalyzer({ registry: c });
      const announced = failure(await a.analyze(`${server.host}/big/manifest:v1`));
      assert.equal(announced.reason, 'ManifestTooLarge');
      assert.match(announced.message, /exceeds the 4194304-byte limit \(52428800 bytes/);
      chunked = true;
      const streamed = failure(await a.analyze(`${server.host}/big/manifest:v2`));
      assert.equal(streamed.reason, 'ManifestTooLarge');
    } finally {
      c.close();
      await server.close();
    }
  });

  describe('a registry that answers slowly forever', () => {
    let server: TestServer;
    const timers: NodeJS.Timeout[] = [];
    let fake: FakeRegistry;
    before(async () => {
      fake = new FakeRegistry();
      const layer = fake.putBlob(gzipSync(tar([{ path: 'a', content: 'b' }])));
      const config = fake.putBlob(Buffer.from('{}'));
      fake.putManifest(
        'slow/app',
        'v1',
        {
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: [{ mediaType: LAYER_GZIP, ...layer }],
        },
        OCI_MANIFEST,
      );
      const dribble = (res: http.ServerResponse, everyMs: number): void => {
        timers.push(setInterval(() => res.write(' '), everyMs));
      };
      fake.override = (req, res) => {
        const url = req.url ?? '';
        if (url.includes('/manifests/silent')) return true; // never answers at all
        if (url.includes('/manifests/dribble')) {
          res.writeHead(200, { 'content-type': OCI_MANIFEST });
          dribble(res, 100);
          return true;
        }
        if (url.includes(`/blobs/${layer.digest}`)) {
          res.writeHead(200, { 'content-length': layer.size });
          res.flushHeaders();
          dribble(res, 3000);
          return true;
        }
        return false;
      };
      server = await startRegistry(fake);
    });
    after(async () => {
      for (const t of timers) clearInterval(t);
      await server.close();
    });

    const slowClient = (): RegistryClient =>
      new RegistryClient({
        config: loopback([server.host], { timeouts: { responseMs: 1000, bodyIdleMs: 1000, totalMs: 3000 } }),
      });

    for (const [what, ref, expected] of [
      ['never sends headers', 'silent', /did not answer within 1s/],
      ['dribbles a manifest byte every 100 ms', 'dribble', /did not complete the transfer within 3s/],
      ['sends a blob byte every 3 s', 'v1', /stopped sending data within 1s/],
    ] as const) {
      it(`times out when it ${what}`, async () => {
        const c = slowClient();
        try {
          const started = Date.now();
          const result = failure(
            await new ImageAnalyzer({ registry: c }).analyze(`${server.host}/slow/app:${ref}`),
          );
          assert.equal(result.reason, 'Timeout', result.message);
          assert.match(result.message, expected);
          assert.equal(result.retryable, true);
          assert.ok(Date.now() - started < 8000);
        } finally {
          c.close();
        }
      });
    }
  });

  describe('the default address policy', () => {
    it('refuses 127.0.0.1 and 169.254.169.254 without dialling either', async () => {
      const connections: string[] = [];
      const listener = net.createServer((socket) => {
        connections.push('accepted');
        socket.destroy();
      });
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      const port = (listener.address() as net.AddressInfo).port;
      const dialled: string[] = [];
      const originalConnect = net.Socket.prototype.connect;
      net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
        const options = args[0];
        dialled.push(
          typeof options === 'object' && options !== null ? JSON.stringify(options) : String(options),
        );
        return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
      } as typeof originalConnect;
      // Plain HTTP is configured, only the address policy stands in the way.
      const c = new RegistryClient({
        config: {
          hosts: { [`127.0.0.1:${port}`]: { plainHttp: true }, '169.254.169.254': { plainHttp: true } },
        },
      });
      try {
        const a = new ImageAnalyzer({ registry: c });
        const local = failure(await a.analyze(`127.0.0.1:${port}/team/app:v1`));
        assert.equal(local.reason, 'RegistryNotAllowed');
        assert.match(local.message, /loopback addresses are blocked/);

        const started = Date.now();
        const metadata = failure(await a.analyze('169.254.169.254/latest/meta-data:v1'));
        const elapsed = Date.now() - started;
        assert.equal(metadata.reason, 'RegistryNotAllowed');
        assert.equal(metadata.registry, '169.254.169.254');
        assert.match(metadata.message, /link-local addresses are blocked/);
        assert.ok(elapsed < 200, `refused in ${elapsed} ms`);
        assert.deepEqual(dialled, [], 'no socket was connected');
        assert.deepEqual(connections, []);

        // Control: the same listener, once allowed, is dialled and seen, so the spies work.
        const allowed = new RegistryClient({ config: loopback([`127.0.0.1:${port}`]) });
        try {
          failure(await new ImageAnalyzer({ registry: allowed }).analyze(`127.0.0.1:${port}/team/app:v1`));
        } finally {
          allowed.close();
        }
        assert.ok(dialled.length > 0);
        assert.ok(connections.length > 0);
      } finally {
        net.Socket.prototype.connect = originalConnect;
        c.close();
        await new Promise((resolve) => listener.close(resolve));
      }
    });
  });

  // Child suites run after the tests of their parent: this one runs last.
  describe('memory', () => {
    it('stayed within bounded memory through all of the above', () => {
      const growth = (peakRss - baselineRss) / MB;
      console.error(
        `hostile images: rss baseline ${(baselineRss / MB).toFixed(0)} MB, peak growth ${growth.toFixed(0)} MB`,
      );
      assert.ok(growth < 600, `rss grew by ${growth.toFixed(0)} MB`);
    });
  });
});
