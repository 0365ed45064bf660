// The kubeconfig loader's connection reuse, against a loopback HTTPS server that
// counts TLS connections: API calls share kept-alive connections instead of a
// handshake each.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { checkConnection, loadKubeConfig } from '../../../src/runtime/connect.js';
import { selfSignedCertificate } from '../../../src/runtime/serving-cert.js';

const VERSION = {
  major: '1',
  minor: '37',
  gitVersion: 'v1.37.0',
  gitCommit: 'abc',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.26',
  compiler: 'gc',
  platform: 'linux/amd64',
};

describe('kubeconfig connections', () => {
  let server: Server;
  let connections = 0;
  let dir: string;
  let path: string;

  before(async () => {
    const { cert, key } = selfSignedCertificate({ hosts: ['127.0.0.1'] });
    server = createServer({ cert, key }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(VERSION));
    });
    server.on('secureConnection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    dir = mkdtempSync(join(tmpdir(), 'shipshape-test-kubeconfig-'));
    path = join(dir, 'kubeconfig');
    writeFileSync(
      path,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'c',
            cluster: {
              server: `https://127.0.0.1:${port}`,
              'certificate-authority-data': Buffer.from(cert).toString('base64'),
            },
          },
        ],
        users: [{ name: 'u', user: { token: 'not-a-secret' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes ten API calls over kept-alive connections, not ten handshakes', async () => {
    connections = 0;
    const kc = loadKubeConfig(path);
    for (let i = 0; i < 10; i++) assert.equal(await checkConnection(kc), 'v1.37.0');
    // A call that starts the moment the previous one resolved can find its connection
    // not yet back in the pool and open a second one; after that both are reused.
    assert.ok(connections <= 2, `${connections} TLS connections for 10 calls`);
  });

  it("(control: the library alone opens one per call, so the count above is the loader's doing)", async () => {
    connections = 0;
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    for (let i = 0; i < 3; i++) await checkConnection(kc);
    assert.equal(connections, 3);
  });
});
