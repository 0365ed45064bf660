// The admission HTTPS server on loopback: answers reviews with the request's
// uid, refuses what is not a review, bounds the body, and swaps its serving
// certificate without failing a request.
import assert from 'node:assert/strict';
import { connect as http2Connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { planCertificates } from '../../../src/webhook/certificate-keeper.js';
import type { AdmissionDecision } from '../../../src/webhook/decision.js';
import {
  AdmissionServer,
  CONNECTION_WINDOW_BYTES,
  STREAM_WINDOW_BYTES,
} from '../../../src/webhook/server.js';
import { splitPem } from '../../../src/webhook/certificates.js';

const names = { dnsNames: [], ipAddresses: ['127.0.0.1'] };
const policy = { names, caValidityMs: 86_400_000, servingValidityMs: 3_600_000, trustDelayMs: 0 };

function post(
  port: number,
  ca: string,
  body: string,
  path = '/validate',
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        ca,
        headers: { 'Content-Type': 'application/json' },
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const review = (uid: string) =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid, kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'x' },
  });

describe('admission server', () => {
  let server: AdmissionServer;
  let port: number;
  let ca: string;
  let material: Awaited<ReturnType<typeof planCertificates>>['material'];
  const answered: string[] = [];

  before(async () => {
    material = (await planCertificates(undefined, policy, new Date())).material;
    ca = splitPem(material.caBundle)[0]!;
    server = new AdmissionServer({
      review: async (request): Promise<AdmissionDecision> => ({
        response: { uid: request.uid, allowed: request.uid !== 'deny-me' },
        result: request.uid === 'deny-me' ? 'denied' : 'allowed',
        findings: [],
        unknownImages: [],
      }),
      observer: { answered: (r, d) => answered.push(`${r.uid}:${d.result}`), failed: () => undefined },
      maxBodyBytes: 64 * 1024,
    });
    server.setCertificate({ cert: material.cert, key: material.key });
    port = await server.listen('127.0.0.1:0');
  });

  after(() => server.close());

  it('speaks HTTP/2 (what the API server multiplexes reviews over), many reviews on one connection', async () => {
    const session = http2Connect(`https://127.0.0.1:${port}`, { ca });
    try {
      const one = (uid: string) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const stream = session.request({
            ':method': 'POST',
            ':path': '/validate',
            'content-type': 'application/json',
          });
          let status = 0;
          let text = '';
          stream.on('response', (headers) => (status = Number(headers[':status'])));
          stream.on('data', (c: Buffer) => (text += c.toString()));
          stream.on('end', () => resolve({ status, text }));
          stream.on('error', reject);
          stream.end(review(uid));
        });
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => one(`h2-${i}`)));
      assert.equal(session.alpnProtocol, 'h2');
      for (const [i, a] of answers.entries()) {
        assert.equal(a.status, 200);
        assert.equal((JSON.parse(a.text) as { response: { uid: string } }).response.uid, `h2-${i}`);
      }
    } finally {
      session.close();
    }
  });

  it('grants HTTP/2 flow-control windows that let a burst of reviews arrive at once', async () => {
    const session = http2Connect(`https://127.0.0.1:${port}`, { ca });
    try {
      await new Promise((resolve) => session.once('remoteSettings', resolve));
      // The connection's WINDOW_UPDATE follows the settings; a ping's answer comes after it.
      await new Promise<void>((resolve, reject) =>
        session.ping((error) => (error ? reject(error) : resolve())),
      );
      assert.equal(session.remoteSettings.initialWindowSize, STREAM_WINDOW_BYTES);
      assert.equal(session.state.remoteWindowSize, CONNECTION_WINDOW_BYTES);
      // 40 reviews of 60 KiB each (the test server's limit is 64 KiB): 37 times HTTP/2's default connection window.
      const padded = (uid: string) =>
        JSON.stringify({ ...(JSON.parse(review(uid)) as object), padding: 'x'.repeat(60 * 1024) });
      const statuses = await Promise.all(
        Array.from(
          { length: 40 },
          (_, i) =>
            new Promise<number>((resolve, reject) => {
              const stream = session.request({ ':method': 'POST', ':path': '/validate' });
              let status = 0;
              stream.on('response', (headers) => (status = Number(headers[':status'])));
              stream.resume();
              stream.on('end', () => resolve(status));
              stream.on('error', reject);
              stream.end(padded(`burst-${i}`));
            }),
        ),
      );
      assert.deepEqual(new Set(statuses), new Set([200]));
    } finally {
      session.close();
    }
  });

  it('answers an AdmissionReview with the request uid', async () => {
    const res = await post(port, ca, review('deny-me'));
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'deny-me', allowed: false },
    });
    assert.ok(answered.includes('deny-me:denied'));
  });

  it('refuses bodies that are not reviews, other paths, and oversized bodies', async () => {
    assert.equal((await post(port, ca, '{nope')).status, 400);
    assert.match((await post(port, ca, '{"kind":"Pod"}')).text, /AdmissionReview/);
    assert.equal((await post(port, ca, review('a'), '/mutate')).status, 404);
    assert.equal((await post(port, ca, 'x'.repeat(65 * 1024))).status, 413);
  });

  it('serves a new certificate for new connections without failing one request', async () => {
    // A new name forces a new serving certificate now, under the same CA.
    const wider = { ...policy, names: { dnsNames: ['webhook.example.svc'], ipAddresses: ['127.0.0.1'] } };
    const renewed = (await planCertificates(material, wider, new Date())).material;
    assert.equal(renewed.caBundle, material.caBundle);
    assert.notEqual(renewed.cert, material.cert);
    const results = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        if (i === 30) server.setCertificate({ cert: renewed.cert, key: renewed.key });
        return (await post(port, ca, review(`r${i}`))).status;
      }),
    );
    assert.deepEqual(new Set(results), new Set([200]));
  });
});
