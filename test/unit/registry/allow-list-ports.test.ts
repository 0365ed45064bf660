// The allow list judges host:port, not host: an allow-listed registry cannot point the
// client (by reference, redirect or token realm) at another port of the same or another
// loopback host, and credentials reach only the host:port they were issued for and token
// realms the policy allows. Proven with real listeners on 127.0.0.1 and 127.0.0.2: a
// refusing listener must accept no connection at all.
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';

import {
  applyRegistryFlags,
  defaultRegistrySettings,
  toRegistryClientConfig,
} from '../../../src/image/registry-config.js';
import type { CredentialSource } from '../../../src/registry/auth.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { DockerConfigCredentialSource, parsePullSecret } from '../../../src/registry/docker-config.js';
import { RegistryError } from '../../../src/registry/errors.js';
import {
  OCI_IMAGE_CONFIG,
  OCI_IMAGE_MANIFEST,
  OCI_LAYER_TAR_GZIP,
} from '../../../src/registry/media-types.js';
import { parseImageReference } from '../../../src/registry/reference.js';
import { RegistryTransport, type Clock } from '../../../src/registry/transport.js';
import { FakeRegistry, startRegistry, startServer, type Handler, type TestServer } from './fake-registry.js';

const USER = 'robot';
const PASSWORD = 'S3cr3t-PASSWORD-for-port-tests';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

const clock: Clock = { now: () => Date.now(), sleep: async () => undefined };

function pullSecretFor(host: string): CredentialSource {
  const document = JSON.stringify({
    auths: { [host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } },
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

async function refusal(promise: Promise<unknown>): Promise<RegistryError> {
  const caught = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(caught instanceof RegistryError, `expected a RegistryError, got ${String(caught)}`);
  return caught;
}

/** A manifest document that parses (its blobs need not exist). */
const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: OCI_IMAGE_MANIFEST,
  config: { mediaType: OCI_IMAGE_CONFIG, digest: `sha256:${'1'.repeat(64)}`, size: 2 },
  layers: [],
});

describe('registry allow list with ports', () => {
  const servers: TestServer[] = [];
  const clients: RegistryClient[] = [];
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function listen(handler: Handler, address = '127.0.0.1'): Promise<TestServer> {
    const server = await startServer(handler, address);
    servers.push(server);
    return server;
  }
  /** A listener that must never be reached: it answers 500 and counts connections. */
  const forbidden = (address = '127.0.0.1'): Promise<TestServer> =>
    listen((_req, res) => res.writeHead(500).end(), address);

  /** The client as `shipshape sbom --allow-registry ... --plain-http ...` builds it. */
  async function client(
    allow: string[],
    credentials?: CredentialSource,
    resolve?: (hostname: string) => Promise<readonly LookupAddress[]>,
  ): Promise<RegistryClient> {
    const flagged = applyRegistryFlags(defaultRegistrySettings(), {
      allow,
      plainHttp: ['127.0.0.1', '127.0.0.2', 'registry.internal.test'],
    });
    assert.ok(flagged.ok, flagged.ok ? '' : flagged.error);
    const config = {
      ...(await toRegistryClientConfig(flagged.settings, () => Promise.reject(new Error('no CA')))),
      retry: { maxAttempts: 1 },
    };
    const c = new RegistryClient({
      config,
      clock,
      ...(credentials === undefined ? {} : { credentials }),
      ...(resolve === undefined ? {} : { transport: new RegistryTransport(config, { clock, resolve }) }),
    });
    clients.push(c);
    return c;
  }

  it('refuses another port of an allow-listed host:port without connecting to it', async () => {
    const allowed = await forbidden();
    const other = await forbidden();
    const c = await client([allowed.host]);
    const err = await refusal(c.getManifest(parseImageReference(`${other.host}/team/app:v1`)));
    assert.equal(err.reason, 'RegistryNotAllowed');
    assert.equal(
      err.message,
      `registry ${other.host} is not allowed: 127.0.0.1 is allow-listed only on port ${allowed.port} (allow it in registry configuration)`,
    );
    assert.equal(other.connections, 0);
  });

  it('admits an entry without a port on 443 and 80 only, not on a registry port', async () => {
    const other = await forbidden();
    const c = await client(['127.0.0.1']);
    const err = await refusal(c.getManifest(parseImageReference(`${other.host}/team/app:v1`)));
    assert.match(err.message, /127\.0\.0\.1 is allow-listed only on ports 80, 443/);
    assert.equal(other.connections, 0);
  });

  it('refuses a name allow-listed on one port when asked for another, checked where it connects', async () => {
    const other = await forbidden();
    const resolve = async (): Promise<LookupAddress[]> => [{ address: '127.0.0.1', family: 4 }];
    const c = await client(['registry.internal.test:1'], undefined, resolve);
    const err = await refusal(
      c.getManifest(parseImageReference(`registry.internal.test:${other.port}/team/app:v1`)),
    );
    assert.equal(err.reason, 'RegistryNotAllowed');
    assert.match(
      err.message,
      /resolves to 127\.0\.0\.1, and loopback addresses are blocked \(registry\.internal\.test is allow-listed only on port 1\)/,
    );
    assert.equal(other.connections, 0);
  });

  it('refuses a redirect to another port of the same host without connecting to it', async () => {
    const target = await forbidden();
    const registry = await listen((req, res) =>
      res.writeHead(307, { location: `http://${target.host}${req.url ?? '/'}` }).end(),
    );
    const c = await client([registry.host], pullSecretFor(registry.host));
    const err = await refusal(c.getManifest(parseImageReference(`${registry.host}/team/app:v1`)));
    assert.equal(err.reason, 'RegistryNotAllowed');
    assert.match(
      err.message,
      new RegExp(
        `^registry ${registry.host} redirected to ${target.host}, which is not allowed: 127\\.0\\.0\\.1 is allow-listed only on port ${registry.port}`,
      ),
    );
    assert.equal(registry.requests.length, 1);
    assert.equal(target.connections, 0);
  });

  it('refuses a token realm on a port the policy does not allow, naming the realm, and sends it nothing', async () => {
    const realm = await forbidden();
    const registry = await listen((_req, res) =>
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://${realm.host}/token",service="registry"`,
        })
        .end(),
    );
    const c = await client([registry.host], pullSecretFor(registry.host));
    const err = await refusal(c.getManifest(parseImageReference(`${registry.host}/team/app:v1`)));
    assert.equal(err.reason, 'RegistryNotAllowed');
    assert.match(
      err.message,
      new RegExp(
        `^token realm ${realm.host} of registry ${registry.host} is not allowed: 127\\.0\\.0\\.1 is allow-listed only on port ${registry.port}`,
      ),
    );
    assert.doesNotMatch(err.message, /^registry /);
    assert.equal(realm.connections, 0, 'the pull secret must not reach a refused realm');
  });

  it('refuses a realm on another loopback address as well', async () => {
    const realm = await forbidden('127.0.0.2');
    const registry = await listen((_req, res) =>
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${realm.host}/token"` }).end(),
    );
    const c = await client([registry.host, '127.0.0.2:1']);
    const err = await refusal(c.getManifest(parseImageReference(`${registry.host}/team/app:v1`)));
    assert.match(
      err.message,
      new RegExp(`^token realm ${realm.host} of registry ${registry.host} is not allowed`),
    );
    assert.equal(realm.connections, 0);
  });

  it('sends the pull secret to a token realm the policy allows, and only a token to the registry', async () => {
    const realm = await listen((req, res) => {
      if (req.headers.authorization !== BASIC) return void res.writeHead(401).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"tok-1"}');
    }, '127.0.0.2');
    const registry = await listen((req, res) => {
      if (req.headers.authorization !== 'Bearer tok-1')
        return void res
          .writeHead(401, { 'www-authenticate': `Bearer realm="http://${realm.host}/token",service="r"` })
          .end();
      res.writeHead(200, { 'content-type': OCI_IMAGE_MANIFEST }).end(MANIFEST);
    });
    const c = await client([registry.host, realm.host], pullSecretFor(registry.host));
    const fetched = await c.getManifest(parseImageReference(`${registry.host}/team/app:v1`));
    assert.equal(fetched.manifest.kind, 'manifest');
    assert.deepEqual(
      realm.requests.map((r) => r.authorization),
      [BASIC],
    );
    assert.ok(registry.requests.every((r) => r.authorization !== BASIC));
  });

  for (const scheme of ['Bearer', 'Basic'] as const) {
    it(`never answers a ${scheme} challenge of a redirect target with the registry's credentials`, async () => {
      // Storage on another allow-listed host:port answers 401: its challenge is its own business.
      const storage = await listen((req, res) => {
        if ((req.url ?? '').startsWith('/token'))
          return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"stolen"}');
        const host = `127.0.0.2:${(req.socket.localPort ?? 0).toString()}`;
        const challenge =
          scheme === 'Bearer'
            ? `Bearer realm="http://${host}/token",service="storage"`
            : 'Basic realm="storage"';
        res.writeHead(401, { 'www-authenticate': challenge }).end();
      }, '127.0.0.2');
      const fake = new FakeRegistry({
        auth: { scheme: 'basic', username: USER, password: PASSWORD },
        blobRedirectBase: `http://${storage.host}`,
      });
      const blob = fake.putBlob(Buffer.from('layer bytes'));
      const registry = await startRegistry(fake);
      servers.push(registry);
      const c = await client([registry.host, storage.host], pullSecretFor(registry.host));
      const err = await refusal(
        c.openBlob(parseImageReference(`${registry.host}/team/app:v1`), {
          mediaType: OCI_LAYER_TAR_GZIP,
          ...blob,
        }),
      );
      assert.equal(err.reason, 'Unauthorized');
      assert.match(
        err.message,
        new RegExp(`^registry ${registry.host} \\(redirected to ${storage.host}\\) answered 401`),
      );
      assert.ok(storage.requests.length >= 1, 'the redirect was followed');
      assert.deepEqual(
        storage.requests.filter((r) => r.authorization !== undefined),
        [],
        'no credential of the registry reached the storage host:port',
      );
      assert.ok(
        registry.requests.some((r) => r.authorization === BASIC),
        'the registry got its own credentials',
      );
    });
  }
});
