// The /metrics access filter against a fake review API, and the HTTPS
// endpoint it guards against real TLS on loopback. The real API server's
// reviews are proven in test/e2e/metrics-auth.test.ts.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1SubjectAccessReview, V1TokenReview } from '@kubernetes/client-node';
import { Counter, Registry } from 'prom-client';
import { HttpEndpoints } from '../../../src/runtime/http-endpoints.js';
import { bearerToken, MetricsAuthorizer, type AccessReviewApi } from '../../../src/runtime/metrics-auth.js';
import { readServingCertificate, selfSignedCertificate } from '../../../src/runtime/serving-cert.js';

/** Tokens "reader-*" belong to system:serviceaccount:ns:reader, who may get /metrics; "other-*" to one who may not. */
class FakeReviews implements AccessReviewApi {
  tokenReviews: string[] = [];
  accessReviews: V1SubjectAccessReview['spec'][] = [];
  failing = false;
  /** Resolves the pending reviews when called; set to hold reviews open. */
  gate: Promise<void> | undefined;

  async createTokenReview({ body }: { body: V1TokenReview }): Promise<V1TokenReview> {
    const token = body.spec.token ?? '';
    this.tokenReviews.push(token);
    await this.gate;
    if (this.failing) throw Object.assign(new Error(`request failed with ${token}`), { code: 500 });
    const name = /^(reader|other)-/.exec(token)?.[1];
    return {
      spec: body.spec,
      status: name
        ? {
            authenticated: true,
            user: {
              username: `system:serviceaccount:ns:${name}`,
              uid: `uid-${name}`,
              groups: ['system:serviceaccounts', 'system:authenticated'],
            },
          }
        : { authenticated: false, error: 'invalid bearer token' },
    };
  }

  async createSubjectAccessReview({ body }: { body: V1SubjectAccessReview }): Promise<V1SubjectAccessReview> {
    this.accessReviews.push(body.spec);
    const allowed =
      body.spec.user === 'system:serviceaccount:ns:reader' &&
      body.spec.nonResourceAttributes?.path === '/metrics' &&
      body.spec.nonResourceAttributes.verb === 'get';
    return { spec: body.spec, status: { allowed } };
  }
}

describe('metrics access (TokenReview + SubjectAccessReview)', () => {
  it('reads the token from an Authorization: Bearer header and nothing else', () => {
    assert.equal(bearerToken('Bearer abc.def'), 'abc.def');
    assert.equal(bearerToken('bearer abc'), 'abc');
    assert.equal(bearerToken('Basic dXNlcjpwdw=='), undefined);
    assert.equal(bearerToken('Bearer'), undefined);
    assert.equal(bearerToken('Bearer a b'), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });

  it('refuses a request without a token with 401 and asks the API server nothing', async () => {
    const api = new FakeReviews();
    const decision = await new MetricsAuthorizer(api).admit(undefined, '/metrics');
    assert.equal(decision.status, 401);
    assert.deepEqual(api.tokenReviews, []);
  });

  it('refuses a token the TokenReview does not authenticate with 401', async () => {
    const api = new FakeReviews();
    const decision = await new MetricsAuthorizer(api).admit('Bearer forged', '/metrics');
    assert.equal(decision.status, 401);
    assert.deepEqual(api.tokenReviews, ['forged']);
    assert.deepEqual(api.accessReviews, [], 'no SubjectAccessReview for an unknown user');
  });

  it('admits a user allowed get on the non-resource URL /metrics, passing on its uid and groups', async () => {
    const api = new FakeReviews();
    const decision = await new MetricsAuthorizer(api).admit('Bearer reader-1', '/metrics');
    assert.deepEqual(decision, { status: 200, user: 'system:serviceaccount:ns:reader' });
    assert.deepEqual(api.accessReviews, [
      {
        user: 'system:serviceaccount:ns:reader',
        uid: 'uid-reader',
        groups: ['system:serviceaccounts', 'system:authenticated'],
        nonResourceAttributes: { path: '/metrics', verb: 'get' },
      },
    ]);
  });

  it('refuses an authenticated user without the role with 403 naming the user and the role to bind', async () => {
    const decision = await new MetricsAuthorizer(new FakeReviews()).admit('Bearer other-1', '/metrics');
    assert.equal(decision.status, 403);
    assert.match(
      'reason' in decision ? decision.reason : '',
      /system:serviceaccount:ns:other.*metrics-reader/,
    );
  });

  it('reuses a decision within its TTL and reviews again after it', async () => {
    const api = new FakeReviews();
    const authorizer = new MetricsAuthorizer(api, { allowTtlMs: 40, denyTtlMs: 40 });
    await authorizer.admit('Bearer reader-1', '/metrics');
    await authorizer.admit('Bearer reader-1', '/metrics');
    await authorizer.admit('Bearer forged', '/metrics');
    await authorizer.admit('Bearer forged', '/metrics');
    assert.deepEqual(api.tokenReviews, ['reader-1', 'forged']);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await authorizer.admit('Bearer reader-1', '/metrics');
    assert.deepEqual(api.tokenReviews, ['reader-1', 'forged', 'reader-1']);
  });

  it('sends concurrent requests with one token through one review', async () => {
    const api = new FakeReviews();
    const authorizer = new MetricsAuthorizer(api);
    const decisions = await Promise.all(
      Array.from({ length: 5 }, () => authorizer.admit('Bearer reader-1', '/metrics')),
    );
    assert.ok(decisions.every((d) => d.status === 200));
    assert.equal(api.tokenReviews.length, 1);
  });

  it('bounds reviews in flight: a flood of distinct tokens gets 429 beyond the limit', async () => {
    const api = new FakeReviews();
    let open!: () => void;
    api.gate = new Promise((resolve) => (open = resolve));
    const authorizer = new MetricsAuthorizer(api, { maxConcurrentReviews: 3 });
    const flood = Array.from({ length: 10 }, (_, i) => authorizer.admit(`Bearer forged-${i}`, '/metrics'));
    await new Promise((resolve) => setImmediate(resolve));
    open();
    const statuses = (await Promise.all(flood)).map((d) => d.status);
    assert.deepEqual(statuses, [401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
    assert.equal(api.tokenReviews.length, 3);
  });

  it('answers 503 when the API server fails, without the token in the reason, and does not cache it', async () => {
    const api = new FakeReviews();
    api.failing = true;
    const authorizer = new MetricsAuthorizer(api);
    const decision = await authorizer.admit('Bearer reader-secret', '/metrics');
    assert.equal(decision.status, 503);
    const reason = 'reason' in decision ? decision.reason : '';
    assert.match(reason, /HTTP 500/);
    assert.ok(!reason.includes('reader-secret'), reason);
    api.failing = false;
    assert.equal((await authorizer.admit('Bearer reader-secret', '/metrics')).status, 200);
  });

  it('refuses an oversized token without a review', async () => {
    const api = new FakeReviews();
    const decision = await new MetricsAuthorizer(api).admit(`Bearer reader-${'x'.repeat(9000)}`, '/metrics');
    assert.equal(decision.status, 401);
    assert.equal(api.tokenReviews.length, 0);
  });
});

describe('the self-signed metrics serving certificate', () => {
  const { cert, key } = selfSignedCertificate({
    hosts: ['localhost', '127.0.0.1', '::1'],
    now: new Date('2030-01-01T00:00:00Z'),
  });
  const x509 = new X509Certificate(cert);

  it('is a self-signed, non-CA server certificate for the names and addresses given', () => {
    assert.ok(x509.verify(x509.publicKey), 'signature does not verify with its own key');
    assert.equal(x509.ca, false);
    assert.deepEqual(x509.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.equal(x509.checkHost('localhost'), 'localhost');
    assert.equal(x509.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(x509.checkIP('::1'), '::1');
    assert.equal(x509.checkHost('example.invalid'), undefined);
    assert.ok(x509.checkPrivateKey(createPrivateKey(key)));
  });

  it('is valid from an hour before its start for a year', () => {
    assert.equal(new Date(x509.validFrom).toISOString(), '2029-12-31T23:00:00.000Z');
    assert.equal(new Date(x509.validTo).toISOString(), '2031-01-01T00:00:00.000Z');
  });

  it('uses GeneralizedTime past 2049', () => {
    const late = new X509Certificate(
      selfSignedCertificate({ hosts: ['localhost'], now: new Date('2060-06-01T00:00:00Z') }).cert,
    );
    assert.equal(new Date(late.validTo).getUTCFullYear(), 2061);
  });

  it('is read from tls.crt and tls.key in --metrics-cert-dir, and a missing file is named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-metrics-cert-'));
    writeFileSync(join(dir, 'tls.crt'), cert);
    await assert.rejects(readServingCertificate(dir), /tls\.key \(ENOENT\)/);
    writeFileSync(join(dir, 'tls.key'), key);
    assert.deepEqual(await readServingCertificate(dir), { cert, key });
  });
});

describe('the secure metrics endpoint (HTTPS on loopback)', () => {
  const tls = selfSignedCertificate({ hosts: ['127.0.0.1'] });
  let endpoints: HttpEndpoints;
  let port: number;
  let api: FakeReviews;

  beforeEach(async () => {
    const registry = new Registry();
    new Counter({ name: 'shipshape_test_total', help: 'test counter', registers: [registry] }).inc(2);
    api = new FakeReviews();
    endpoints = new HttpEndpoints({ metrics: registry, tls, metricsAccess: new MetricsAuthorizer(api) });
    port = await endpoints.listen('127.0.0.1:0');
  });
  afterEach(() => endpoints.close());

  /** GET over TLS, trusting exactly the endpoint's certificate. */
  function get(
    path: string,
    headers: Record<string, string> = {},
    method = 'GET',
  ): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path, method, headers, ca: tls.cert, agent: false },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('refuses an unauthenticated scrape with 401 and a Bearer challenge', async () => {
    const response = await get('/metrics');
    assert.equal(response.status, 401);
    assert.match(String(response.headers['www-authenticate']), /^Bearer /);
    assert.doesNotMatch(response.body, /shipshape_test_total/);
  });

  it('serves Prometheus text to a reader, 403 to a user without the role', async () => {
    const admitted = await get('/metrics', { Authorization: 'Bearer reader-1' });
    assert.equal(admitted.status, 200);
    assert.match(admitted.body, /^shipshape_test_total 2$/m);
    const refused = await get('/metrics', { Authorization: 'Bearer other-1' });
    assert.equal(refused.status, 403);
    assert.doesNotMatch(refused.body, /shipshape_test_total/);
  });

  it('allows only GET on /metrics and reviews nothing for other paths', async () => {
    assert.equal((await get('/metrics', { Authorization: 'Bearer reader-1' }, 'POST')).status, 405);
    assert.equal((await get('/anything', { Authorization: 'Bearer reader-1' })).status, 404);
    assert.equal(api.tokenReviews.length, 0);
  });

  it('does not speak plain HTTP', async () => {
    await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`));
  });
});
