// shareConnections: API calls of one KubeConfig reuse TLS connections instead of
// opening one per call (client-node 2.0.1 builds a new undici Agent per request),
// against a loopback HTTPS server that counts TLS connections.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { loadKubeConfig, poolKey, shareConnections } from '../../../src/runtime/connect.js';
import { selfSignedCertificate } from '../../../src/runtime/serving-cert.js';

describe('shareConnections', () => {
  let server: Server;
  let connections = 0;
  let url = '';
  let ca = '';
  let dir = '';

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
    dir = mkdtempSync(join(tmpdir(), 'shipshape-test-kubeconfig-'));
  });
  after(() => {
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const options = () => ({
    clusters: [{ name: 'c', server: url, caData: Buffer.from(ca).toString('base64') }],
    users: [{ name: 'u', token: 'not-a-secret' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });

  const kubeConfig = () => {
    const kc = new KubeConfig();
    kc.loadFromOptions(options());
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

  it('is what loadKubeConfig returns: a kubeconfig file read by the operator shares its connections', async () => {
    const path = join(dir, 'kubeconfig');
    writeFileSync(path, kubeConfig().exportConfig());
    connections = 0;
    await calls(loadKubeConfig(path), 10);
    assert.ok(connections <= 2, `${connections} TLS connections for 10 calls`);
  });

  it('keys its pools without turning the TLS material into JSON on every call', async () => {
    // JSON.stringify of the options ran Buffer.toJSON over the CA bundle per API call.
    const toJSON = Object.getOwnPropertyDescriptor(Buffer.prototype, 'toJSON')!;
    let conversions = 0;
    Object.defineProperty(Buffer.prototype, 'toJSON', {
      ...toJSON,
      value(this: Buffer) {
        conversions++;
        return (toJSON.value as (this: Buffer) => unknown).call(this);
      },
    });
    try {
      await calls(shareConnections(kubeConfig()), 5);
    } finally {
      Object.defineProperty(Buffer.prototype, 'toJSON', toJSON);
    }
    assert.equal(conversions, 0);
  });

  it('gives other TLS material, or another server, another pool', () => {
    const options = { ca: Buffer.from('ca-1'), cert: Buffer.from('cert'), rejectUnauthorized: true };
    const key = poolKey(url, options);
    assert.equal(poolKey(url, { ...options, ca: Buffer.from('ca-1') }), key);
    assert.notEqual(poolKey(url, { ...options, ca: Buffer.from('ca-2') }), key);
    assert.notEqual(poolKey(url, { ...options, ca: 'ca-1' }), key);
    assert.notEqual(poolKey(url, { ...options, cert: undefined }), key);
    assert.notEqual(poolKey(url, { ...options, rejectUnauthorized: false }), key);
    assert.notEqual(poolKey(`${url}0`, options), key);
  });

  it('is needed: without it, client-node opens a connection per call', async () => {
    connections = 0;
    await calls(kubeConfig(), 10);
    // If a client-node upgrade fixes this, the wrapper can go: this test says so.
    assert.equal(connections, 10);
  });
});
