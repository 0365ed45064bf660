import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';

import {
  ImageAnalyzer,
  type ImageAnalysis,
  type ImageAnalysisFailure,
} from '../../../src/image/image-analyzer.js';
import { RegistryClient, type RegistryClientConfig } from '../../../src/registry/client.js';
import { DockerConfigCredentialSource, parsePullSecret } from '../../../src/registry/docker-config.js';
import { TieredInventoryCache } from '../../../src/sbom/cache.js';
import { FakeRegistry, startRegistry, startServer, type TestServer } from '../registry/fake-registry.js';
import {
  DPKG_PACKAGES,
  appLayer,
  baseLayer,
  layerTar,
  loopbackConfig,
  storeImage,
  storeTarImage,
} from './images.js';

function failure(result: ImageAnalysis): ImageAnalysisFailure {
  if (result.ok)
    assert.fail(`expected a failure, got an inventory of ${result.inventory.packages.length} packages`);
  return result;
}

function success(result: ImageAnalysis): Extract<ImageAnalysis, { ok: true }> {
  if (!result.ok) assert.fail(`${result.reason}: ${result.message}`);
  return result;
}

function pullSecret(
  host: string,
  name: string,
  username: string,
  password: string,
): DockerConfigCredentialSource {
  const document = JSON.stringify({
    auths: { [host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } },
  });
  const parsed = parsePullSecret(
    {
      metadata: { namespace: 'team-a', name },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(document).toString('base64') },
    },
    'pod',
  );
  if (!parsed.ok) throw new Error(parsed.error);
  return new DockerConfigCredentialSource([parsed.config]);
}

const blobGets = (server: TestServer, digest: string): number =>
  server.requests.filter((r) => r.method === 'GET' && r.url.endsWith(`/blobs/${digest}`)).length;

describe('ImageAnalyzer', () => {
  let registry: FakeRegistry;
  let server: TestServer;
  const clients: RegistryClient[] = [];

  function analyzer(config: Partial<RegistryClientConfig> = {}): ImageAnalyzer {
    const client = new RegistryClient({ config: loopbackConfig(config) });
    clients.push(client);
    return new ImageAnalyzer({ registry: client, cache: new TieredInventoryCache() });
  }

  beforeEach(async () => {
    registry = new FakeRegistry();
    server = await startRegistry(registry);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  describe('an image it can read', () => {
    it('reports the OS, the dpkg and npm packages, and the image facts the rule engine reads', async () => {
      const image = storeTarImage(registry, 'team/app', 'v1', [baseLayer(), appLayer()]);
      const result = success(await analyzer().analyze(`${server.host}/team/app:v1`));

      assert.equal(result.digest, image.digest);
      assert.equal(result.manifestDigest, image.digest);
      assert.equal(result.reference, `${server.host}/team/app:v1`);
      assert.equal(result.inventory.os?.id, 'debian');
      assert.equal(result.inventory.packages.filter((p) => p.ecosystem === 'deb').length, DPKG_PACKAGES);
      const npm = result.inventory.packages.find((p) => p.ecosystem === 'npm');
      assert.equal(npm?.name, '@babel/code-frame');
      assert.equal(npm?.layerDigest, image.layers[1]?.digest);
      assert.deepEqual(result.facts, {
        digest: image.digest,
        user: '1000:1000',
        healthcheck: true,
        envKeys: ['PATH', 'API_KEY'],
        secretEnvKeys: ['API_KEY'],
        sizeBytes: image.layers.reduce((sum, l) => sum + l.size, 0),
        layers: 2,
        created: '2024-05-01T10:00:00Z',
        os: 'linux',
        architecture: 'amd64',
      });
    });

    it('shares one analysis between concurrent requests for the same digest', async () => {
      const image = storeTarImage(registry, 'team/app', 'v1', [baseLayer()]);
      registry.putManifest(
        'team/app',
        'also-v1',
        JSON.parse(registry.manifests.get(`team/app@v1`)!.body.toString()),
        'application/vnd.oci.image.manifest.v1+json',
      );
      const a = analyzer();
      const results = await Promise.all([
        a.analyze(`${server.host}/team/app:v1`),
        a.analyze(`${server.host}/team/app:v1`),
        a.analyze(`${server.host}/team/app:also-v1`),
      ]);
      for (const r of results) assert.equal(success(r).digest, image.digest);
      assert.equal(blobGets(server, image.layers[0]!.digest), 1, 'the layer is downloaded once');
      assert.equal(blobGets(server, image.config.digest), 1, 'the config is downloaded once');
    });

    it('answers a repeated analysis from the cache without downloading layers again', async () => {
      const image = storeTarImage(registry, 'team/app', 'v1', [baseLayer(), appLayer()]);
      const a = analyzer();
      const first = success(await a.analyze(`${server.host}/team/app:v1`));
      const second = success(await a.analyze(`${server.host}/team/app@${image.digest}`));
      assert.deepEqual(second.inventory.packages, first.inventory.packages);
      for (const layer of image.layers) assert.equal(blobGets(server, layer.digest), 1);
    });
  });

  describe('failures come back as values', () => {
    it('refuses an invalid reference', async () => {
      const result = failure(await analyzer().analyze('Not A/Reference'));
      assert.equal(result.reason, 'InvalidReference');
      assert.match(result.message, /invalid image reference/);
    });

    it('says a missing tag does not exist, naming the registry', async () => {
      const result = failure(await analyzer().analyze(`${server.host}/team/app:nope`));
      assert.equal(result.reason, 'NotFound');
      assert.equal(result.registry, server.host);
      assert.match(result.message, /answered 404 .*team\/app/);
    });

    it('names the registry and the pull secret that was refused', async () => {
      registry.options = { auth: { scheme: 'basic', username: 'robot', password: 'right' } };
      storeTarImage(registry, 'team/private', 'v1', [baseLayer()]);
      const a = analyzer();
      const wrong = failure(
        await a.analyze(`${server.host}/team/private:v1`, {
          credentials: pullSecret(server.host, 'regcred', 'robot', 'wrong'),
        }),
      );
      assert.equal(wrong.reason, 'Unauthorized');
      assert.equal(wrong.registry, server.host);
      assert.match(wrong.message, new RegExp(`registry ${server.host} answered 401`));
      assert.match(wrong.message, /pull secret team-a\/regcred were refused/);
      assert.doesNotMatch(wrong.message, /wrong/);

      const none = failure(await a.analyze(`${server.host}/team/private:v1`));
      assert.match(none.message, /no pull secret matched/);

      const right = await a.analyze(`${server.host}/team/private:v1`, {
        credentials: pullSecret(server.host, 'regcred', 'robot', 'right'),
      });
      assert.equal(success(right).inventory.os?.id, 'debian');
    });

    it('refuses loopback and link-local registries under the default policy without connecting', async () => {
      storeTarImage(registry, 'team/app', 'v1', [baseLayer()]);
      const client = new RegistryClient();
      clients.push(client);
      const a = new ImageAnalyzer({ registry: client });
      const local = failure(await a.analyze(`${server.host}/team/app:v1`));
      assert.equal(local.reason, 'RegistryNotAllowed');
      assert.match(local.message, /loopback addresses are blocked/);
      assert.equal(server.requests.length, 0);

      const started = Date.now();
      const metadata = failure(await a.analyze('169.254.169.254/latest/meta-data:v1'));
      assert.equal(metadata.reason, 'RegistryNotAllowed');
      assert.equal(metadata.registry, '169.254.169.254');
      assert.match(metadata.message, /link-local/);
      assert.ok(Date.now() - started < 500, 'refused before any connection attempt');
    });

    it('reports a layer whose bytes do not match its digest', async () => {
      const image = storeTarImage(registry, 'team/app', 'v1', [baseLayer()]);
      const digest = image.layers[0]!.digest;
      const blob = registry.blobs.get(digest)!;
      const tampered = Buffer.from(blob);
      tampered.writeUInt8(tampered.readUInt8(tampered.length - 10) ^ 0xff, tampered.length - 10);
      registry.blobs.set(digest, tampered);
      const result = failure(await analyzer().analyze(`${server.host}/team/app:v1`));
      assert.ok(['DigestMismatch', 'CorruptLayer'].includes(result.reason), result.reason);
      assert.deepEqual(result.layer, { index: 0, digest });
      assert.match(result.message, new RegExp(digest));
    });

    it('reports DigestMismatch when the content is a valid layer, just not the one named', async () => {
      const image = storeTarImage(registry, 'team/app', 'v1', [baseLayer()]);
      const digest = image.layers[0]!.digest;
      const original = registry.blobs.get(digest)!;
      // Same length, valid gzip of a different tar: only the digest check can notice.
      let other = gzipSync(layerTar([{ path: 'x', content: 'y' }]));
      other = Buffer.concat([other, Buffer.alloc(Math.max(0, original.length - other.length))]).subarray(
        0,
        original.length,
      );
      registry.blobs.set(digest, other);
      const result = failure(await analyzer().analyze(`${server.host}/team/app:v1`));
      assert.equal(result.reason, 'DigestMismatch');
      assert.match(result.message, /has digest sha256:[0-9a-f]{64}, not the expected one/);
      assert.equal(result.layer?.index, 0);
    });

    it('reports a truncated gzip stream as a corrupt layer', async () => {
      const gz = gzipSync(baseLayer());
      const image = storeImage(registry, 'team/app', 'v1', [gz.subarray(0, Math.floor(gz.length / 2))]);
      const result = failure(await analyzer().analyze(`${server.host}/team/app:v1`));
      assert.equal(result.reason, 'CorruptLayer');
      assert.deepEqual(result.layer, { index: 0, digest: image.layers[0]!.digest });
      assert.match(result.message, /layer 0 .* could not be read: unexpected end of file/);
    });

    it('names the limit and the layer when a walk limit is exceeded', async () => {
      const image = storeTarImage(registry, 'team/app', 'v1', [
        baseLayer(),
        layerTar([1, 2, 3, 4, 5].map((i) => ({ path: `f${i}`, content: 'x' }))),
      ]);
      const client = new RegistryClient({ config: loopbackConfig() });
      clients.push(client);
      const a = new ImageAnalyzer({ registry: client, limits: { maxEntriesPerLayer: 4 } });
      const result = failure(await a.analyze(`${server.host}/team/app:v1`));
      assert.equal(result.reason, 'LimitExceeded');
      assert.deepEqual(result.limit, { name: 'entriesPerLayer', value: 4 });
      assert.deepEqual(result.layer, { index: 1, digest: image.layers[1]!.digest });
    });

    it('refuses a manifest over the size limit while reading it', async () => {
      registry.override = (req, res) => {
        if (!(req.url ?? '').includes('/manifests/')) return false;
        // No Content-Length: the cap must cut the stream, not trust a header.
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const write = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', write);
        };
        write();
        return true;
      };
      const result = failure(
        await analyzer({ maxManifestBytes: 256 * 1024 }).analyze(`${server.host}/team/app:v1`),
      );
      assert.equal(result.reason, 'ManifestTooLarge');
      assert.match(result.message, /exceeds the 262144-byte limit/);
    });

    it('gives up on a registry that sends its answer one byte at a time, forever', async () => {
      const timers: NodeJS.Timeout[] = [];
      registry.override = (req, res) => {
        if (!(req.url ?? '').includes('/manifests/')) return false;
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
        timers.push(setInterval(() => res.write(' '), 50));
        return true;
      };
      const started = Date.now();
      const result = failure(
        await analyzer({ timeouts: { totalMs: 600, bodyIdleMs: 5000 } }).analyze(
          `${server.host}/team/app:v1`,
        ),
      );
      for (const t of timers) clearInterval(t);
      assert.equal(result.reason, 'Timeout');
      assert.match(result.message, /did not complete the transfer within 0.6s/);
      assert.equal(result.retryable, true);
      assert.ok(Date.now() - started < 3000);
    });

    it('reports an image configuration that is not a JSON object', async () => {
      storeTarImage(registry, 'team/app', 'v1', [baseLayer()], [1, 2, 3]);
      const result = failure(await analyzer().analyze(`${server.host}/team/app:v1`));
      assert.equal(result.reason, 'InvalidImageConfig');
    });

    it('turns an unexpected exception of its registry into an InternalError value', async () => {
      const a = new ImageAnalyzer({
        registry: {
          resolveImage: () => Promise.reject(new Error('boom')),
          openBlob: () => Promise.reject(new Error('unused')),
          fetchBlobBytes: () => Promise.reject(new Error('unused')),
        },
      });
      const result = failure(await a.analyze('registry.example/app:1'));
      assert.equal(result.reason, 'InternalError');
      assert.match(result.message, /boom/);
    });
  });
});

describe('ImageAnalyzer against a server that is not a registry', () => {
  it('reports the registry as unavailable when it answers 500', async () => {
    const server = await startServer((_req, res) => res.writeHead(500).end());
    const client = new RegistryClient({ config: loopbackConfig() });
    try {
      const result = failure(await new ImageAnalyzer({ registry: client }).analyze(`${server.host}/a/b:c`));
      assert.equal(result.reason, 'RegistryUnavailable');
      assert.equal(result.retryable, true);
    } finally {
      client.close();
      await server.close();
    }
  });
});
