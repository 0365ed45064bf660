// What a signature artifact may not talk its way past (issue 11, read again against the code): one
// signature or log entry counted once however it is found, a referrer judged by its manifest and not
// its index entry, no bare key in a certificate field, an in-toto statement checked for its subject
// and predicate type, annotations taken from the image's own subject, predicate conditions that do
// not reach into prototypes, and missing trust material an Error before anything is fetched.
import assert from 'node:assert/strict';

import type { SignedEntity } from '@sigstore/verify';

import { RegistryError } from '../../../src/registry/errors.js';
import type { PreparedAttestor } from '../../../src/signature/attestor.js';
import type { SignatureEvidence } from '../../../src/signature/evidence.js';
import {
  SignatureVerifier,
  conditionProblem,
  evaluateSignatures,
  type AttestorSpec,
  type KeyAttestorSpec,
  type SignatureRule,
  type SignatureVerdict,
  type TrustMaterialSource,
} from '../../../src/signature/index.js';
import {
  dsseBundle,
  generateKey,
  inTotoStatement,
  makeFulcio,
  trustedRootJson,
  type TestKey,
} from '../../support/signing.js';
import { MemoryRegistry } from './memory-registry.js';

const IMAGE = { registry: 'registry.test', repository: 'team/app' };
const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const SLSA = 'https://slsa.dev/provenance/v1';

const keyAttestor = (name: string, key: TestKey): KeyAttestorSpec => ({
  kind: 'key',
  name,
  publicKey: key.publicPem,
  transparencyLog: { threshold: 0 },
});

function verify(
  registry: MemoryRegistry,
  digest: string,
  rule: SignatureRule,
  trustMaterial?: TrustMaterialSource,
): Promise<SignatureVerdict> {
  return new SignatureVerifier({
    registry,
    ...(trustMaterial === undefined ? {} : { trustMaterial }),
  }).verify(IMAGE, digest, rule);
}

function expectInvalid(v: SignatureVerdict, reason: string, text: RegExp): void {
  assert.deepEqual(v.status === 'Invalid' ? v.reason : `${v.status}: ${v.message}`, reason);
  assert.match(v.message, text);
}

/** An in-toto statement about several images, each subject with its own annotations. */
function multiSubjectStatement(
  subjects: readonly { digest: string; annotations?: Record<string, string> }[],
): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: subjects.map((s) => ({
        digest: { sha256: s.digest.replace(/^sha256:/, '') },
        ...(s.annotations === undefined ? {} : { annotations: s.annotations }),
      })),
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    }),
  );
}

describe('signature trust boundaries', () => {
  const a = generateKey();
  // Two attestors holding one key: only two distinct signatures by it can satisfy both.
  const twins: AttestorSpec[] = [keyAttestor('a', a), keyAttestor('a-again', a)];

  describe('N of M counts a signature once, however it is found', () => {
    it('reads a bundle listed twice, or carried by two referrer manifests, as one signature', async () => {
      const registry = new MemoryRegistry(true);
      const image = registry.putImage('copies');
      const bundle = dsseBundle(a, inTotoStatement(image.digest));
      registry.putBundle(image, bundle);
      // A second manifest (another annotation, so another digest) around the same bundle blob.
      const layer = registry.putBlob(Buffer.from(JSON.stringify(bundle)));
      registry.putManifest({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: BUNDLE_TYPE,
        annotations: { copy: 'second' },
        config: { ...registry.putBlob(Buffer.from('{}')), mediaType: 'application/vnd.oci.empty.v1+json' },
        layers: [{ ...layer, mediaType: BUNDLE_TYPE }],
        subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...image },
      });
      registry.editReferrers = (entries) => [...entries, ...entries, ...entries];
      registry.calls = 0;
      expectInvalid(
        await verify(registry, image.digest, { attestors: twins, count: 2 }),
        'ThresholdNotMet',
        /2 of 2 attestors must sign; only a did \(with distinct signatures\)/,
      );
      // The referrers API, then each distinct manifest and its blob once: the repeats are not fetched.
      assert.equal(registry.calls, 1 + 2 * 2);
    });

    it('does not count a bundle twice when the referrers API and the fallback tag both list it', async () => {
      const registry = new MemoryRegistry(true);
      const image = registry.putImage('both-paths');
      const manifest = registry.putBundle(image, dsseBundle(a, inTotoStatement(image.digest)));
      // A copy pushed by a client that did not see the API also wrote the referrers tag.
      registry.putManifest(
        {
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: manifest,
              size: registry.manifests.get(manifest)?.length ?? 0,
              artifactType: BUNDLE_TYPE,
            },
          ],
        },
        image.digest.replace(':', '-'),
      );
      expectInvalid(
        await verify(registry, image.digest, { attestors: twins, count: 2 }),
        'ThresholdNotMet',
        /only a did/,
      );
      assert.equal((await verify(registry, image.digest, { attestors: twins, count: 1 })).status, 'Verified');
    });

    describe('the matching of attestors to signatures', () => {
      const D = `sha256:${'d'.repeat(64)}`;
      const evidence = (artifact: string, identities: string[]): SignatureEvidence => ({
        artifact,
        source: 'referrers-api',
        format: 'sigstore-bundle',
        entity: {} as SignedEntity,
        statement: { subjects: [D], annotations: new Map() },
        identities,
      });
      /** An attestor that accepts exactly the artifacts named (the crypto is tested elsewhere). */
      const accepting = (name: string, artifacts: string[]): PreparedAttestor => ({
        name,
        spec: { kind: 'key', name },
        verifyEvidence: (e) =>
          artifacts.includes(e.artifact)
            ? { ok: true }
            : {
                ok: false,
                problem: { reason: 'WrongKey', attestor: name, artifact: e.artifact, message: `not ${name}` },
              },
      });
      const judge = (attestors: PreparedAttestor[], found: SignatureEvidence[]): SignatureVerdict =>
        evaluateSignatures(
          { attestors: attestors.map((x) => x.spec), count: attestors.length },
          attestors,
          D,
          { evidence: found, problems: [], consulted: ['referrers-api'] },
        );

      it('counts two signatures that share one transparency-log entry once', () => {
        const both = [accepting('a', ['s1', 's2']), accepting('b', ['s1', 's2'])];
        expectInvalid(
          judge(both, [evidence('s1', ['sig:1', 'tlog:X']), evidence('s2', ['sig:2', 'tlog:X'])]),
          'ThresholdNotMet',
          /only a did/,
        );
        const distinct = judge(both, [
          evidence('s1', ['sig:1', 'tlog:X']),
          evidence('s2', ['sig:2', 'tlog:Y']),
        ]);
        assert.deepEqual(distinct.status === 'Verified' ? distinct.attestors : distinct, ['a', 'b']);
      });

      it('finds the assignment that credits most attestors, not the first one that fits', () => {
        // b could take s1 first; only giving s1 to a and s2 to b credits both.
        const v = judge(
          [accepting('b', ['s1', 's2']), accepting('a', ['s1'])],
          [evidence('s1', ['sig:1']), evidence('s2', ['sig:2'])],
        );
        assert.deepEqual(v.status === 'Verified' ? v.attestors : v, ['b', 'a']);
      });
    });
  });

  describe('a referrer is what its manifest says', () => {
    it('does not read an SBOM as a signature because its index entry claims a bundle', async () => {
      const registry = new MemoryRegistry(true);
      const image = registry.putImage('lying-entry');
      registry.putManifest({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/spdx+json',
        config: { ...registry.putBlob(Buffer.from('{}')), mediaType: 'application/vnd.oci.empty.v1+json' },
        layers: [
          {
            ...registry.putBlob(Buffer.from(JSON.stringify(dsseBundle(a, inTotoStatement(image.digest))))),
            mediaType: BUNDLE_TYPE,
          },
        ],
        subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...image },
      });
      registry.editReferrers = (entries) => entries.map((e) => ({ ...e, artifactType: BUNDLE_TYPE }));
      registry.calls = 0;
      const v = await verify(registry, image.digest, { attestors: [keyAttestor('a', a)] });
      assert.equal(v.status, 'Unsigned', v.message);
      // The referrers API, the manifest (judged by its own artifactType), the classic tag: no blob.
      assert.equal(registry.calls, 3);
    });

    for (const [what, artifactType] of [
      ['no artifactType', undefined],
      [
        "the config media type (as go-containerregistry's registry reports it)",
        'application/vnd.oci.empty.v1+json',
      ],
    ] as const) {
      it(`reads a bundle whose index entry has ${what}`, async () => {
        const registry = new MemoryRegistry(true);
        const image = registry.putImage(`entry-${String(artifactType)}`);
        registry.putBundle(image, dsseBundle(a, inTotoStatement(image.digest)));
        registry.editReferrers = (entries) =>
          entries.map(({ artifactType: _dropped, ...e }) => ({
            ...e,
            ...(artifactType === undefined ? {} : { artifactType }),
          }));
        const v = await verify(registry, image.digest, { attestors: [keyAttestor('a', a)] });
        assert.equal(v.status, 'Verified', v.message);
      });
    }
  });

  it("never takes a bare public key in a bundle's certificate field for a certificate (GHSA-fx35-mq7g-6g98)", async () => {
    const now = Date.now();
    const fulcio = await makeFulcio(new Date(now - 86400_000), new Date(now + 86400_000));
    const root = trustedRootJson(fulcio, undefined);
    const keyless: AttestorSpec = {
      kind: 'keyless',
      name: 'ci',
      trustedRootRef: { kind: 'ConfigMap', namespace: 'shipshape-system', name: 'trust', key: 'root' },
      issuer: { exact: 'https://issuer.test.invalid' },
      subject: { regExp: '.*' },
      transparencyLog: { threshold: 0 },
    };
    const attacker = generateKey();
    const spkiDer = attacker.publicKey.export({ format: 'der', type: 'spki' });
    for (const smuggled of [spkiDer, Buffer.from(attacker.publicPem)]) {
      const registry = new MemoryRegistry(true);
      const image = registry.putImage(`ghsa-bundle-${smuggled.length}`);
      registry.putBundle(
        image,
        dsseBundle(attacker, inTotoStatement(image.digest), { certificateDer: smuggled }),
      );
      for (const attestor of [keyless, keyAttestor('attacker-key', attacker)]) {
        const v = await verify(
          registry,
          image.digest,
          { attestors: [attestor] },
          { read: () => Promise.resolve(root) },
        );
        expectInvalid(v, 'CertificateInvalid', /unreadable certificate/);
      }
    }
  });

  describe('in-toto statements', () => {
    it('refuses an attestation whose subject is another image, even by the right attestor', async () => {
      const registry = new MemoryRegistry(true);
      const image = registry.putImage('att-subject');
      const other = registry.putImage('att-other');
      registry.putBundle(image, dsseBundle(a, inTotoStatement(image.digest)));
      registry.putBundle(image, dsseBundle(a, inTotoStatement(other.digest, SLSA, { buildType: 'x' })));
      expectInvalid(
        await verify(registry, image.digest, {
          attestors: [keyAttestor('a', a)],
          attestations: [{ predicateType: SLSA }],
        }),
        'SubjectMismatch',
        new RegExp(`subject is ${other.digest}, not the image ${image.digest}`),
      );
    });

    it('does not take an attestation for a signature, nor a signature for an attestation', async () => {
      const registry = new MemoryRegistry(true);
      const image = registry.putImage('att-only');
      registry.putBundle(image, dsseBundle(a, inTotoStatement(image.digest, SLSA, {})));
      const v = await verify(registry, image.digest, { attestors: [keyAttestor('a', a)] });
      assert.equal(v.status, 'Unsigned', v.message);

      const signedOnly = new MemoryRegistry(true);
      const plain = signedOnly.putImage('signed-only');
      signedOnly.putBundle(plain, dsseBundle(a, inTotoStatement(plain.digest)));
      signedOnly.putBundle(
        plain,
        dsseBundle(a, inTotoStatement(plain.digest, 'https://example.test/other/v1', {})),
      );
      expectInvalid(
        await verify(signedOnly, plain.digest, {
          attestors: [keyAttestor('a', a)],
          attestations: [{ predicateType: SLSA }],
        }),
        'AttestationMissing',
        /no attestation of predicate type https:\/\/slsa.dev\/provenance\/v1/,
      );
    });

    it("takes the required annotations from the image's own subject of a statement about several", async () => {
      const registry = new MemoryRegistry(true);
      const image = registry.putImage('multi-subject');
      const other = registry.putImage('multi-other');
      const rule: SignatureRule = { attestors: [keyAttestor('a', a)], annotations: { env: 'prod' } };
      registry.putBundle(
        image,
        dsseBundle(
          a,
          multiSubjectStatement([
            { digest: other.digest, annotations: { env: 'prod' } },
            { digest: image.digest },
          ]),
        ),
      );
      expectInvalid(await verify(registry, image.digest, rule), 'MissingAnnotation', /env=prod/);

      const own = new MemoryRegistry(true);
      const second = own.putImage('multi-subject-own');
      own.putBundle(
        second,
        dsseBundle(
          a,
          multiSubjectStatement([
            { digest: other.digest },
            { digest: second.digest, annotations: { env: 'prod' } },
          ]),
        ),
      );
      const v = await verify(own, second.digest, rule);
      assert.equal(v.status, 'Verified', v.message);
    });
  });

  describe('predicate conditions', () => {
    const predicate = {
      buildDefinition: { buildType: 'https://ci.test/v1', steps: [{ name: 'build' }], count: 3 },
    };

    it('holds for a listed value and names the value for one not listed', () => {
      const condition = {
        path: 'buildDefinition.buildType',
        oneOf: ['https://ci.test/v1', 'https://ci.test/v2'],
      };
      assert.equal(conditionProblem(predicate, condition), undefined);
      assert.equal(
        conditionProblem({ buildDefinition: { buildType: 'https://evil.test' } }, condition),
        'buildDefinition.buildType is "https://evil.test", not one of https://ci.test/v1, https://ci.test/v2',
      );
    });

    it('reads array indexes, and calls a missing field or a non-string absent rather than matching', () => {
      assert.equal(
        conditionProblem(predicate, { path: 'buildDefinition.steps.0.name', equals: 'build' }),
        undefined,
      );
      assert.match(
        conditionProblem(predicate, { path: 'buildDefinition.steps.1.name', equals: 'build' }) ?? '',
        /is absent/,
      );
      assert.match(
        conditionProblem(predicate, { path: 'buildDefinition.count', regExp: '3' }) ?? '',
        /does not match/,
      );
      assert.match(
        conditionProblem(predicate, { path: 'buildDefinition.count', oneOf: ['3'] }) ?? '',
        /not one of/,
      );
    });

    it('never reaches an inherited property, and names a pattern RE2 cannot compile', () => {
      for (const path of ['constructor.name', 'buildDefinition.__proto__', 'buildDefinition.toString']) {
        assert.match(conditionProblem(predicate, { path, regExp: '.*' }) ?? '', /absent/, path);
      }
      assert.equal(
        conditionProblem(predicate, { path: 'buildDefinition.buildType', regExp: '(?=x)' }),
        'buildDefinition.buildType: the pattern (?=x) is not valid RE2',
      );
    });
  });

  it('gives a registry that fails after listing the referrers an Error, never Unsigned nor Invalid', async () => {
    for (const api of [true, false]) {
      const registry = new MemoryRegistry(api);
      const image = registry.putImage(`midway-${api}`);
      registry.putBundle(image, dsseBundle(a, inTotoStatement(image.digest)));
      const verifier = new SignatureVerifier({ registry });
      const rule: SignatureRule = { attestors: [keyAttestor('a', a)] };
      const down = new RegistryError('RegistryUnavailable', 'registry.test answered 503', {
        status: 503,
        retryable: true,
      });
      for (const fail of ['failManifestsWith', 'failBlobsWith'] as const) {
        registry[fail] = down;
        const v = await verifier.verify(IMAGE, image.digest, rule);
        assert.deepEqual(v.status === 'Error' ? [v.reason, v.retryable] : v, ['RegistryError', true], fail);
        assert.match(v.message, /answered 503/);
        registry[fail] = undefined;
      }
      // Nothing of the failed attempts was kept: the registry back, the signature verifies.
      assert.equal((await verifier.verify(IMAGE, image.digest, rule)).status, 'Verified');
    }
  });

  describe('trust material', () => {
    const secretKey: AttestorSpec = {
      kind: 'key',
      name: 'team',
      publicKeyRef: { kind: 'Secret', namespace: 'team', name: 'cosign', key: 'cosign.pub' },
      transparencyLog: { threshold: 0 },
    };

    it('is an Error, not Unsigned, for an unsigned image, and nothing is fetched without it', async () => {
      const registry = new MemoryRegistry(true);
      const image = registry.putImage('unsigned-no-trust');
      const cases: [TrustMaterialSource | undefined, boolean, RegExp][] = [
        [undefined, false, /no trust material source is configured/],
        [
          { read: () => Promise.resolve(undefined) },
          true,
          /Secret team\/cosign key cosign.pub does not exist/,
        ],
        [
          { read: () => Promise.reject(new Error('apiserver: 503')) },
          true,
          /reading Secret .* failed: apiserver: 503/,
        ],
      ];
      for (const [source, retryable, text] of cases) {
        const v = await verify(registry, image.digest, { attestors: [secretKey] }, source);
        assert.deepEqual(v.status === 'Error' ? [v.reason, v.retryable] : v, [
          'TrustMaterialMissing',
          retryable,
        ]);
        assert.match(v.message, text);
      }
      assert.equal(registry.calls, 0);
      const withKey = await verify(
        registry,
        image.digest,
        { attestors: [secretKey] },
        {
          read: () => Promise.resolve(a.publicPem),
        },
      );
      assert.equal(withKey.status, 'Unsigned', withKey.message);
    });

    it('is an Error when one attestor of several lacks it, even if another attestor could verify', async () => {
      const registry = new MemoryRegistry(true);
      const image = registry.putImage('one-missing');
      registry.putBundle(image, dsseBundle(a, inTotoStatement(image.digest)));
      const v = await verify(
        registry,
        image.digest,
        { attestors: [keyAttestor('inline', a), secretKey] },
        {
          read: () => Promise.resolve(undefined),
        },
      );
      assert.deepEqual(v.status === 'Error' ? v.reason : v, 'TrustMaterialMissing');
    });
  });
});
