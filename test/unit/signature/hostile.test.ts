// Signature artifacts are tenant-controlled: whoever can push to a repository can push anything
// under its `.sig` and referrers tags. Each broken or hostile artifact must end as a precise Invalid
// verdict (never Verified, never a crash), and the work per image stays bounded.
import assert from 'node:assert/strict';

import {
  SignatureVerifier,
  type SignatureRule,
  type SignatureVerdict,
} from '../../../src/signature/index.js';
import {
  classicLayer,
  dsseBundle,
  generateKey,
  inTotoStatement,
  signBytes,
  simpleSigningPayload,
} from '../../support/signing.js';
import { MemoryRegistry } from './memory-registry.js';

const IMAGE = { registry: 'registry.test', repository: 'team/app' };
const key = generateKey();
const rule: SignatureRule = {
  attestors: [{ kind: 'key', name: 'team', publicKey: key.publicPem, transparencyLog: { threshold: 0 } }],
};

async function verdict(registry: MemoryRegistry, digest: string): Promise<SignatureVerdict> {
  return new SignatureVerifier({ registry }).verify(IMAGE, digest, rule);
}

function invalid(v: SignatureVerdict, reason: string, text: RegExp): void {
  assert.equal(v.status, 'Invalid', v.message);
  assert.equal(v.status === 'Invalid' && v.reason, reason, v.message);
  assert.match(v.message, text);
}

function classicWith(
  annotations: Record<string, string>,
  payload?: Buffer,
): { registry: MemoryRegistry; digest: string } {
  const registry = new MemoryRegistry(false);
  const image = registry.putImage(`hostile-${Math.random()}`);
  registry.putClassic(image.digest, [
    { payload: payload ?? simpleSigningPayload('r/a', image.digest), annotations },
  ]);
  return { registry, digest: image.digest };
}

describe('hostile signature artifacts', () => {
  it('names a layer without a signature annotation, or with one that is not base64', async () => {
    const none = classicWith({});
    invalid(
      await verdict(none.registry, none.digest),
      'MalformedArtifact',
      /no dev.cosignproject.cosign\/signature annotation/,
    );
    const garbage = classicWith({ 'dev.cosignproject.cosign/signature': '***' });
    invalid(await verdict(garbage.registry, garbage.digest), 'MalformedArtifact', /not base64/);
  });

  it('names a payload that is not a simple-signing document', async () => {
    const payload = Buffer.from('{"critical": {"image": {}}}');
    const { registry, digest } = classicWith(
      { 'dev.cosignproject.cosign/signature': signBytes(key, payload).toString('base64') },
      payload,
    );
    invalid(
      await verdict(registry, digest),
      'MalformedArtifact',
      /names no critical.image.docker-manifest-digest/,
    );
  });

  it('names an unreadable Rekor bundle annotation rather than ignoring it', async () => {
    const registry = new MemoryRegistry(false);
    const image = registry.putImage('rekor');
    const layer = classicLayer(key, simpleSigningPayload('r/a', image.digest), {
      rekorBundle: '{"Payload": 3}',
    });
    registry.putClassic(image.digest, [layer]);
    invalid(
      await verdict(registry, image.digest),
      'TransparencyLogInvalid',
      /Rekor bundle annotation has no Payload/,
    );
  });

  it('refuses a bundle that is not a sigstore bundle, and a message-signature bundle for an image', async () => {
    const registry = new MemoryRegistry(true);
    const image = registry.putImage('bundles');
    registry.putBundle(image, { mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' });
    invalid(await verdict(registry, image.digest), 'MalformedArtifact', /not a valid sigstore bundle/);

    const message = new MemoryRegistry(true);
    const image2 = message.putImage('message');
    message.putBundle(image2, {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { publicKey: { hint: key.keyId }, tlogEntries: [] },
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: Buffer.alloc(32).toString('base64') },
        signature: Buffer.from('sig').toString('base64'),
      },
    });
    invalid(
      await verdict(message, image2.digest),
      'MalformedArtifact',
      /message-signature bundles are not supported/,
    );
  });

  it('refuses a DSSE envelope with two signatures or a payload that is not in-toto', async () => {
    const registry = new MemoryRegistry(true);
    const image = registry.putImage('dsse');
    const doubled = dsseBundle(key, inTotoStatement(image.digest));
    const env = doubled['dsseEnvelope'] as { signatures: unknown[] };
    env.signatures.push(env.signatures[0]);
    registry.putBundle(image, doubled);
    invalid(
      await verdict(registry, image.digest),
      'MalformedArtifact',
      /not a valid sigstore bundle \(invalid bundle: content.dsseEnvelope.signatures\)/,
    );

    const other = new MemoryRegistry(true);
    const image2 = other.putImage('not-in-toto');
    other.putBundle(image2, dsseBundle(key, Buffer.from('{"_type": "something else"}')));
    invalid(await verdict(other, image2.digest), 'MalformedArtifact', /not an in-toto statement/);
  });

  it('refuses a referrer whose manifest subject is another image', async () => {
    const registry = new MemoryRegistry(false);
    const image = registry.putImage('a');
    const other = registry.putImage('b');
    // The referrers tag of `image` points at a bundle manifest whose subject is `other`.
    const digest = registry.putBundle(other, dsseBundle(key, inTotoStatement(image.digest)));
    const manifest = registry.manifests.get(digest);
    assert.ok(manifest);
    registry.putManifest(
      {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: manifest.length },
        ],
      },
      image.digest.replace(':', '-'),
    );
    invalid(
      await verdict(registry, image.digest),
      'SubjectMismatch',
      new RegExp(`manifest's subject is ${other.digest}`),
    );
  });

  it('does not read a signature blob over the size limit', async () => {
    const registry = new MemoryRegistry(false);
    const image = registry.putImage('huge');
    const huge = Buffer.concat([simpleSigningPayload('r/a', image.digest), Buffer.alloc(300 * 1024, 0x20)]);
    registry.putClassic(image.digest, [classicLayer(key, huge)]);
    invalid(await verdict(registry, image.digest), 'MalformedArtifact', /over 262144 bytes/);
  });

  it('reads at most 16 layers of a .sig manifest, and still verifies a good one among them', async () => {
    const registry = new MemoryRegistry(false);
    const image = registry.putImage('many');
    const payload = simpleSigningPayload('r/a', image.digest);
    const junk = Array.from({ length: 40 }, () => classicLayer(generateKey(), payload));
    registry.putClassic(image.digest, [classicLayer(key, payload), ...junk]);
    registry.calls = 0;
    const v = await verdict(registry, image.digest);
    assert.equal(v.status, 'Verified', v.message);
    assert.ok(registry.calls <= 3 + 16, `${registry.calls} registry calls`);
  });
});
