// Self-managed webhook certificates: what planCertificates makes and renews,
// and the keeper's loop against an in-memory Secret and configuration.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import {
  CertificateKeeper,
  planCertificates,
  type CertificatePolicy,
  type StoredTls,
  type TlsMaterial,
  type TlsSecretStore,
} from '../../../src/webhook/certificate-keeper.js';
import { coversNames, issuedBy, splitPem } from '../../../src/webhook/certificates.js';

const DAY = 86_400_000;
const policy: CertificatePolicy = {
  names: { dnsNames: ['shipshape-webhook-service.shipshape-system.svc'], ipAddresses: ['127.0.0.1'] },
  caValidityMs: 300 * DAY,
  servingValidityMs: 30 * DAY,
  trustDelayMs: 60_000,
};
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (days: number) => new Date(t0.getTime() + days * DAY);

describe('planCertificates', () => {
  it('creates a CA and a serving certificate for the names, signed by it', async () => {
    const plan = await planCertificates(undefined, policy, t0);
    assert.deepEqual(plan.changes, ['created', 'serving-renewed']);
    const [ca] = splitPem(plan.material.caBundle).map((pem) => new X509Certificate(pem));
    const serving = new X509Certificate(plan.material.cert);
    assert.ok(ca?.ca);
    assert.ok(issuedBy(serving, ca));
    assert.ok(coversNames(serving, policy.names));
    assert.ok(!coversNames(serving, { dnsNames: ['other.svc'], ipAddresses: [] }));
    assert.ok(serving.checkPrivateKey((await import('node:crypto')).createPrivateKey(plan.material.key)));
  });

  it('changes nothing while the certificates are fresh', async () => {
    const first = await planCertificates(undefined, policy, t0);
    const again = await planCertificates(first.material, policy, at(10));
    assert.deepEqual(again.changes, []);
    assert.deepEqual(again.material, first.material);
  });

  it('renews the serving certificate under the same CA with a third of its life left', async () => {
    const first = await planCertificates(undefined, policy, t0);
    const renewed = await planCertificates(first.material, policy, at(21));
    assert.deepEqual(renewed.changes, ['serving-renewed']);
    assert.equal(renewed.material.caBundle, first.material.caBundle);
    assert.notEqual(renewed.material.cert, first.material.cert);
  });

  it('renews the serving certificate when the names change', async () => {
    const first = await planCertificates(undefined, policy, t0);
    const moved = await planCertificates(
      first.material,
      { ...policy, names: { dnsNames: [], ipAddresses: ['127.0.0.2'] } },
      at(1),
    );
    assert.deepEqual(moved.changes, ['serving-renewed']);
    assert.ok(
      coversNames(new X509Certificate(moved.material.cert), { dnsNames: [], ipAddresses: ['127.0.0.2'] }),
    );
  });

  it('rotates a CA by trusting the new one first and signing with it only after the trust delay', async () => {
    const first = await planCertificates(undefined, policy, t0);
    const oldCa = splitPem(first.material.caBundle)[0]!;
    const day = 201; // less than a third of 300 days left
    const added = await planCertificates(first.material, policy, at(day));
    assert.deepEqual(added.changes, ['ca-added', 'serving-renewed']);
    const bundle = splitPem(added.material.caBundle);
    assert.equal(bundle.length, 2);
    assert.equal(bundle[1], oldCa, 'the old CA stays trusted');
    // Whatever serves meanwhile verifies against a CA of the bundle the API server is given.
    const serving = new X509Certificate(added.material.cert);
    assert.ok(bundle.some((pem) => issuedBy(serving, new X509Certificate(pem))));
    const later = await planCertificates(added.material, policy, new Date(at(day).getTime() + 2 * 60_000));
    assert.ok(issuedBy(new X509Certificate(later.material.cert), new X509Certificate(bundle[0]!)));
  });

  it('drops an expired CA from the bundle', async () => {
    const first = await planCertificates(undefined, policy, t0);
    const added = await planCertificates(first.material, policy, at(201));
    const settled = await planCertificates(added.material, policy, at(201.01));
    const pruned = await planCertificates(settled.material, policy, at(301));
    assert.ok(pruned.changes.includes('expired-ca-removed'));
    assert.equal(splitPem(pruned.material.caBundle).length, 1);
  });

  it('repairs a Secret whose CA key does not match its CA', async () => {
    const a = await planCertificates(undefined, policy, t0);
    const b = await planCertificates(undefined, policy, t0);
    const mixed: TlsMaterial = { ...a.material, caKey: b.material.caKey };
    const repaired = await planCertificates(mixed, policy, t0);
    assert.ok(repaired.changes.includes('repaired'));
    const [fresh, old] = splitPem(repaired.material.caBundle).map((pem) => new X509Certificate(pem));
    // The old pair keeps serving (still trusted) until the new CA has been in the bundle long enough.
    assert.ok(issuedBy(new X509Certificate(repaired.material.cert), old!));
    const later = await planCertificates(repaired.material, policy, new Date(t0.getTime() + 5 * 60_000));
    assert.ok(issuedBy(new X509Certificate(later.material.cert), fresh!));
  });
});

class MemorySecret implements TlsSecretStore {
  stored: StoredTls | undefined;
  version = 0;
  writes = 0;
  async read() {
    return this.stored && { ...this.stored };
  }
  async create(material: TlsMaterial) {
    if (this.stored) throw Object.assign(new Error('exists'), { code: 409 });
    this.writes++;
    this.stored = { material, resourceVersion: String(++this.version) };
  }
  async replace(material: TlsMaterial, resourceVersion: string) {
    if (this.stored?.resourceVersion !== resourceVersion)
      throw Object.assign(new Error('conflict'), { code: 409 });
    this.writes++;
    this.stored = { material, resourceVersion: String(++this.version) };
  }
}

describe('CertificateKeeper', () => {
  const keeper = (secrets: TlsSecretStore, now: () => number, served: string[], bundles: string[]) =>
    new CertificateKeeper({
      secrets,
      caBundleTarget: {
        inject: async (bundle) => {
          bundles.push(bundle);
          return true;
        },
      },
      policy,
      clock: { now },
      intervalMs: 1_000_000,
      onCertificate: (pair) => served.push(pair.cert),
      onError: (error) => assert.fail(String(error)),
    });

  it('writes the Secret, injects the bundle and serves, once', async () => {
    const secrets = new MemorySecret();
    const served: string[] = [];
    const bundles: string[] = [];
    const k = keeper(secrets, () => t0.getTime(), served, bundles);
    await k.ensure();
    await k.ensure();
    assert.equal(secrets.writes, 1);
    assert.equal(served.length, 1);
    assert.equal(bundles[0], secrets.stored?.material?.caBundle);
  });

  it('writes a deleted Secret back with the same CA and certificate', async () => {
    const secrets = new MemorySecret();
    const served: string[] = [];
    const k = keeper(secrets, () => t0.getTime(), served, []);
    await k.ensure();
    const before = secrets.stored?.material;
    secrets.stored = undefined;
    await k.ensure();
    assert.deepEqual((secrets.stored as StoredTls | undefined)?.material, before);
    assert.equal(served.length, 1, 'the served certificate did not change');
  });

  it('lets two replicas converge on one Secret', async () => {
    const secrets = new MemorySecret();
    const a: string[] = [];
    const b: string[] = [];
    await Promise.all([
      keeper(secrets, () => t0.getTime(), a, []).ensure(),
      keeper(secrets, () => t0.getTime(), b, []).ensure(),
    ]);
    assert.equal(a.at(-1), secrets.stored?.material?.cert);
    assert.equal(b.at(-1), secrets.stored?.material?.cert);
  });

  it('serves the renewed certificate when it is due', async () => {
    const secrets = new MemorySecret();
    const served: string[] = [];
    let now = t0.getTime();
    const k = keeper(secrets, () => now, served, []);
    await k.ensure();
    now = at(25).getTime();
    await k.ensure();
    assert.equal(served.length, 2);
    assert.equal(served[1], secrets.stored?.material?.cert);
  });
});
