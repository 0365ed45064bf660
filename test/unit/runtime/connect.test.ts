// shareConnections: API calls of one KubeConfig reuse TLS connections instead of
// opening one per call (client-node 2.0.1 builds a new undici Agent per request).
import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { shareConnections } from '../../../src/runtime/connect.js';
import { selfSignedCertificate } from '../../../src/runtime/serving-cert.js';

describe('shareConnections', () => {
  let server: Server;
  let connections = 0;
  let url = '';
  let ca = '';

  before(async () => {
    const certificate = selfSignedCertificate({ hosts: ['127.0.0.1'] });
    ca = certificate.cert;
    server = createServer({ cert: certificate.cert, key: certificate.key }, (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ major: '1', minor: '37', gitVersion: 'v1.37.2' }));
    });
    server.on('secureConnection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const kubeConfig = () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: url, caData: Buffer.from(ca).toString('base64') }],
      users: [{ name: 'u', token: 'not-a-secret' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  };

  const calls = async (kc: KubeConfig, n: number) => {
    const api = kc.makeApiClient(VersionApi);
    for (let i = 0; i < n; i++) assert.equal((await api.getCode()).gitVersion, 'v1.37.2');
  };

  it('reuses its connections across twenty sequential calls', async () => {
    connections = 0;
    await calls(shareConnections(kubeConfig()), 20);
    // The second call may start before undici has the first socket back in the pool.
    assert.ok(connections <= 2, `${connections} connections`);
  });

  it('is needed: without it, client-node opens a connection per call', async () => {
    connections = 0;
    await calls(kubeConfig(), 10);
    // If a client-node upgrade fixes this, the wrapper can go: this test says so.
    assert.equal(connections, 10);
  });
});
