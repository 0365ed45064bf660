import assert from 'node:assert/strict';
import { Registry, Counter } from 'prom-client';
import { HttpEndpoints, Readiness, parseBindAddress } from '../../../src/runtime/http-endpoints.js';

describe('operator HTTP endpoints', () => {
  it('parses bind addresses like controller-runtime flags', () => {
    assert.deepEqual(parseBindAddress(':8080'), { host: undefined, port: 8080 });
    assert.deepEqual(parseBindAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseBindAddress('[::1]:9443'), { host: '::1', port: 9443 });
    assert.throws(() => parseBindAddress('8080'), /host:port/);
    assert.throws(() => parseBindAddress(':99999'), /invalid port/);
  });

  it('is not ready until every required check is set, and names the pending ones', () => {
    const readiness = new Readiness();
    readiness.require('apiserver');
    readiness.require('caches');
    assert.deepEqual(readiness.notReady(), ['apiserver', 'caches']);
    readiness.set('apiserver', true);
    assert.deepEqual(readiness.notReady(), ['caches']);
    readiness.set('caches', true);
    assert.deepEqual(readiness.notReady(), []);
  });

  it('serves /readyz as 503 then 200, /healthz, /metrics in Prometheus text, and 404 elsewhere', async () => {
    const metrics = new Registry();
    new Counter({ name: 'shipshape_test_total', help: 'test counter', registers: [metrics] }).inc(3);
    const readiness = new Readiness();
    readiness.require('apiserver');
    const endpoints = new HttpEndpoints({ metrics, readiness });
    const port = await endpoints.listen('127.0.0.1:0');
    try {
      const base = `http://127.0.0.1:${port}`;
      const notReady = await fetch(`${base}/readyz`);
      assert.equal(notReady.status, 503);
      assert.equal(await notReady.text(), 'not ready: apiserver');
      readiness.set('apiserver', true);
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const text = await (await fetch(`${base}/metrics`)).text();
      assert.match(text, /^shipshape_test_total 3$/m);
      assert.equal((await fetch(`${base}/nope`)).status, 404);
    } finally {
      await endpoints.close();
    }
  });
});
