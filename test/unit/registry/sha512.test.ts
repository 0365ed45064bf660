// Images pinned by sha512 (go-digest's other registered algorithm besides sha256 and
// sha384): the reference parser accepts them and the client verifies manifests and
// blobs with the algorithm their digest names, against a registry on 127.0.0.1.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

import { RegistryClient } from '../../../src/registry/client.js';
import { RegistryError } from '../../../src/registry/errors.js';
import {
  OCI_IMAGE_CONFIG,
  OCI_IMAGE_INDEX,
  OCI_IMAGE_MANIFEST,
  OCI_LAYER_TAR_GZIP,
} from '../../../src/registry/media-types.js';
import { parseImageReference, tryParseImageReference } from '../../../src/registry/reference.js';
import type { Clock } from '../../../src/registry/transport.js';
import { startServer, type TestServer } from './fake-registry.js';

const sha512 = (bytes: Buffer | string): string =>
  `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
const clock: Clock = { now: () => Date.now(), sleep: async () => undefined };

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function rejection(promise: Promise<unknown>): Promise<RegistryError> {
  const caught = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(caught instanceof RegistryError, `expected a RegistryError, got ${String(caught)}`);
  return caught;
}

describe('image references pinned by sha512', () => {
  const hex = 'ab'.repeat(64);
  it('parses name@sha512:<128 hex> and name:tag@sha512:<128 hex>', () => {
    assert.deepEqual(parseImageReference(`ghcr.io/o/r@sha512:${hex}`), {
      registry: 'ghcr.io',
      repository: 'o/r',
      digest: `sha512:${hex}`,
    });
    assert.deepEqual(parseImageReference(`nginx:1.27@sha512:${hex}`), {
      registry: 'docker.io',
      repository: 'library/nginx',
      tag: '1.27',
      digest: `sha512:${hex}`,
    });
  });
  for (const [text, why] of [
    [`nginx@sha512:${hex.slice(1)}`, /invalid sha512 digest/],
    [`nginx@sha512:${hex}a`, /invalid sha512 digest/],
    [`nginx@sha512:${hex.toUpperCase()}`, /invalid sha512 digest/],
    [`nginx@sha256:${hex}`, /invalid sha256 digest/],
  ] as const) {
    it(`rejects ${text.slice(0, 24)}… (${text.length - 'nginx@'.length} characters of digest)`, () => {
      const parsed = tryParseImageReference(text);
      assert.ok(!parsed.ok);
      assert.match(parsed.error, why);
    });
  }
});

describe('RegistryClient with sha512 digests', () => {
  let server: TestServer;
  let client: RegistryClient;
  /** path → [content type, body] */
  const content = new Map<string, [string, Buffer]>();
  /** path → Docker-Content-Digest to send */
  const contentDigest = new Map<string, string>();

  beforeEach(async () => {
    content.clear();
    contentDigest.clear();
    server = await startServer((req, res) => {
      const found = content.get(req.url ?? '');
      if (found === undefined) return void res.writeHead(404).end();
      const headers: Record<string, string | number> = {
        'content-type': found[0],
        'content-length': found[1].length,
      };
      const header = contentDigest.get(req.url ?? '');
      if (header !== undefined) headers['docker-content-digest'] = header;
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : found[1]);
    });
    const config = {
      policy: { allow: [server.host] },
      hosts: { [server.host]: { plainHttp: true } },
      retry: { maxAttempts: 1 },
    };
    client = new RegistryClient({ config, clock });
  });
  afterEach(async () => {
    client.close();
    await server.close();
  });

  function putBlob(bytes: Buffer): { digest: string; size: number } {
    const digest = sha512(bytes);
    content.set(`/v2/team/app/blobs/${digest}`, ['application/octet-stream', bytes]);
    return { digest, size: bytes.length };
  }
  function putManifest(document: unknown, mediaType: string): { digest: string; size: number } {
    const bytes = Buffer.from(JSON.stringify(document));
    const digest = sha512(bytes);
    content.set(`/v2/team/app/manifests/${digest}`, [mediaType, bytes]);
    return { digest, size: bytes.length };
  }
  function image(layerBytes: Buffer): {
    digest: string;
    size: number;
    layer: { digest: string; size: number };
  } {
    const config = putBlob(Buffer.from('{"architecture":"amd64","os":"linux"}'));
    const layer = putBlob(layerBytes);
    const manifest = putManifest(
      {
        schemaVersion: 2,
        mediaType: OCI_IMAGE_MANIFEST,
        config: { mediaType: OCI_IMAGE_CONFIG, ...config },
        layers: [{ mediaType: OCI_LAYER_TAR_GZIP, ...layer }],
      },
      OCI_IMAGE_MANIFEST,
    );
    return { ...manifest, layer };
  }

  it('fetches a manifest pinned by sha512 and verifies it with sha512', async () => {
    const pinned = image(Buffer.from('layer'));
    const ref = parseImageReference(`${server.host}/team/app@${pinned.digest}`);
    assert.equal(await client.resolveDigest(ref), pinned.digest);
    const fetched = await client.getManifest(ref);
    assert.equal(fetched.digest, pinned.digest);
    assert.deepEqual(
      server.requests.map((r) => r.url),
      [`/v2/team/app/manifests/${pinned.digest}`],
    );
  });

  it('refuses a manifest whose bytes do not have the pinned sha512 digest', async () => {
    const pinned = image(Buffer.from('layer'));
    const served = content.get(`/v2/team/app/manifests/${pinned.digest}`);
    assert.ok(served !== undefined);
    content.set(`/v2/team/app/manifests/${pinned.digest}`, [
      served[0],
      Buffer.from(`${served[1].toString()} `),
    ]);
    const err = await rejection(
      client.getManifest(parseImageReference(`${server.host}/team/app@${pinned.digest}`)),
    );
    assert.equal(err.reason, 'DigestMismatch');
    assert.match(err.message, /has digest sha512:[a-f0-9]{128} instead/);
  });

  it('resolves an index by sha512 to its platform manifest and streams a sha512 layer verified', async () => {
    const child = image(Buffer.from('the layer bytes'));
    const index = putManifest(
      {
        schemaVersion: 2,
        mediaType: OCI_IMAGE_INDEX,
        manifests: [
          { mediaType: OCI_IMAGE_MANIFEST, ...child, platform: { os: 'linux', architecture: 'amd64' } },
        ],
      },
      OCI_IMAGE_INDEX,
    );
    const ref = parseImageReference(`${server.host}/team/app@${index.digest}`);
    const resolved = await client.resolveImage(ref);
    assert.equal(resolved.digest, index.digest);
    assert.equal(resolved.manifestDigest, child.digest);
    const layer = resolved.layers[0];
    assert.ok(layer !== undefined);
    assert.equal(layer.digest, child.layer.digest);
    assert.equal((await readAll(await client.openBlob(ref, layer))).toString(), 'the layer bytes');
  });

  it('fails a sha512 layer stream whose bytes have another sha512 digest', async () => {
    const pinned = image(Buffer.from('the layer bytes'));
    content.set(`/v2/team/app/blobs/${pinned.layer.digest}`, [
      'application/octet-stream',
      Buffer.from('THE LAYER BYTES'),
    ]);
    const ref = parseImageReference(`${server.host}/team/app@${pinned.digest}`);
    const stream = await client.openBlob(ref, { mediaType: OCI_LAYER_TAR_GZIP, ...pinned.layer });
    const err = await rejection(readAll(stream));
    assert.equal(err.reason, 'DigestMismatch');
    assert.match(err.message, /has digest sha512:[a-f0-9]{128}, not the expected one/);
  });

  it('resolves a tag of a sha512-canonical registry to the same sha512 digest by HEAD and by GET', async () => {
    const pinned = image(Buffer.from('layer'));
    const served = content.get(`/v2/team/app/manifests/${pinned.digest}`);
    assert.ok(served !== undefined);
    content.set('/v2/team/app/manifests/v1', served);
    contentDigest.set('/v2/team/app/manifests/v1', pinned.digest);
    const ref = parseImageReference(`${server.host}/team/app:v1`);
    assert.equal(await client.resolveDigest(ref), pinned.digest);
    assert.equal((await client.getManifest(ref)).digest, pinned.digest);
    assert.equal((await client.resolveImage(ref)).digest, pinned.digest);
  });

  it('falls back to sha256 for a tag when the sha512 header does not match the bytes', async () => {
    const pinned = image(Buffer.from('layer'));
    const served = content.get(`/v2/team/app/manifests/${pinned.digest}`);
    assert.ok(served !== undefined);
    content.set('/v2/team/app/manifests/v1', served);
    contentDigest.set('/v2/team/app/manifests/v1', sha512('something else'));
    const fetched = await client.getManifest(parseImageReference(`${server.host}/team/app:v1`));
    assert.equal(fetched.digest, `sha256:${createHash('sha256').update(served[1]).digest('hex')}`);
  });
});
