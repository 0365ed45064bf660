// RegistryClient.getReferrers, the one call signature discovery added to the registry client,
// against a loopback HTTP server: absent API, answers that are errors, and answers that are hostile.
import assert from 'node:assert/strict';

import { RegistryClient } from '../../../src/registry/client.js';
import { RegistryError } from '../../../src/registry/errors.js';
import { startServer, type TestServer } from '../registry/fake-registry.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('registry client: OCI referrers API', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function clientAnswering(
    status: number,
    body: string,
    type = 'application/vnd.oci.image.index.v1+json',
  ) {
    server = await startServer((req, res) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    const client = new RegistryClient({
      config: {
        policy: { allow: ['127.0.0.1:*'] },
        hosts: { [server.host]: { plainHttp: true } },
        retry: { maxAttempts: 1 },
        maxManifestBytes: 4096,
      },
    });
    return { client, ref: { registry: server.host, repository: 'team/app' } };
  }

  it('returns the index the registry answers, asking at /v2/<name>/referrers/<digest>', async () => {
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: DIGEST,
          size: 10,
          artifactType: 'x/y',
        },
      ],
    };
    const { client, ref } = await clientAnswering(200, JSON.stringify(index));
    const answer = await client.getReferrers(ref, DIGEST);
    client.close();
    assert.equal(answer?.manifests[0]?.artifactType, 'x/y');
    assert.equal(server?.requests[0]?.url, `/v2/team/app/referrers/${DIGEST}`);
  });

  it('answers undefined when the registry has no referrers API (404)', async () => {
    const { client, ref } = await clientAnswering(404, '{"errors":[]}', 'application/json');
    assert.equal(await client.getReferrers(ref, DIGEST), undefined);
    client.close();
  });

  it('refuses a malformed digest before asking', async () => {
    const { client, ref } = await clientAnswering(200, '{}');
    await assert.rejects(
      client.getReferrers(ref, 'sha256:nothex'),
      (e: RegistryError) => e.reason === 'InvalidReference',
    );
    assert.equal(server?.requests.length, 0);
    client.close();
  });

  for (const [what, status, body, reason] of [
    ['a server error', 503, 'down', 'RegistryUnavailable'],
    [
      'an answer over the manifest limit',
      200,
      JSON.stringify({ schemaVersion: 2, manifests: [], pad: 'x'.repeat(5000) }),
      'ManifestTooLarge',
    ],
    [
      'an answer that is not an index',
      200,
      JSON.stringify({ schemaVersion: 2, config: {}, layers: [] }),
      'InvalidManifest',
    ],
    ['an answer that is not JSON', 200, '<html>', 'InvalidManifest'],
  ] as const) {
    it(`reports ${what} as ${reason}`, async () => {
      const { client, ref } = await clientAnswering(status, body);
      await assert.rejects(client.getReferrers(ref, DIGEST), (e: RegistryError) => {
        assert.equal(e.reason, reason, e.message);
        return true;
      });
      client.close();
    });
  }
});
