// The local registry is a real OCI distribution server: an image built here
// from a tar layer is pushed and read back, and a second client (crane)
// agrees on its digest.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { registryHost } from './harness.js';
import { toolPath } from '../cluster/local-cluster.js';
import { pushImage, sha256 } from '../support/oci-push.js';
import { tar } from '../support/tar.js';

describe('local OCI registry', () => {
  it('stores an image pushed over the distribution API and serves its manifest and digest', async () => {
    const layer = tar([
      { path: 'etc/', type: 'dir' },
      { path: 'etc/os-release', content: 'ID=shipshape-test\nVERSION_ID=1\n' },
    ]);
    const pushed = await pushImage(registryHost(), 'e2e/hello', 'v1', [layer], { config: { User: '1000' } });

    const response = await fetch(`http://${registryHost()}/v2/e2e/hello/manifests/v1`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(response.status, 200);
    const body = Buffer.from(await response.arrayBuffer());
    assert.equal(response.headers.get('docker-content-digest'), pushed.digest);
    assert.equal(sha256(body), pushed.digest, 'manifest bytes hash to the digest');
    const manifest = JSON.parse(body.toString()) as { layers: { digest: string }[] };
    assert.equal(manifest.layers[0]?.digest, pushed.layers[0]?.digest);

    const head = await fetch(`http://${registryHost()}/v2/e2e/hello/blobs/${pushed.layers[0]?.digest}`, {
      method: 'HEAD',
    });
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers.get('content-length')), pushed.layers[0]?.size);

    const craneDigest = execFileSync(toolPath('crane'), [
      'digest',
      '--insecure',
      `${registryHost()}/e2e/hello:v1`,
    ])
      .toString()
      .trim();
    assert.equal(craneDigest, pushed.digest);
  });
});
