// Test-made signing material, in process: keys (node:crypto), cosign classic signature layers and
// sigstore bundles signed the way cosign signs them, a private Fulcio-like CA (root, intermediate,
// leaf with the Fulcio issuer extension and an email or URI SAN; @peculiar/x509), a transparency
// log producing SETs and inclusion proofs (@sigstore/mock), a trusted_root.json naming them, and
// pushes of those artifacts to a registry in the layouts cosign uses.
import { createHash, generateKeyPairSync, sign, webcrypto, type KeyObject as NodeKey } from 'node:crypto';

// @peculiar/x509 2.x needs the Reflect metadata polyfill loaded first (installed with @sigstore/mock).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { initializeTLog, initializeTSA } from '@sigstore/mock';

import { pushBlob, pushManifest, sha256 } from './oci-push.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type KeyKind = 'p256' | 'p384' | 'rsa' | 'ed25519';

export interface TestKey {
  readonly kind: KeyKind;
  readonly privateKey: NodeKey;
  readonly publicKey: NodeKey;
  readonly publicPem: string;
  /** base64 SHA-256 of the SPKI DER (a bundle's publicKey.hint). */
  readonly keyId: string;
}

export function generateKey(kind: KeyKind = 'p256'): TestKey {
  const pair =
    kind === 'p256'
      ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      : kind === 'p384'
        ? generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
        : kind === 'rsa'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : generateKeyPairSync('ed25519');
  return fromKeyPair(kind, pair.privateKey, pair.publicKey);
}

function fromKeyPair(kind: KeyKind, privateKey: NodeKey, publicKey: NodeKey): TestKey {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return {
    kind,
    privateKey,
    publicKey,
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    keyId: createHash('sha256').update(der).digest('base64'),
  };
}

/** Signs as sigstore-go's default signer does for the key type. */
export function signBytes(key: TestKey, data: Buffer): Buffer {
  const hash = key.kind === 'ed25519' ? null : key.kind === 'p384' ? 'sha384' : 'sha256';
  return sign(hash, data, key.privateKey);
}

export function simpleSigningPayload(
  reference: string,
  digest: string,
  annotations?: Record<string, string>,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': reference },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: annotations ?? null,
    }),
  );
}

export interface ClassicLayer {
  payload: Buffer;
  annotations: Record<string, string>;
}

export function classicLayer(
  key: TestKey,
  payload: Buffer,
  extra: { certificatePem?: string; chainPem?: string; rekorBundle?: string } = {},
): ClassicLayer {
  return {
    payload,
    annotations: {
      'dev.cosignproject.cosign/signature': signBytes(key, payload).toString('base64'),
      ...(extra.certificatePem === undefined
        ? {}
        : { 'dev.sigstore.cosign/certificate': extra.certificatePem }),
      ...(extra.chainPem === undefined ? {} : { 'dev.sigstore.cosign/chain': extra.chainPem }),
      ...(extra.rekorBundle === undefined ? {} : { 'dev.sigstore.cosign/bundle': extra.rekorBundle }),
    },
  };
}

export function inTotoStatement(
  digest: string,
  predicateType = 'https://sigstore.dev/cosign/sign/v1',
  predicate: unknown = {},
  annotations?: Record<string, string>,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [
        { digest: { sha256: digest.replace(/^sha256:/, '') }, ...(annotations ? { annotations } : {}) },
      ],
      predicateType,
      predicate,
    }),
  );
}

const IN_TOTO = 'application/vnd.in-toto+json';

function pae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `),
    payload,
  ]);
}

export interface BundleOptions {
  /** Name the key in verificationMaterial.publicKey.hint (default: the key's id). */
  hint?: string;
  /** A certificate (DER) instead of a public-key hint. */
  certificateDer?: Buffer;
  tlogEntries?: unknown[];
  mediaType?: string;
}

/** A sigstore bundle (JSON form) with a DSSE envelope over `statement`, signed by `key`. */
export function dsseBundle(
  key: TestKey,
  statement: Buffer,
  options: BundleOptions = {},
): Record<string, unknown> {
  const sig = signBytes(key, pae(IN_TOTO, statement));
  return {
    mediaType: options.mediaType ?? 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      ...(options.certificateDer === undefined
        ? { publicKey: { hint: options.hint ?? key.keyId } }
        : { certificate: { rawBytes: options.certificateDer.toString('base64') } }),
      tlogEntries: options.tlogEntries ?? [],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: {
      payload: statement.toString('base64'),
      payloadType: IN_TOTO,
      signatures: [{ sig: sig.toString('base64'), keyid: '' }],
    },
  };
}

/** The DSSE signature of a bundle made by dsseBundle (for log entries). */
export function bundleSignature(bundle: Record<string, unknown>): Buffer {
  const env = bundle['dsseEnvelope'] as { signatures: { sig: string }[] };
  return Buffer.from(env.signatures[0]?.sig ?? '', 'base64');
}

// ---- a private Fulcio-like CA -------------------------------------------------------------

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** DER UTF8String, as Fulcio encodes the v2 issuer extension. */
function utf8String(text: string): Buffer {
  const bytes = Buffer.from(text);
  if (bytes.length > 127) throw new Error('test issuer too long');
  return Buffer.concat([Buffer.from([0x0c, bytes.length]), bytes]);
}

export interface LeafOptions {
  issuer?: string;
  email?: string;
  uri?: string;
  notBefore: Date;
  notAfter: Date;
  /** Omit the code-signing EKU. */
  noCodeSigning?: boolean;
}

export interface TestFulcio {
  readonly rootDer: Buffer;
  readonly intermediateDer: Buffer;
  /** Issues a leaf for `key` (the ephemeral signing key). */
  issue(key: TestKey, options: LeafOptions): Promise<{ der: Buffer; pem: string }>;
}

export async function makeFulcio(validFrom: Date, validTo: Date): Promise<TestFulcio> {
  const rootKeys = (await webcrypto.subtle.generateKey(EC, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const interKeys = (await webcrypto.subtle.generateKey(EC, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=shipshape test root,O=shipshape-test',
    notBefore: validFrom,
    notAfter: validTo,
    keys: rootKeys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const intermediate = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'CN=shipshape test fulcio,O=shipshape-test',
    issuer: root.subject,
    notBefore: validFrom,
    notAfter: validTo,
    publicKey: interKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(interKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  let serial = 16;
  return {
    rootDer: Buffer.from(root.rawData),
    intermediateDer: Buffer.from(intermediate.rawData),
    async issue(key, options) {
      const publicKey = await webcrypto.subtle.importKey(
        'spki',
        key.publicKey.export({ format: 'der', type: 'spki' }),
        EC,
        true,
        ['verify'],
      );
      const names: x509.JsonGeneralName[] = [];
      if (options.email !== undefined) names.push({ type: 'email', value: options.email });
      if (options.uri !== undefined) names.push({ type: 'url', value: options.uri });
      const extensions: x509.Extension[] = [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.SubjectAlternativeNameExtension(names, true),
        await x509.AuthorityKeyIdentifierExtension.create(interKeys.publicKey),
      ];
      if (options.noCodeSigning !== true) {
        extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]));
      }
      if (options.issuer !== undefined) {
        extensions.push(new x509.Extension('1.3.6.1.4.1.57264.1.1', false, Buffer.from(options.issuer)));
        extensions.push(new x509.Extension('1.3.6.1.4.1.57264.1.8', false, utf8String(options.issuer)));
      }
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: (serial++).toString(16).padStart(2, '0'),
        subject: '',
        issuer: intermediate.subject,
        notBefore: options.notBefore,
        notAfter: options.notAfter,
        publicKey,
        signingKey: interKeys.privateKey,
        signingAlgorithm: EC,
        extensions,
      });
      return { der: Buffer.from(leaf.rawData), pem: leaf.toString('pem') };
    },
  };
}

// ---- a transparency log ------------------------------------------------------------------

export interface LoggedEntry {
  /** cosign's `dev.sigstore.cosign/bundle` annotation. */
  readonly classicAnnotation: string;
  /** The entry as a bundle's verificationMaterial.tlogEntries[] item (SET and inclusion proof). */
  readonly bundleEntry: Record<string, unknown>;
}

export interface TestLog {
  readonly publicKeyDer: Buffer;
  readonly logId: Buffer;
  /** A hashedrekord entry for a classic signature over `payload` (cert or key PEM). */
  hashedRekord(payload: Buffer, signature: Buffer, signerPem: string): Promise<LoggedEntry>;
  /** A dsse entry for a DSSE-envelope bundle. */
  dsse(bundle: Record<string, unknown>, signerPem: string): Promise<LoggedEntry>;
}

interface MockLogEntry {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification: {
    signedEntryTimestamp: string;
    inclusionProof: {
      logIndex: number;
      treeSize: number;
      rootHash: string;
      hashes: string[];
      checkpoint: string;
    };
  };
}

export async function makeLog(integratedAt: Date): Promise<TestLog> {
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const log = await initializeTLog('https://rekor.test.invalid', pair, integratedAt);
  const publicKeyDer = pair.publicKey.export({ format: 'der', type: 'spki' });
  const logId = createHash('sha256').update(publicKeyDer).digest();
  const record = async (kind: string, proposed: object): Promise<LoggedEntry> => {
    const answer = (await log.log(proposed)) as unknown as Record<string, MockLogEntry>;
    const entry = Object.values(answer)[0];
    if (entry === undefined) throw new Error('mock log returned nothing');
    const proof = entry.verification.inclusionProof;
    return {
      classicAnnotation: JSON.stringify({
        SignedEntryTimestamp: entry.verification.signedEntryTimestamp,
        Payload: {
          body: entry.body,
          integratedTime: entry.integratedTime,
          logIndex: entry.logIndex,
          logID: entry.logID,
        },
      }),
      bundleEntry: {
        logIndex: String(entry.logIndex),
        logId: { keyId: Buffer.from(entry.logID, 'hex').toString('base64') },
        kindVersion: { kind, version: '0.0.1' },
        integratedTime: String(entry.integratedTime),
        inclusionPromise: { signedEntryTimestamp: entry.verification.signedEntryTimestamp },
        inclusionProof: {
          logIndex: String(proof.logIndex),
          rootHash: Buffer.from(proof.rootHash, 'hex').toString('base64'),
          treeSize: String(proof.treeSize),
          hashes: proof.hashes,
          checkpoint: { envelope: proof.checkpoint },
        },
        canonicalizedBody: entry.body,
      },
    };
  };
  return {
    publicKeyDer,
    logId,
    hashedRekord: (payload, signature, signerPem) =>
      record('hashedrekord', {
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') } },
          signature: {
            content: signature.toString('base64'),
            publicKey: { content: Buffer.from(signerPem).toString('base64') },
          },
        },
      }),
    dsse: (bundle, signerPem) => {
      const env = bundle['dsseEnvelope'] as { payload: string };
      return record('dsse', {
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: {
          envelopeHash: {
            algorithm: 'sha256',
            value: createHash('sha256').update(JSON.stringify(bundle['dsseEnvelope'])).digest('hex'),
          },
          payloadHash: {
            algorithm: 'sha256',
            value: createHash('sha256').update(Buffer.from(env.payload, 'base64')).digest('hex'),
          },
          signatures: [
            {
              signature: bundleSignature(bundle).toString('base64'),
              verifier: Buffer.from(signerPem).toString('base64'),
            },
          ],
        },
      });
    },
  };
}

export interface TestTsa {
  readonly chainDer: readonly Buffer[];
  /** cosign's `dev.sigstore.cosign/rfc3161timestamp` annotation: an RFC 3161 timestamp over `signature`. */
  timestampAnnotation(signature: Buffer): Promise<string>;
}

/**
 * An RFC 3161 timestamp authority (@sigstore/mock). Its certificates are valid from the moment they
 * are made, so its clock reads a minute later by default: a time before them would not verify, and
 * making its keys can take seconds on a loaded machine.
 */
export async function makeTsa(at?: Date): Promise<TestTsa> {
  // Whole seconds: the mock writes GeneralizedTime fractions without trailing zeros ("…05.12Z"),
  // which @sigstore/core's parser refuses unless there are exactly three digits (1 run in 10 failed).
  const clock = at ?? new Date(Math.ceil((Date.now() + 60_000) / 1000) * 1000);
  const tsa = await initializeTSA(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }), clock);
  return {
    chainDer: [Buffer.from(tsa.intCertificate.buffer), Buffer.from(tsa.rootCertificate.buffer)],
    async timestampAnnotation(signature) {
      const token = await tsa.timestamp({
        artifactHash: createHash('sha256').update(signature).digest(),
        hashAlgorithmOID: '2.16.840.1.101.3.4.2.1',
        nonce: 1,
        policyOID: '1.2.3.4',
        certReq: true,
      });
      return JSON.stringify({ SignedRFC3161Timestamp: Buffer.from(token.buffer).toString('base64') });
    },
  };
}

/** trusted_root.json naming the test CA chain, log and timestamp authority. */
export function trustedRootJson(
  fulcio: TestFulcio | undefined,
  log: TestLog | undefined,
  tsa?: TestTsa,
): string {
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs:
      log === undefined
        ? []
        : [
            {
              baseUrl: 'https://rekor.test.invalid',
              hashAlgorithm: 'SHA2_256',
              publicKey: {
                rawBytes: log.publicKeyDer.toString('base64'),
                keyDetails: 'PKIX_ECDSA_P256_SHA_256',
                validFor: { start: '2000-01-01T00:00:00Z' },
              },
              logId: { keyId: log.logId.toString('base64') },
            },
          ],
    certificateAuthorities:
      fulcio === undefined
        ? []
        : [
            {
              subject: { organization: 'shipshape-test', commonName: 'shipshape test fulcio' },
              uri: 'https://fulcio.test.invalid',
              certChain: {
                certificates: [
                  { rawBytes: fulcio.intermediateDer.toString('base64') },
                  { rawBytes: fulcio.rootDer.toString('base64') },
                ],
              },
              validFor: { start: '2000-01-01T00:00:00Z' },
            },
          ],
    ctlogs: [],
    timestampAuthorities:
      tsa === undefined
        ? []
        : [
            {
              subject: { organization: 'sigstore.mock', commonName: 'tsa' },
              uri: 'https://tsa.test.invalid',
              certChain: { certificates: tsa.chainDer.map((d) => ({ rawBytes: d.toString('base64') })) },
              validFor: { start: '2000-01-01T00:00:00Z' },
            },
          ],
  });
}

// ---- pushing signature artifacts ----------------------------------------------------------

const EMPTY_CONFIG = Buffer.from('{}');
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** Pushes a cosign classic `.sig` image for `digest`. */
export async function pushClassicSignatures(
  registry: string,
  repository: string,
  digest: string,
  layers: readonly ClassicLayer[],
): Promise<string> {
  const config = Buffer.from(
    JSON.stringify({ architecture: '', os: '', rootfs: { type: 'layers', diff_ids: [] }, config: {} }),
  );
  await pushBlob(registry, repository, config);
  const descriptors = [];
  for (const layer of layers) {
    await pushBlob(registry, repository, layer.payload);
    descriptors.push({
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      size: layer.payload.length,
      digest: sha256(layer.payload),
      annotations: layer.annotations,
    });
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        size: config.length,
        digest: sha256(config),
      },
      layers: descriptors,
    }),
  );
  return pushManifest(registry, repository, `${digest.replace(':', '-')}.sig`, manifest, OCI_MANIFEST);
}

export interface Subject {
  mediaType: string;
  digest: string;
  size: number;
}

/**
 * Pushes a bundle as a referrer of `subject` (cosign v3's layout). With `fallbackTag`, also writes
 * the referrers tag index `sha256-<hex>`, as clients do on registries without the referrers API.
 */
export async function pushBundleReferrer(
  registry: string,
  repository: string,
  subject: Subject,
  bundle: Record<string, unknown>,
  options: { fallbackTag?: boolean; predicateType?: string } = {},
): Promise<string> {
  const bytes = Buffer.from(JSON.stringify(bundle));
  await pushBlob(registry, repository, EMPTY_CONFIG);
  await pushBlob(registry, repository, bytes);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: BUNDLE_V03,
      config: {
        mediaType: 'application/vnd.oci.empty.v1+json',
        size: EMPTY_CONFIG.length,
        digest: sha256(EMPTY_CONFIG),
      },
      layers: [{ mediaType: BUNDLE_V03, size: bytes.length, digest: sha256(bytes) }],
      subject,
      annotations: {
        'dev.sigstore.bundle.content': 'dsse-envelope',
        'dev.sigstore.bundle.predicateType': options.predicateType ?? 'https://sigstore.dev/cosign/sign/v1',
      },
    }),
  );
  const digest = await pushManifest(registry, repository, sha256(manifest), manifest, OCI_MANIFEST);
  if (options.fallbackTag === true) {
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_MANIFEST, size: manifest.length, digest, artifactType: BUNDLE_V03 }],
      }),
    );
    await pushManifest(registry, repository, subject.digest.replace(':', '-'), index, OCI_INDEX);
  }
  return digest;
}
