import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { createServer } from 'node:http';
import type http from 'node:http';
import type { Readable } from 'node:stream';

import type { CredentialSource, RegistryCredential } from '../../../src/registry/auth.js';
import {
  RegistryClient,
  type RegistryClientConfig,
  type RegistryLogger,
} from '../../../src/registry/client.js';
import { DockerConfigCredentialSource, parsePullSecret } from '../../../src/registry/docker-config.js';
import { RegistryError, type RegistryErrorReason } from '../../../src/registry/errors.js';
import {
  DOCKER_LAYER_TAR_GZIP,
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST_V2,
  OCI_IMAGE_CONFIG,
  OCI_IMAGE_INDEX,
  OCI_IMAGE_MANIFEST,
  OCI_LAYER_TAR_GZIP,
} from '../../../src/registry/media-types.js';
import { parseImageReference, type ImageReference } from '../../../src/registry/reference.js';
import { RegistryTransport, type Clock } from '../../../src/registry/transport.js';
import { FakeRegistry, sha256, startRegistry, startServer, type TestServer } from './fake-registry.js';

const USER = 'robot';
const PASSWORD = 'S3cr3t-PASSWORD-do-not-leak';

/** Retries sleep on this clock: it records the waits and returns at once. */
class FakeClock implements Clock {
  time = 1_700_000_000_000;
  readonly sleeps: number[] = [];
  now(): number {
    return this.time;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
  }
}

/** Servers started by the current test: the loopback allow list names each one's host:port. */
const started: TestServer[] = [];

function loopbackConfig(extra: Partial<RegistryClientConfig> = {}): RegistryClientConfig {
  return {
    policy: { allow: started.map((s) => s.host) },
    hosts: { '127.0.0.1': { plainHttp: true } },
    ...extra,
  };
}

function pullSecretFor(host: string, username = USER, password = PASSWORD): DockerConfigCredentialSource {
  const document = JSON.stringify({
    auths: { [host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } },
  });
  const parsed = parsePullSecret(
    {
      metadata: { namespace: 'team-a', name: 'regcred' },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(document).toString('base64') },
    },
    'pod',
  );
  assert.ok(parsed.ok);
  return new DockerConfigCredentialSource([parsed.config]);
}

async function expectRegistryError(
  promise: Promise<unknown>,
  reason: RegistryErrorReason,
  message?: RegExp,
): Promise<RegistryError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof RegistryError, `expected a RegistryError, got ${String(caught)}`);
  assert.equal(caught.reason, reason, caught.message);
  if (message !== undefined) assert.match(caught.message, message);
  return caught;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A single-platform image: config + one layer, stored in the fake registry. */
function putImage(
  registry: FakeRegistry,
  repository: string,
  tag: string | undefined,
  layerText: string,
  mediaType = OCI_IMAGE_MANIFEST,
) {
  const config = registry.putBlob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux' })));
  const layer = registry.putBlob(Buffer.from(layerText));
  const layerType = mediaType === DOCKER_MANIFEST_V2 ? DOCKER_LAYER_TAR_GZIP : OCI_LAYER_TAR_GZIP;
  const document = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: OCI_IMAGE_CONFIG, ...config },
    layers: [{ mediaType: layerType, ...layer }],
  };
  const digest = registry.putManifest(repository, tag, document, mediaType);
  return { digest, config, layer, size: Buffer.from(JSON.stringify(document)).length };
}

describe('RegistryClient against a registry on 127.0.0.1', function () {
  const servers: TestServer[] = [];
  const clients: RegistryClient[] = [];
  let clock: FakeClock;

  beforeEach(() => {
    clock = new FakeClock();
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    started.splice(0);
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function serve(registry: FakeRegistry): Promise<TestServer> {
    const server = await startRegistry(registry);
    servers.push(server);
    started.push(server);
    return server;
  }
  async function serveRaw(
    handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  ): Promise<TestServer> {
    const server = await startServer(handler);
    servers.push(server);
    started.push(server);
    return server;
  }
  function client(
    config: RegistryClientConfig = loopbackConfig(),
    credentials?: CredentialSource,
    logger?: RegistryLogger,
  ) {
    const c = new RegistryClient({
      config,
      clock,
      ...(credentials === undefined ? {} : { credentials }),
      ...(logger === undefined ? {} : { logger }),
    });
    clients.push(c);
    return c;
  }
  const ref = (text: string): ImageReference => parseImageReference(text);

  describe('manifests and digests', () => {
    it('resolves a tag to a digest with HEAD and the Docker-Content-Digest header', async () => {
      const registry = new FakeRegistry();
      const image = putImage(registry, 'team/app', 'v1', 'layer');
      const server = await serve(registry);
      const digest = await client().resolveDigest(ref(`${server.host}/team/app:v1`));
      assert.equal(digest, image.digest);
      assert.deepEqual(
        server.requests.map((r) => r.method),
        ['HEAD'],
      );
    });

    it('falls back to GET and hashes the body when HEAD gives no digest', async () => {
      const registry = new FakeRegistry({ headDigest: false });
      const image = putImage(registry, 'team/app', 'v1', 'layer');
      const server = await serve(registry);
      assert.equal(await client().resolveDigest(ref(`${server.host}/team/app:v1`)), image.digest);
      assert.deepEqual(
        server.requests.map((r) => r.method),
        ['HEAD', 'GET'],
      );
    });

    it('returns the digest of a name:tag@digest reference without asking the registry', async () => {
      const server = await serve(new FakeRegistry());
      const digest = sha256('x');
      assert.equal(await client().resolveDigest(ref(`${server.host}/team/app:v1@${digest}`)), digest);
      assert.equal(server.requests.length, 0);
    });

    it('resolves a Docker v2 schema 2 image to its config and layers', async () => {
      const registry = new FakeRegistry();
      const image = putImage(registry, 'team/app', 'v1', 'docker layer', DOCKER_MANIFEST_V2);
      const server = await serve(registry);
      const resolved = await client().resolveImage(ref(`${server.host}/team/app:v1`));
      assert.equal(resolved.digest, image.digest);
      assert.equal(resolved.manifest.mediaType, DOCKER_MANIFEST_V2);
      assert.equal(resolved.config.digest, image.config.digest);
      assert.deepEqual(
        resolved.layers.map((l) => l.digest),
        [image.layer.digest],
      );
    });

    for (const indexType of [OCI_IMAGE_INDEX, DOCKER_MANIFEST_LIST]) {
      it(`selects the platform's manifest out of an index (${indexType})`, async () => {
        const registry = new FakeRegistry();
        const amd = putImage(registry, 'team/app', undefined, 'amd64 layer');
        const arm = putImage(registry, 'team/app', undefined, 'arm v6 layer');
        const entry = (img: typeof amd, platform: Record<string, string>) => ({
          mediaType: OCI_IMAGE_MANIFEST,
          digest: img.digest,
          size: img.size,
          platform,
        });
        const indexDigest = registry.putManifest(
          'team/app',
          'multi',
          {
            schemaVersion: 2,
            mediaType: indexType,
            manifests: [
              entry(arm, { os: 'linux', architecture: 'arm', variant: 'v6' }),
              entry(amd, { os: 'linux', architecture: 'amd64' }),
              entry(amd, { os: 'unknown', architecture: 'unknown' }),
            ],
          },
          indexType,
        );
        const server = await serve(registry);
        const c = client();
        const byDefault = await c.resolveImage(ref(`${server.host}/team/app:multi`));
        assert.equal(byDefault.digest, indexDigest);
        assert.equal(byDefault.manifestDigest, amd.digest);
        assert.deepEqual(byDefault.layers[0]?.digest, amd.layer.digest);

        const armv7 = await c.resolveImage(ref(`${server.host}/team/app:multi`), {
          platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
        });
        assert.equal(armv7.manifestDigest, arm.digest, 'an armv7 host runs the v6 image');

        await expectRegistryError(
          c.resolveImage(ref(`${server.host}/team/app:multi`), {
            platform: { os: 'linux', architecture: 's390x' },
          }),
          'NoMatchingPlatform',
          /no manifest for platform linux\/s390x \(it offers linux\/arm\/v6, linux\/amd64\)/,
        );
      });
    }

    it('refuses a manifest fetched by digest whose bytes have another digest', async () => {
      const registry = new FakeRegistry();
      const image = putImage(registry, 'team/app', 'v1', 'layer');
      const stored = registry.manifests.get(`team/app@${image.digest}`);
      assert.ok(stored !== undefined);
      registry.manifests.set(`team/app@${image.digest}`, {
        ...stored,
        body: Buffer.from(stored.body.toString() + ' '),
      });
      const server = await serve(registry);
      await expectRegistryError(
        client().getManifest(ref(`${server.host}/team/app@${image.digest}`)),
        'DigestMismatch',
      );
    });

    it('refuses a 50 MB manifest while reading it, without receiving it all', async () => {
      let written = 0;
      let closed = false;
      const server = await serveRaw((_req, res) => {
        res.writeHead(200, { 'content-type': OCI_IMAGE_MANIFEST }); // chunked: no Content-Length to refuse up front
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = (): void => {
          while (!closed && written < 50 * 1024 * 1024) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('close', () => (closed = true));
        pump();
      });
      await expectRegistryError(
        client(loopbackConfig({ maxManifestBytes: 4 * 1024 * 1024 })).getManifest(
          ref(`${server.host}/big/manifest:v1`),
        ),
        'ManifestTooLarge',
        /exceeds the 4194304-byte limit/,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(written < 20 * 1024 * 1024, `server wrote ${written} bytes before the client hung up`);
    });

    it('refuses an announced Content-Length over the limit before reading the body', async () => {
      const server = await serveRaw((_req, res) => {
        res.writeHead(200, {
          'content-type': OCI_IMAGE_MANIFEST,
          'content-length': String(50 * 1024 * 1024),
        });
        res.write('{');
      });
      await expectRegistryError(
        client().getManifest(ref(`${server.host}/big/manifest:v1`)),
        'ManifestTooLarge',
        /52428800/,
      );
    });

    it('reports a missing tag as NotFound with the repository', async () => {
      const server = await serve(new FakeRegistry());
      await expectRegistryError(
        client().getManifest(ref(`${server.host}/team/app:nope`)),
        'NotFound',
        /answered 404 for manifest nope in repository team\/app/,
      );
    });
  });

  describe('authentication', () => {
    it('follows the bearer challenge, sends the pull secret to the realm, and caches the token per scope', async () => {
      const registry = new FakeRegistry({ auth: { scheme: 'bearer', username: USER, password: PASSWORD } });
      const image = putImage(registry, 'team/app', 'v1', 'layer');
      const server = await serve(registry);
      const c = client(loopbackConfig(), pullSecretFor(server.host));
      const reference = ref(`${server.host}/team/app:v1`);
      assert.equal((await c.getManifest(reference)).digest, image.digest);
      assert.equal((await c.getManifest(reference)).digest, image.digest);
      assert.equal(registry.tokensIssued, 1, 'the second request reused the cached token');
      const tokenRequest = server.requests.find((r) => r.url.startsWith('/token'));
      assert.ok(tokenRequest !== undefined);
      assert.match(tokenRequest.url, /scope=repository%3Ateam%2Fapp%3Apull/);
      assert.equal(
        tokenRequest.authorization,
        `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`,
      );
    });

    it('fetches a new token once the cached one has expired', async () => {
      const registry = new FakeRegistry({
        auth: { scheme: 'bearer', username: USER, password: PASSWORD, tokenLifetimeSeconds: 60 },
      });
      putImage(registry, 'team/app', 'v1', 'layer');
      const server = await serve(registry);
      const c = client(loopbackConfig(), pullSecretFor(server.host));
      await c.getManifest(ref(`${server.host}/team/app:v1`));
      clock.time += 61_000;
      await c.getManifest(ref(`${server.host}/team/app:v1`));
      assert.equal(registry.tokensIssued, 2);
    });

    it('gets a fresh token when the registry rejects a cached one', async () => {
      const registry = new FakeRegistry({ auth: { scheme: 'bearer', username: USER, password: PASSWORD } });
      putImage(registry, 'team/app', 'v1', 'layer');
      const server = await serve(registry);
      const c = client(loopbackConfig(), pullSecretFor(server.host));
      await c.getManifest(ref(`${server.host}/team/app:v1`));
      registry.revokeTokens();
      await c.getManifest(ref(`${server.host}/team/app:v1`));
      assert.equal(registry.tokensIssued, 2);
    });

    it('answers a Basic challenge with the pull secret', async () => {
      const registry = new FakeRegistry({ auth: { scheme: 'basic', username: USER, password: PASSWORD } });
      const image = putImage(registry, 'team/app', 'v1', 'layer');
      const server = await serve(registry);
      const c = client(loopbackConfig(), pullSecretFor(server.host));
      assert.equal((await c.getManifest(ref(`${server.host}/team/app:v1`))).digest, image.digest);
    });

    it('tries the next matching credential when the first is refused', async () => {
      const registry = new FakeRegistry({ auth: { scheme: 'bearer', username: USER, password: PASSWORD } });
      putImage(registry, 'team/app', 'v1', 'layer');
      const server = await serve(registry);
      const credentials: RegistryCredential[] = [
        { username: 'old', password: 'rotated-away', source: 'pull secret team-a/old' },
        { username: USER, password: PASSWORD, source: 'pull secret team-a/new' },
      ];
      const c = client(loopbackConfig(), { credentialsFor: () => credentials });
      await c.getManifest(ref(`${server.host}/team/app:v1`));
      // The token endpoint saw the rotated-away secret first, then the current one, and nothing else.
      const basic = (user: string, password: string) =>
        `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      const tried = server.requests
        .filter((r) => r.authorization?.startsWith('Basic '))
        .map((r) => r.authorization);
      assert.deepEqual(tried, [basic('old', 'rotated-away'), basic(USER, PASSWORD)]);
    });

    it('says that no pull secret matched when an anonymous pull is refused', async () => {
      const registry = new FakeRegistry({ auth: { scheme: 'bearer', username: USER, password: PASSWORD } });
      putImage(registry, 'x/y', 'v1', 'layer');
      const server = await serve(registry);
      await expectRegistryError(
        client().getManifest(ref(`${server.host}/x/y:v1`)),
        'Unauthorized',
        new RegExp(`registry ${server.host} answered 401 for repository x/y: no pull secret matched`),
      );
    });

    it('never puts credentials or tokens into errors or logs', async () => {
      const logged: string[] = [];
      const logger: RegistryLogger = {
        debug: (message, fields) => logged.push(message + JSON.stringify(fields)),
      };
      const secretForms = [
        PASSWORD,
        Buffer.from(`${USER}:${PASSWORD}`).toString('base64'),
        Buffer.from(`${USER}:wrong-${PASSWORD}`).toString('base64'),
        'tok-',
      ];
      const errors: RegistryError[] = [];

      // Wrong password against a token service, against Basic, and a failing token service.
      const bearer = new FakeRegistry({ auth: { scheme: 'bearer', username: USER, password: PASSWORD } });
      putImage(bearer, 'x/y', 'v1', 'layer');
      const bearerServer = await serve(bearer);
      const basic = new FakeRegistry({ auth: { scheme: 'basic', username: USER, password: PASSWORD } });
      const basicServer = await serve(basic);
      const broken = new FakeRegistry({ auth: { scheme: 'bearer', username: USER, password: PASSWORD } });
      broken.override = (req, res) => {
        if (!(req.url ?? '').startsWith('/token')) return false;
        res.writeHead(500).end(`server echoes ${req.headers.authorization ?? ''}`);
        return true;
      };
      const brokenServer = await serve(broken);

      for (const server of [bearerServer, basicServer, brokenServer]) {
        const c = client(
          loopbackConfig({ retry: { maxAttempts: 1 } }),
          pullSecretFor(server.host, USER, `wrong-${PASSWORD}`),
          logger,
        );
        errors.push(
          await expectRegistryError(c.getManifest(ref(`${server.host}/x/y:v1`)), errorReasonFor(server)),
        );
      }
      // A good login whose later blob read fails must not leak the token either.
      const good = client(loopbackConfig(), pullSecretFor(bearerServer.host), logger);
      errors.push(
        await expectRegistryError(
          good.openBlob(ref(`${bearerServer.host}/x/y:v1`), {
            mediaType: OCI_LAYER_TAR_GZIP,
            digest: sha256('absent'),
            size: 1,
          }),
          'NotFound',
        ),
      );
      assert.match(errors[0]?.message ?? '', /the credentials of pull secret team-a\/regcred were refused/);
      for (const err of errors) {
        const texts = [err.message, err.stack ?? '', JSON.stringify(err), String(err)];
        for (const text of [...texts, ...logged]) {
          for (const secret of secretForms) assert.ok(!text.includes(secret), `leaked ${secret} in: ${text}`);
        }
      }
      assert.ok(logged.length > 0, 'the logger was used');

      function errorReasonFor(server: TestServer): RegistryErrorReason {
        return server === brokenServer ? 'RegistryUnavailable' : 'Unauthorized';
      }
    });
  });

  describe('blobs', () => {
    it('streams a blob through a redirect to storage on another port without forwarding Authorization', async () => {
      const storageBlobs = new Map<string, Buffer>();
      const storage = await serveRaw((req, res) => {
        const digest = (req.url ?? '').replace(/^\/storage\//, '').replace(/\?.*$/, '');
        const blob = storageBlobs.get(digest);
        res.writeHead(blob === undefined ? 404 : 200).end(blob);
      });
      const registry = new FakeRegistry({
        auth: { scheme: 'bearer', username: USER, password: PASSWORD },
        blobRedirectBase: `http://${storage.host}`,
      });
      const image = putImage(registry, 'team/app', 'v1', 'the layer bytes');
      for (const [digest, bytes] of registry.blobs) storageBlobs.set(digest, bytes);
      const server = await serve(registry);
      const c = client(loopbackConfig(), pullSecretFor(server.host));
      const stream = await c.openBlob(ref(`${server.host}/team/app:v1`), {
        mediaType: OCI_LAYER_TAR_GZIP,
        ...image.layer,
      });
      assert.equal((await readAll(stream)).toString(), 'the layer bytes');
      assert.ok(
        server.requests.some((r) => r.url.includes('/blobs/') && r.authorization?.startsWith('Bearer ')),
      );
      assert.equal(storage.requests.length, 1);
      assert.equal(storage.requests[0]?.authorization, undefined);
    });

    it('errors the stream at the end when the content does not match the digest', async () => {
      const registry = new FakeRegistry();
      const image = putImage(registry, 'team/app', 'v1', 'original');
      registry.blobs.set(image.layer.digest, Buffer.from('tampered'));
      const server = await serve(registry);
      const stream = await client().openBlob(ref(`${server.host}/team/app:v1`), {
        mediaType: OCI_LAYER_TAR_GZIP,
        ...image.layer,
      });
      await expectRegistryError(readAll(stream), 'DigestMismatch');
    });

    it('errors the stream as soon as it runs past the descriptor size', async () => {
      const server = await serveRaw((_req, res) => {
        res.writeHead(200); // chunked, no length: only the verifier can stop it
        res.write(Buffer.alloc(1024));
        res.write(Buffer.alloc(1024));
      });
      const stream = await client().openBlob(ref(`${server.host}/team/app:v1`), {
        mediaType: OCI_LAYER_TAR_GZIP,
        digest: sha256('whatever'),
        size: 1500,
      });
      await expectRegistryError(readAll(stream), 'SizeMismatch', /longer than the 1500 bytes/);
    });

    it('reads a config blob with fetchBlobBytes and refuses one over the cap without fetching', async () => {
      const registry = new FakeRegistry();
      const image = putImage(registry, 'team/app', 'v1', 'layer');
      const server = await serve(registry);
      const c = client();
      const bytes = await c.fetchBlobBytes(ref(`${server.host}/team/app:v1`), {
        mediaType: OCI_IMAGE_CONFIG,
        ...image.config,
      });
      assert.deepEqual(JSON.parse(bytes.toString()), { architecture: 'amd64', os: 'linux' });
      const before = server.requests.length;
      await expectRegistryError(
        c.fetchBlobBytes(
          ref(`${server.host}/team/app:v1`),
          { mediaType: OCI_IMAGE_CONFIG, ...image.config },
          { maxBytes: 10 },
        ),
        'BlobTooLarge',
      );
      assert.equal(server.requests.length, before);
    });

    it('keeps at most maxConcurrency requests open per registry, streaming bodies included', async () => {
      const registry = new FakeRegistry();
      const a = registry.putBlob(Buffer.alloc(256 * 1024, 1));
      const b = registry.putBlob(Buffer.from('b'));
      const server = await serve(registry);
      const c = client(loopbackConfig({ hosts: { '127.0.0.1': { plainHttp: true, maxConcurrency: 1 } } }));
      const reference = ref(`${server.host}/team/app:v1`);
      const first = await c.openBlob(reference, { mediaType: OCI_LAYER_TAR_GZIP, ...a });
      let secondOpened = false;
      const second = c.openBlob(reference, { mediaType: OCI_LAYER_TAR_GZIP, ...b }).then((s) => {
        secondOpened = true;
        return s;
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(secondOpened, false);
      assert.equal(server.requests.filter((r) => r.url.includes('/blobs/')).length, 1);
      assert.equal((await readAll(first)).length, 256 * 1024);
      assert.equal((await readAll(await second)).toString(), 'b');
    });
  });

  describe('retries, timeouts and redirects', () => {
    it('waits as long as Retry-After says on 429, then succeeds', async () => {
      const registry = new FakeRegistry();
      const image = putImage(registry, 'team/app', 'v1', 'layer');
      let limited = 2;
      registry.override = (_req, res) => {
        if (limited-- <= 0) return false;
        res.writeHead(429, { 'retry-after': '7' }).end();
        return true;
      };
      const server = await serve(registry);
      assert.equal((await client().getManifest(ref(`${server.host}/team/app:v1`))).digest, image.digest);
      assert.deepEqual(clock.sleeps, [7000, 7000]);
    });

    it('backs off exponentially on 503 and gives up after the last attempt', async () => {
      const server = await serveRaw((_req, res) => res.writeHead(503).end());
      const c = client(loopbackConfig({ retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 10_000 } }));
      const err = await expectRegistryError(
        c.getManifest(ref(`${server.host}/team/app:v1`)),
        'RegistryUnavailable',
      );
      assert.equal(err.retryable, true);
      assert.equal(server.requests.length, 4);
      assert.equal(clock.sleeps.length, 3);
      clock.sleeps.forEach((ms, i) => {
        assert.ok(ms >= 50 * 2 ** i && ms <= 100 * 2 ** i, `sleep ${i} was ${ms}`);
      });
    });

    it('does not wait for a Retry-After beyond the configured maximum', async () => {
      const server = await serveRaw((_req, res) => res.writeHead(429, { 'retry-after': '3600' }).end());
      await expectRegistryError(client().getManifest(ref(`${server.host}/team/app:v1`)), 'RateLimited');
      assert.equal(server.requests.length, 1);
      assert.deepEqual(clock.sleeps, []);
    });

    it('cuts off a registry that never answers', async () => {
      const server = await serveRaw(() => undefined);
      const c = client(loopbackConfig({ timeouts: { responseMs: 150 }, retry: { maxAttempts: 1 } }));
      await expectRegistryError(
        c.getManifest(ref(`${server.host}/team/app:v1`)),
        'Timeout',
        /did not answer within 0.15s/,
      );
    });

    it('cuts off a body that stops arriving', async () => {
      const server = await serveRaw((_req, res) => {
        res.writeHead(200, { 'content-type': OCI_IMAGE_MANIFEST });
        res.write('{"schemaVersion":');
      });
      const c = client(loopbackConfig({ timeouts: { bodyIdleMs: 150 } }));
      await expectRegistryError(
        c.getManifest(ref(`${server.host}/team/app:v1`)),
        'Timeout',
        /stopped sending data/,
      );
    });

    it('cuts off a body that trickles forever at the total timeout', async () => {
      const server = await serveRaw((_req, res) => {
        res.writeHead(200, { 'content-type': OCI_IMAGE_MANIFEST });
        const timer = setInterval(() => res.write(' '), 20);
        res.on('close', () => clearInterval(timer));
      });
      const c = client(loopbackConfig({ timeouts: { bodyIdleMs: 1000, totalMs: 300 } }));
      await expectRegistryError(
        c.getManifest(ref(`${server.host}/team/app:v1`)),
        'Timeout',
        /did not complete the transfer/,
      );
    });

    it('follows at most 5 redirects', async () => {
      const server = await serveRaw((req, res) =>
        res.writeHead(302, { location: `${req.url ?? ''}x` }).end(),
      );
      await expectRegistryError(client().getManifest(ref(`${server.host}/team/app:v1`)), 'TooManyRedirects');
      assert.equal(server.requests.length, 6);
    });

    it('refuses a redirect to the cloud metadata address without connecting', async () => {
      const server = await serveRaw((_req, res) =>
        res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
      );
      await expectRegistryError(
        client(
          loopbackConfig({
            hosts: { '127.0.0.1': { plainHttp: true }, '169.254.169.254': { plainHttp: true } },
          }),
        ).getManifest(ref(`${server.host}/team/app:v1`)),
        'RegistryNotAllowed',
        /redirected to 169\.254\.169\.254, which is not allowed: link-local addresses are blocked/,
      );
    });

    it('refuses plain HTTP to a host that is not configured for it', async () => {
      const target = await serveRaw((_req, res) => res.writeHead(200).end('{}'));
      const server = await serveRaw((_req, res) =>
        res.writeHead(307, { location: `http://${target.host}/` }).end(),
      );
      const c = client(loopbackConfig({ hosts: { [server.host]: { plainHttp: true } } }));
      await expectRegistryError(
        c.getManifest(ref(`${server.host}/team/app:v1`)),
        'RegistryNotAllowed',
        /plain HTTP/,
      );
      assert.equal(target.requests.length, 0);
    });

    it('tries mirrors first and falls back to the registry', async () => {
      const mirror = await serve(new FakeRegistry());
      const registry = new FakeRegistry();
      const image = putImage(registry, 'team/app', 'v1', 'layer');
      const upstream = await serve(registry);
      const c = client(
        loopbackConfig({
          hosts: {
            '127.0.0.1': { plainHttp: true },
            [upstream.host]: { plainHttp: true, mirrors: [mirror.host] },
          },
        }),
      );
      assert.equal((await c.getManifest(ref(`${upstream.host}/team/app:v1`))).digest, image.digest);
      assert.equal(mirror.requests.length, 1);
    });
  });

  describe('address policy', () => {
    const refused: [string, RegExp][] = [
      [
        '127.0.0.1:5000/x/y:v1',
        /^registry 127\.0\.0\.1:5000 is not allowed: loopback addresses are blocked \(allow it in registry configuration\)$/,
      ],
      ['169.254.169.254/latest/meta-data:v1', /link-local addresses are blocked/],
      ['10.0.0.1/x/y:v1', /private-network addresses are blocked/],
      ['[::1]:5000/x/y:v1', /loopback addresses are blocked/],
      ['localhost:5000/x/y:v1', /localhost is a loopback name/],
    ];
    for (const [text, message] of refused) {
      it(`refuses ${text} by default`, async () => {
        const c = client({ hosts: { '127.0.0.1': { plainHttp: true } } });
        await expectRegistryError(c.getManifest(ref(text)), 'RegistryNotAllowed', message);
      });
    }

    it('refuses a host name whose DNS answer is a loopback address, checking what it connects to', async () => {
      const resolve = async (): Promise<LookupAddress[]> => [{ address: '127.0.0.1', family: 4 }];
      const pinned = new RegistryClient({ clock, transport: new RegistryTransport({}, { clock, resolve }) });
      clients.push(pinned);
      await expectRegistryError(
        pinned.getManifest(ref('registry.example.com/x/y:v1')),
        'RegistryNotAllowed',
        /registry registry\.example\.com is not allowed: registry\.example\.com resolves to 127\.0\.0\.1, and loopback addresses are blocked/,
      );
    });

    it('connects only to the allowed address among those a name resolves to', async () => {
      const registry = new FakeRegistry();
      const image = putImage(registry, 'team/app', 'v1', 'layer');
      const server = await serve(registry);
      // A decoy on another loopback address and the same port must never be reached.
      const decoyRequests: string[] = [];
      const decoy = await new Promise<http.Server>((resolve, reject) => {
        const s = createServer((req, res) => {
          decoyRequests.push(req.url ?? '');
          res.writeHead(500).end();
        });
        s.once('error', reject);
        s.listen(server.port, '127.0.0.2', () => resolve(s));
      });
      try {
        const resolve = async (): Promise<LookupAddress[]> => [
          { address: '127.0.0.2', family: 4 },
          { address: '127.0.0.1', family: 4 },
        ];
        const config = {
          policy: { allow: [`127.0.0.1/32:${server.port}`] },
          hosts: { 'registry.internal.test': { plainHttp: true } },
        };
        const c = new RegistryClient({
          clock,
          config,
          transport: new RegistryTransport(config, { clock, resolve }),
        });
        clients.push(c);
        const fetched = await c.getManifest(ref(`registry.internal.test:${server.port}/team/app:v1`));
        assert.equal(fetched.digest, image.digest);
        assert.deepEqual(decoyRequests, []);
      } finally {
        decoy.closeAllConnections();
        await new Promise((resolve) => decoy.close(resolve));
      }
    });
  });
});
