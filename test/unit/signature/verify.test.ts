// Signature verdicts from in-process signatures: cosign classic layers and sigstore bundles made
// with node:crypto keys, a test Fulcio chain and a @sigstore/mock transparency log, discovered
// through an in-memory registry.
import assert from 'node:assert/strict';

import { RegistryError } from '../../../src/registry/errors.js';
import type {
  AttestorSpec,
  KeyAttestorSpec,
  KeylessAttestorSpec,
  SignatureRule,
  SignatureVerdict,
  TrustMaterialRef,
} from '../../../src/signature/index.js';
import { SignatureVerifier, parseTrustedRoot } from '../../../src/signature/index.js';
import {
  classicLayer,
  dsseBundle,
  generateKey,
  inTotoStatement,
  makeFulcio,
  makeLog,
  makeTsa,
  signBytes,
  simpleSigningPayload,
  trustedRootJson,
  type KeyKind,
  type TestFulcio,
  type TestKey,
  type TestLog,
} from '../../support/signing.js';
import { MemoryRegistry } from './memory-registry.js';

const IMAGE = { registry: 'registry.test', repository: 'team/app' };
const REF = 'registry.test/team/app';
const ROOT_REF: TrustMaterialRef = {
  kind: 'ConfigMap',
  namespace: 'shipshape-system',
  name: 'trust',
  key: 'trusted_root.json',
};

function keyAttestor(name: string, key: TestKey, extra: Partial<KeyAttestorSpec> = {}): KeyAttestorSpec {
  return { kind: 'key', name, publicKey: key.publicPem, transparencyLog: { threshold: 0 }, ...extra };
}

function verifierFor(
  registry: MemoryRegistry,
  material: Record<string, string> = {},
  now?: () => number,
): SignatureVerifier {
  return new SignatureVerifier({
    registry,
    trustMaterial: { read: (ref) => Promise.resolve(material[`${ref.kind}/${ref.name}/${ref.key}`]) },
    ...(now === undefined ? {} : { now }),
  });
}

async function verdictOf(
  registry: MemoryRegistry,
  digest: string,
  rule: SignatureRule,
  material?: Record<string, string>,
): Promise<SignatureVerdict> {
  return verifierFor(registry, material).verify(IMAGE, digest, rule);
}

function assertInvalid(v: SignatureVerdict, reason: string, text: RegExp): void {
  assert.equal(v.status, 'Invalid', v.message);
  if (v.status !== 'Invalid') return;
  assert.equal(v.reason, reason, v.message);
  assert.match(v.message, text);
}

describe('signature verification: key-based, cosign classic layout', () => {
  for (const api of [false, true]) {
    it(`asks a registry ${api ? 'with' : 'without'} the referrers API ${api ? 'for each image' : 'once'} in a burst of first-seen images`, async () => {
      const registry = new MemoryRegistry(api);
      const key = generateKey('p256');
      const images = Array.from({ length: 12 }, (_, i) => registry.putImage(`burst-${i}`));
      for (const image of images) {
        registry.putClassic(image.digest, [classicLayer(key, simpleSigningPayload(REF, image.digest))]);
      }
      const verifier = verifierFor(registry);
      const verdicts = await Promise.all(
        images.map((image) =>
          verifier.verify(IMAGE, image.digest, { attestors: [keyAttestor('team', key)] }),
        ),
      );
      assert.deepEqual(
        verdicts.map((v) => v.status),
        images.map(() => 'Verified'),
      );
      assert.equal(registry.referrersCalls, api ? images.length : 1);
    });
  }

  const kinds: KeyKind[] = ['p256', 'p384', 'rsa', 'ed25519'];
  for (const kind of kinds) {
    it(`verifies a ${kind} signature whose payload names the image digest`, async () => {
      const registry = new MemoryRegistry(false);
      const key = generateKey(kind);
      const image = registry.putImage(kind);
      registry.putClassic(image.digest, [classicLayer(key, simpleSigningPayload(REF, image.digest))]);
      const v = await verdictOf(registry, image.digest, { attestors: [keyAttestor('team', key)] });
      assert.deepEqual(v, { status: 'Verified', attestors: ['team'], message: 'signed by team' });
    });
  }

  it('calls an image without any signature artifact Unsigned, naming where it looked', async () => {
    const registry = new MemoryRegistry(false);
    const image = registry.putImage('plain');
    const v = await verdictOf(registry, image.digest, { attestors: [keyAttestor('team', generateKey())] });
    assert.equal(v.status, 'Unsigned');
    assert.match(v.message, /referrers-tag, cosign-tag/);
  });

  it('refuses a signature by another key', async () => {
    const registry = new MemoryRegistry(false);
    const image = registry.putImage('other');
    registry.putClassic(image.digest, [classicLayer(generateKey(), simpleSigningPayload(REF, image.digest))]);
    const v = await verdictOf(registry, image.digest, { attestors: [keyAttestor('team', generateKey())] });
    assertInvalid(v, 'WrongKey', /does not verify with attestor team's ECDSA P-256 key/);
  });

  it('refuses a payload that names another digest, saying which', async () => {
    const registry = new MemoryRegistry(false);
    const key = generateKey();
    const image = registry.putImage('a');
    const other = registry.putImage('b');
    registry.putClassic(image.digest, [classicLayer(key, simpleSigningPayload(REF, other.digest))]);
    const v = await verdictOf(registry, image.digest, { attestors: [keyAttestor('team', key)] });
    assertInvalid(
      v,
      'DigestMismatch',
      new RegExp(`payload names image ${other.digest}, not ${image.digest}`),
    );
  });

  it('refuses a tampered signature and a tampered payload', async () => {
    const key = generateKey();
    for (const tamper of ['signature', 'payload'] as const) {
      const registry = new MemoryRegistry(false);
      const image = registry.putImage(tamper);
      const layer = classicLayer(key, simpleSigningPayload(REF, image.digest));
      if (tamper === 'signature') {
        const sig = Buffer.from(layer.annotations['dev.cosignproject.cosign/signature'] ?? '', 'base64');
        sig[sig.length - 3] = (sig[sig.length - 3] ?? 0) ^ 0x01;
        layer.annotations['dev.cosignproject.cosign/signature'] = sig.toString('base64');
      } else {
        layer.payload = simpleSigningPayload(REF, image.digest, { tampered: 'yes' });
      }
      registry.putClassic(image.digest, [layer]);
      const v = await verdictOf(registry, image.digest, { attestors: [keyAttestor('team', key)] });
      assertInvalid(v, 'WrongKey', /the signature or its payload was altered/);
    }
  });

  it('never accepts a bare public key placed in the certificate annotation (GHSA-fx35-mq7g-6g98)', async () => {
    const registry = new MemoryRegistry(false);
    const key = generateKey();
    const image = registry.putImage('ghsa');
    registry.putClassic(image.digest, [
      classicLayer(key, simpleSigningPayload(REF, image.digest), { certificatePem: key.publicPem }),
    ]);
    const v = await verdictOf(registry, image.digest, { attestors: [keyAttestor('team', key)] });
    assertInvalid(v, 'CertificateInvalid', /bare public key, not a certificate/);
  });

  it('requires a log entry unless the attestor opts out, and verifies one against the trusted root', async () => {
    const key = generateKey();
    const log = await makeLog(new Date());
    const material = { [`ConfigMap/trust/trusted_root.json`]: trustedRootJson(undefined, log) };
    const strict = keyAttestor('team', key, { transparencyLog: { threshold: 1 }, trustedRootRef: ROOT_REF });

    const registry = new MemoryRegistry(false);
    const image = registry.putImage('log');
    const payload = simpleSigningPayload(REF, image.digest);
    registry.putClassic(image.digest, [classicLayer(key, payload)]);
    assertInvalid(
      await verdictOf(registry, image.digest, { attestors: [strict] }, material),
      'TransparencyLogMissing',
      /no transparency-log entry/,
    );

    const logged = new MemoryRegistry(false);
    const image2 = logged.putImage('log2');
    const payload2 = simpleSigningPayload(REF, image2.digest);
    const layer = classicLayer(key, payload2);
    const sig = Buffer.from(layer.annotations['dev.cosignproject.cosign/signature'] ?? '', 'base64');
    layer.annotations['dev.sigstore.cosign/bundle'] = (
      await log.hashedRekord(payload2, sig, key.publicPem)
    ).classicAnnotation;
    logged.putClassic(image2.digest, [layer]);
    const v = await verdictOf(logged, image2.digest, { attestors: [strict] }, material);
    assert.equal(v.status, 'Verified', v.message);

    // The same SET under a log key the trusted root does not list.
    const otherRoot = {
      [`ConfigMap/trust/trusted_root.json`]: trustedRootJson(undefined, await makeLog(new Date())),
    };
    assertInvalid(
      await verdictOf(logged, image2.digest, { attestors: [strict] }, otherRoot),
      'TransparencyLogInvalid',
      /inclusion promise/,
    );
  });
});

describe('signature verification: sigstore bundles (cosign v3 layout)', () => {
  for (const api of [true, false]) {
    const path = api ? 'the referrers API' : 'the referrers tag fallback';
    it(`verifies a DSSE in-toto bundle found through ${path}`, async () => {
      const registry = new MemoryRegistry(api);
      const key = generateKey();
      const image = registry.putImage(`bundle-${api}`);
      registry.putBundle(image, dsseBundle(key, inTotoStatement(image.digest)));
      const v = await verdictOf(registry, image.digest, { attestors: [keyAttestor('team', key)] });
      assert.equal(v.status, 'Verified', v.message);
    });
  }

  it('refuses a bundle whose in-toto subject names another digest', async () => {
    const registry = new MemoryRegistry(true);
    const key = generateKey();
    const image = registry.putImage('subject');
    const other = registry.putImage('other');
    registry.putBundle(image, dsseBundle(key, inTotoStatement(other.digest)));
    const v = await verdictOf(registry, image.digest, { attestors: [keyAttestor('team', key)] });
    assertInvalid(
      v,
      'SubjectMismatch',
      new RegExp(`subject is ${other.digest}, not the image ${image.digest}`),
    );
  });

  it('names the other key when a bundle was signed by one', async () => {
    const registry = new MemoryRegistry(true);
    const signer = generateKey();
    const image = registry.putImage('otherkey');
    registry.putBundle(image, dsseBundle(signer, inTotoStatement(image.digest)));
    const v = await verdictOf(registry, image.digest, { attestors: [keyAttestor('team', generateKey())] });
    assertInvalid(
      v,
      'WrongKey',
      new RegExp(`signed with another key \\(key id ${signer.keyId.replace(/[+/]/g, '.')}\\)`),
    );
  });

  it('refuses a bundle with a tampered statement', async () => {
    const registry = new MemoryRegistry(true);
    const key = generateKey();
    const image = registry.putImage('tamper');
    const bundle = dsseBundle(key, inTotoStatement(image.digest));
    const env = bundle['dsseEnvelope'] as { payload: string };
    env.payload = inTotoStatement(image.digest, undefined, {}, { added: 'later' }).toString('base64');
    registry.putBundle(image, bundle);
    const v = await verdictOf(registry, image.digest, { attestors: [keyAttestor('team', key)] });
    assertInvalid(v, 'WrongKey', /does not verify/);
  });

  it('does not read a referrer as a signature because its index entry says so', async () => {
    const registry = new MemoryRegistry(true);
    const key = generateKey();
    const image = registry.putImage('liar');
    // A referrer that is not a bundle at all: the manifest, not the index, decides.
    registry.putManifest({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/spdx+json',
      config: { ...registry.putBlob(Buffer.from('{}')), mediaType: 'application/vnd.oci.empty.v1+json' },
      layers: [{ ...registry.putBlob(Buffer.from('{}')), mediaType: 'application/spdx+json' }],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...image },
    });
    const v = await verdictOf(registry, image.digest, { attestors: [keyAttestor('team', key)] });
    assert.equal(v.status, 'Unsigned', v.message);
  });

  it('reads at most 16 referrers however many an image has', async () => {
    const registry = new MemoryRegistry(true);
    const key = generateKey();
    const image = registry.putImage('flood');
    for (let i = 0; i < 40; i++)
      registry.putBundle(image, dsseBundle(generateKey(), inTotoStatement(image.digest)));
    registry.calls = 0;
    const v = await verdictOf(registry, image.digest, { attestors: [keyAttestor('team', key)] });
    assertInvalid(v, 'WrongKey', /only the first 16 were read/);
    assert.ok(registry.calls <= 1 + 16 * 2 + 1, `${registry.calls} registry calls`);
  });
});

describe('signature verification: keyless (Fulcio certificate, transparency log)', () => {
  const now = new Date();
  const hourAgo = new Date(now.getTime() - 3600_000);
  let fulcio: TestFulcio;
  let log: TestLog;
  let material: Record<string, string>;
  const ISSUER = 'https://issuer.test.invalid';
  const keyless = (extra: Partial<KeylessAttestorSpec> = {}): KeylessAttestorSpec => ({
    kind: 'keyless',
    name: 'ci',
    trustedRootRef: ROOT_REF,
    issuer: { exact: ISSUER },
    subject: { exact: 'builder@example.test' },
    ...extra,
  });

  before(async () => {
    fulcio = await makeFulcio(new Date(now.getTime() - 86400_000), new Date(now.getTime() + 86400_000));
    log = await makeLog(now);
    material = { [`ConfigMap/trust/trusted_root.json`]: trustedRootJson(fulcio, log) };
  });

  async function classicKeyless(
    leafOptions: Partial<Parameters<TestFulcio['issue']>[1]> = {},
    withLog = true,
  ): Promise<{ registry: MemoryRegistry; digest: string }> {
    const registry = new MemoryRegistry(false);
    const image = registry.putImage(`keyless-${Math.random()}`);
    const key = generateKey();
    const leaf = await fulcio.issue(key, {
      issuer: ISSUER,
      email: 'builder@example.test',
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + 600_000),
      ...leafOptions,
    });
    const payload = simpleSigningPayload(REF, image.digest);
    const signature = signBytes(key, payload);
    const annotations: Record<string, string> = {
      'dev.cosignproject.cosign/signature': signature.toString('base64'),
      'dev.sigstore.cosign/certificate': leaf.pem,
    };
    if (withLog)
      annotations['dev.sigstore.cosign/bundle'] = (
        await log.hashedRekord(payload, signature, leaf.pem)
      ).classicAnnotation;
    registry.putClassic(image.digest, [{ payload, annotations }]);
    return { registry, digest: image.digest };
  }

  it('verifies a classic keyless signature: chain, SET, issuer and email subject', async () => {
    const { registry, digest } = await classicKeyless();
    const v = await verdictOf(registry, digest, { attestors: [keyless()] }, material);
    assert.equal(v.status, 'Verified', v.message);
  });

  it('verifies a keyless bundle with SET and inclusion proof, URI subject by RE2 pattern', async () => {
    const registry = new MemoryRegistry(true);
    const image = registry.putImage('keyless-bundle');
    const key = generateKey();
    const uri = 'https://git.example.test/team/app/.ci/release.yml@refs/heads/main';
    const leaf = await fulcio.issue(key, {
      issuer: ISSUER,
      uri,
      notBefore: hourAgo,
      notAfter: new Date(now.getTime() + 600_000),
    });
    const bundle = dsseBundle(key, inTotoStatement(image.digest), { certificateDer: leaf.der });
    const entry = await log.dsse(bundle, leaf.pem);
    (bundle['verificationMaterial'] as { tlogEntries: unknown[] }).tlogEntries = [entry.bundleEntry];
    registry.putBundle(image, bundle);
    const v = await verdictOf(
      registry,
      image.digest,
      {
        attestors: [keyless({ subject: { regExp: 'https://git\\.example\\.test/team/.+@refs/heads/main' } })],
      },
      material,
    );
    assert.equal(v.status, 'Verified', v.message);
  });

  it('refuses the wrong issuer and the wrong subject, saying which', async () => {
    const { registry, digest } = await classicKeyless();
    assertInvalid(
      await verdictOf(
        registry,
        digest,
        { attestors: [keyless({ issuer: { exact: 'https://other.test.invalid' } })] },
        material,
      ),
      'IdentityMismatch',
      /certificate issuer "https:\/\/issuer.test.invalid" does not match "https:\/\/other.test.invalid"/,
    );
    assertInvalid(
      await verdictOf(
        registry,
        digest,
        { attestors: [keyless({ subject: { regExp: '.*@corp\\.test' } })] },
        material,
      ),
      'IdentityMismatch',
      /certificate subject "builder@example.test" does not match/,
    );
  });

  it('refuses a leaf that had expired at the log time', async () => {
    const { registry, digest } = await classicKeyless({
      notBefore: hourAgo,
      notAfter: new Date(now.getTime() - 1800_000),
    });
    assertInvalid(
      await verdictOf(registry, digest, { attestors: [keyless()] }, material),
      'CertificateInvalid',
      /expired/,
    );
  });

  it('refuses a keyless signature without a SET when the log is required, and names the missing time when skipped', async () => {
    const { registry, digest } = await classicKeyless({}, false);
    assertInvalid(
      await verdictOf(registry, digest, { attestors: [keyless()] }, material),
      'TransparencyLogMissing',
      /no transparency-log entry/,
    );
    assertInvalid(
      await verdictOf(
        registry,
        digest,
        { attestors: [keyless({ transparencyLog: { threshold: 0 } })] },
        material,
      ),
      'TimestampMissing',
      /no trusted time/,
    );
  });

  it('checks the certificate at an RFC 3161 timestamp when the log is skipped', async () => {
    const tsa = await makeTsa();
    const withTsa = { [`ConfigMap/trust/trusted_root.json`]: trustedRootJson(fulcio, log, tsa) };
    const skipLog = keyless({ transparencyLog: { threshold: 0 } });
    for (const [expiredAtTsa, expected] of [
      [false, 'Verified'],
      [true, 'Invalid'],
    ] as const) {
      const registry = new MemoryRegistry(false);
      const image = registry.putImage(`tsa-${expiredAtTsa}`);
      const key = generateKey();
      const leaf = await fulcio.issue(key, {
        issuer: ISSUER,
        email: 'builder@example.test',
        notBefore: hourAgo,
        notAfter: expiredAtTsa ? new Date(now.getTime() - 60_000) : new Date(now.getTime() + 600_000),
      });
      const payload = simpleSigningPayload(REF, image.digest);
      const signature = signBytes(key, payload);
      registry.putClassic(image.digest, [
        {
          payload,
          annotations: {
            'dev.cosignproject.cosign/signature': signature.toString('base64'),
            'dev.sigstore.cosign/certificate': leaf.pem,
            'dev.sigstore.cosign/rfc3161timestamp': await tsa.timestampAnnotation(signature),
          },
        },
      ]);
      const v = await verdictOf(registry, image.digest, { attestors: [skipLog] }, withTsa);
      assert.equal(v.status, expected, v.message);
      if (expiredAtTsa) assertInvalid(v, 'CertificateInvalid', /expired/);
    }
  });

  it('refuses a certificate from another CA and a leaf without the code-signing usage', async () => {
    const { registry, digest } = await classicKeyless();
    const strange = {
      [`ConfigMap/trust/trusted_root.json`]: trustedRootJson(
        await makeFulcio(hourAgo, new Date(now.getTime() + 86400_000)),
        log,
      ),
    };
    assertInvalid(
      await verdictOf(registry, digest, { attestors: [keyless()] }, strange),
      'CertificateInvalid',
      /does not chain to the trusted root/,
    );
    const noEku = await classicKeyless({ noCodeSigning: true });
    assertInvalid(
      await verdictOf(noEku.registry, noEku.digest, { attestors: [keyless()] }, material),
      'CertificateInvalid',
      /code-signing/,
    );
  });

  it('does not accept a key-signed image for a keyless attestor', async () => {
    const registry = new MemoryRegistry(false);
    const image = registry.putImage('keyed');
    registry.putClassic(image.digest, [classicLayer(generateKey(), simpleSigningPayload(REF, image.digest))]);
    assertInvalid(
      await verdictOf(
        registry,
        image.digest,
        { attestors: [keyless({ transparencyLog: { threshold: 0 } })] },
        material,
      ),
      'WrongKey',
      /signed with a key, but attestor ci is keyless/,
    );
  });
});

describe('signature rules: N of M, annotations, attestations', () => {
  const [a, b, c] = [generateKey(), generateKey(), generateKey()];
  const attestors: AttestorSpec[] = [keyAttestor('a', a), keyAttestor('b', b), keyAttestor('c', c)];

  function signedBy(
    keys: TestKey[],
    annotations?: Record<string, string>,
  ): { registry: MemoryRegistry; digest: string } {
    const registry = new MemoryRegistry(false);
    const image = registry.putImage(`nofm-${Math.random()}`);
    registry.putClassic(
      image.digest,
      keys.map((k) => classicLayer(k, simpleSigningPayload(REF, image.digest, annotations))),
    );
    return { registry, digest: image.digest };
  }

  it('counts distinct attestors toward N of M', async () => {
    const two = signedBy([a, c]);
    const v = await verdictOf(two.registry, two.digest, { attestors, count: 2 });
    assert.deepEqual(v.status === 'Verified' ? v.attestors : v.message, ['a', 'c']);
    const one = signedBy([b]);
    assertInvalid(
      await verdictOf(one.registry, one.digest, { attestors, count: 2 }),
      'ThresholdNotMet',
      /2 of 3 attestors must sign; only b did/,
    );
  });

  it('never counts the same signature twice, even for two attestors with the same key or a copied layer', async () => {
    const twins: AttestorSpec[] = [keyAttestor('a', a), keyAttestor('a-again', a)];
    const one = signedBy([a, a]);
    // Two layers with one signature each, but ECDSA signatures differ per signing: copy the layer instead.
    const registry = new MemoryRegistry(false);
    const image = registry.putImage('copied');
    const layer = classicLayer(a, simpleSigningPayload(REF, image.digest));
    registry.putClassic(image.digest, [
      layer,
      { payload: layer.payload, annotations: { ...layer.annotations } },
    ]);
    assertInvalid(
      await verdictOf(registry, image.digest, { attestors: twins, count: 2 }),
      'ThresholdNotMet',
      /only a did/,
    );
    // Two genuinely distinct signatures by the same key do satisfy two attestors holding it.
    assert.equal(
      (await verdictOf(one.registry, one.digest, { attestors: twins, count: 2 })).status,
      'Verified',
    );
  });

  it('requires the rule annotations on a counted signature', async () => {
    const plain = signedBy([a]);
    assertInvalid(
      await verdictOf(plain.registry, plain.digest, { attestors, annotations: { env: 'prod' } }),
      'MissingAnnotation',
      /signed by a but lacks the required annotation env=prod/,
    );
    const tagged = signedBy([a], { env: 'prod', team: 'x' });
    assert.equal(
      (await verdictOf(tagged.registry, tagged.digest, { attestors, annotations: { env: 'prod' } })).status,
      'Verified',
    );
    // Bundles carry annotations on the in-toto subject.
    const registry = new MemoryRegistry(true);
    const image = registry.putImage('annotated-bundle');
    registry.putBundle(image, dsseBundle(a, inTotoStatement(image.digest, undefined, {}, { env: 'prod' })));
    assert.equal(
      (await verdictOf(registry, image.digest, { attestors, annotations: { env: 'prod' } })).status,
      'Verified',
    );
  });

  describe('attestations', () => {
    const SLSA = 'https://slsa.dev/provenance/v1';
    const provenance = (buildType: string) => ({
      buildDefinition: { buildType, externalParameters: { workflow: { ref: 'refs/heads/main' } } },
      runDetails: { builder: { id: 'https://ci.example.test/builder' } },
    });
    const rule = (): SignatureRule => ({
      attestors,
      attestations: [
        {
          predicateType: SLSA,
          attestors: ['b'],
          conditions: [
            { path: 'buildDefinition.buildType', equals: 'https://ci.example.test/build/v1' },
            { path: 'buildDefinition.externalParameters.workflow.ref', regExp: 'refs/(heads/main|tags/v.+)' },
          ],
        },
      ],
    });

    function image(provenanceBy: TestKey | undefined, buildType = 'https://ci.example.test/build/v1') {
      const registry = new MemoryRegistry(true);
      const img = registry.putImage(`att-${Math.random()}`);
      registry.putBundle(img, dsseBundle(a, inTotoStatement(img.digest)));
      if (provenanceBy !== undefined)
        registry.putBundle(
          img,
          dsseBundle(provenanceBy, inTotoStatement(img.digest, SLSA, provenance(buildType))),
        );
      return { registry, digest: img.digest };
    }

    it('verifies when the named attestor signed a provenance whose fields match', async () => {
      const { registry, digest } = image(b);
      const v = await verdictOf(registry, digest, rule());
      assert.equal(v.status, 'Verified', v.message);
      assert.match(v.message, /attested \(https:\/\/slsa.dev\/provenance\/v1\)/);
    });

    it('refuses a missing attestation, a predicate that fails a condition, and one by another attestor', async () => {
      const none = image(undefined);
      assertInvalid(
        await verdictOf(none.registry, none.digest, rule()),
        'AttestationMissing',
        /no attestation of predicate type/,
      );
      const wrong = image(b, 'https://other.test/build');
      assertInvalid(
        await verdictOf(wrong.registry, wrong.digest, rule()),
        'PredicateMismatch',
        /buildDefinition.buildType is "https:\/\/other.test\/build"/,
      );
      const byA = image(a);
      assertInvalid(
        await verdictOf(byA.registry, byA.digest, rule()),
        'WrongKey',
        /attestation is not satisfied/,
      );
    });
  });
});

describe('signature service: caching, errors, trust material', () => {
  it("fetches an image's artifacts once per TTL, for every attestor configuration", async () => {
    const registry = new MemoryRegistry(true);
    const key = generateKey();
    const image = registry.putImage('cache');
    registry.putBundle(image, dsseBundle(key, inTotoStatement(image.digest)));
    let clock = 1_000_000;
    const verifier = verifierFor(registry, {}, () => clock);
    const rule = { attestors: [keyAttestor('team', key)] };
    assert.equal((await verifier.verify(IMAGE, image.digest, rule)).status, 'Verified');
    const cold = registry.calls;
    assert.ok(cold <= 3, `cold: ${cold} registry calls`);
    await Promise.all([1, 2, 3].map(() => verifier.verify(IMAGE, image.digest, rule)));
    assert.equal(
      (await verifier.verify(IMAGE, image.digest, { attestors: [keyAttestor('other', generateKey())] }))
        .status,
      'Invalid',
    );
    assert.equal(registry.calls, cold, 'cached: no registry calls');
    clock += 11 * 60_000;
    await verifier.verify(IMAGE, image.digest, rule);
    assert.equal(registry.calls, cold * 2, 'after the TTL the artifacts are fetched again');
  });

  it('shares one discovery between concurrent verifications of one image', async () => {
    const registry = new MemoryRegistry(true);
    const key = generateKey();
    const image = registry.putImage('concurrent');
    registry.putBundle(image, dsseBundle(key, inTotoStatement(image.digest)));
    const verifier = verifierFor(registry);
    const verdicts = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        verifier.verify(IMAGE, image.digest, { attestors: [keyAttestor(`t${i}`, key)] }),
      ),
    );
    assert.ok(verdicts.every((v) => v.status === 'Verified'));
    assert.equal(registry.calls, 3);
  });

  it('reports an unreachable registry as Error (never Unsigned) and does not cache it', async () => {
    const registry = new MemoryRegistry(true);
    const key = generateKey();
    const image = registry.putImage('down');
    registry.putBundle(image, dsseBundle(key, inTotoStatement(image.digest)));
    registry.failWith = new RegistryError('NetworkError', 'registry registry.test: connection refused', {
      retryable: true,
    });
    const verifier = verifierFor(registry);
    const rule = { attestors: [keyAttestor('team', key)] };
    const v = await verifier.verify(IMAGE, image.digest, rule);
    assert.deepEqual(v.status === 'Error' ? [v.reason, v.retryable] : v, ['RegistryError', true]);
    assert.match(v.message, /connection refused/);
    registry.failWith = undefined;
    assert.equal((await verifier.verify(IMAGE, image.digest, rule)).status, 'Verified');
  });

  it('reports missing or broken trust material as Error, and reads keys from a Secret', async () => {
    const registry = new MemoryRegistry(false);
    const key = generateKey();
    const image = registry.putImage('secret');
    registry.putClassic(image.digest, [classicLayer(key, simpleSigningPayload(REF, image.digest))]);
    const secretRef: TrustMaterialRef = {
      kind: 'Secret',
      namespace: 'team',
      name: 'cosign',
      key: 'cosign.pub',
    };
    const rule: SignatureRule = {
      attestors: [{ kind: 'key', name: 'team', publicKeyRef: secretRef, transparencyLog: { threshold: 0 } }],
    };
    const missing = await verdictOf(registry, image.digest, rule);
    assert.deepEqual(missing.status === 'Error' ? missing.reason : missing, 'TrustMaterialMissing');
    assert.match(missing.message, /Secret team\/cosign key cosign.pub does not exist/);
    const ok = await verdictOf(registry, image.digest, rule, { 'Secret/cosign/cosign.pub': key.publicPem });
    assert.equal(ok.status, 'Verified', ok.message);
    const notAKey = await verdictOf(registry, image.digest, rule, { 'Secret/cosign/cosign.pub': 'hello' });
    assert.deepEqual(notAKey.status === 'Error' ? notAKey.reason : notAKey, 'TrustMaterialInvalid');
    const keyless: SignatureRule = {
      attestors: [
        {
          kind: 'keyless',
          name: 'ci',
          trustedRootRef: ROOT_REF,
          issuer: { exact: 'x' },
          subject: { exact: 'y' },
        },
      ],
    };
    const badRoot = await verdictOf(registry, image.digest, keyless, {
      'ConfigMap/trust/trusted_root.json': '{"mediaType": 3}',
    });
    assert.deepEqual(badRoot.status === 'Error' ? badRoot.reason : badRoot, 'TrustMaterialInvalid');
    // A key attestor that requires the log but has no log keys is a configuration error, not a verdict on the image.
    const noRoot = await verdictOf(registry, image.digest, {
      attestors: [{ kind: 'key', name: 'team', publicKey: key.publicPem }],
    });
    assert.equal(noRoot.status, 'Error');
    assert.match(noRoot.message, /requires a transparency-log entry but has no trusted root/);
  });

  it('names the field of a broken trusted root', () => {
    const result = parseTrustedRoot(
      JSON.stringify({
        mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
        tlogs: [{ publicKey: { rawBytes: '!!' } }],
      }),
    );
    assert.deepEqual(result, { ok: false, error: 'trusted root: tlogs[0].publicKey.rawBytes is not base64' });
  });
});
