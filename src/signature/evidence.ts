// Turns fetched signature artifacts into attestor-independent evidence: the signed entity that
// @sigstore/verify checks, what the signature says it is about (the image digests it names,
// its annotations, an in-toto predicate) and its identity for de-duplication.
// Two layouts: cosign's classic `.sig` image (no npm library reads it, so the adapter is here:
// each layer is a simple-signing payload, signature and certificate in annotations) and
// sigstore bundles (v0.1–v0.3, parsed and validated by @sigstore/bundle).
import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';

import { ValidationError, bundleFromJSON, type Bundle, type TransparencyLogEntry } from '@sigstore/bundle';
import { RFC3161Timestamp, type X509Certificate } from '@sigstore/core';
import { toSignedEntity, type SignedEntity } from '@sigstore/verify';

import { parseCertificate } from './keys.js';
import type { DiscoverySource, SignatureProblem } from './types.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const ANNOTATION_SIGNATURE = 'dev.cosignproject.cosign/signature';
export const ANNOTATION_CERTIFICATE = 'dev.sigstore.cosign/certificate';
export const ANNOTATION_CHAIN = 'dev.sigstore.cosign/chain';
export const ANNOTATION_BUNDLE = 'dev.sigstore.cosign/bundle';
export const ANNOTATION_RFC3161 = 'dev.sigstore.cosign/rfc3161timestamp';
export const BUNDLE_MEDIA_TYPE_PREFIX = 'application/vnd.dev.sigstore.bundle';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const IN_TOTO_STATEMENT_TYPES = ['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1'];

/** What the signed bytes state, once parsed. */
export interface SignedStatement {
  /** Image digests (`sha256:<hex>`) the statement is about. */
  readonly subjects: readonly string[];
  /**
   * Signature annotations by the subject digest they were signed for: simple-signing `optional` for
   * its one image, each in-toto subject's own (a statement about several images must not lend one
   * image's annotations to another).
   */
  readonly annotations: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Set for in-toto statements; cosign v3's plain signature is COSIGN_SIGN_PREDICATE. */
  readonly predicateType?: string;
  readonly predicate?: unknown;
}

export interface SignatureEvidence {
  /** A label for messages: where it was found and which part. */
  readonly artifact: string;
  readonly source: DiscoverySource;
  readonly format: 'cosign-classic' | 'sigstore-bundle';
  readonly entity: SignedEntity;
  readonly statement: SignedStatement;
  /** The certificate, when the signature carries one (keyless). */
  readonly certificate?: X509Certificate;
  /** Why that certificate cannot be a Fulcio signing leaf, if it cannot. */
  readonly certificateProblem?: string;
  /** base64 SHA-256 of the signing key's SPKI, when the bundle names it. */
  readonly keyHint?: string;
  /** Identities for "never counts twice": the signature bytes and each log entry. */
  readonly identities: readonly string[];
}

export type EvidenceResult =
  { ok: true; evidence: SignatureEvidence } | { ok: false; problem: SignatureProblem };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringValues(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
  }
  return out;
}

function malformed(artifact: string, message: string): EvidenceResult {
  return {
    ok: false,
    problem: { reason: 'MalformedArtifact', artifact, message: `${artifact}: ${message}` },
  };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(text: string): Buffer<ArrayBuffer> | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || compact.length % 4 !== 0 || !BASE64.test(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The digest a key type signs over, matching sigstore-go's LoadDefaultSignerVerifier. */
function hashFor(key: KeyObject): string | null {
  if (key.asymmetricKeyType === 'ed25519') return null;
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'secp384r1') return 'sha384';
    if (curve === 'secp521r1') return 'sha512';
  }
  return 'sha256';
}

/**
 * The signature of a classic cosign layer as @sigstore/verify's SignatureContent: the signature
 * is over the payload bytes themselves, and Rekor's hashedrekord entry records SHA-256(payload).
 */
function classicSignatureContent(payload: Buffer, signature: Buffer): SignedEntity['signature'] {
  const payloadDigest = createHash('sha256').update(payload).digest();
  return {
    signature,
    compareSignature: (other) => other.equals(signature),
    compareDigest: (digest) => digest.equals(payloadDigest),
    compareSignedDigest: (digest) => digest.equals(payloadDigest),
    verifySignature: (key) => {
      try {
        return cryptoVerify(hashFor(key), payload, key, signature);
      } catch {
        return false;
      }
    },
  };
}

/** cosign's Rekor bundle annotation (SignedEntryTimestamp + payload) as a TransparencyLogEntry. */
function classicLogEntry(text: string): TransparencyLogEntry | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return 'the Rekor bundle annotation is not JSON';
  }
  if (!isRecord(doc) || !isRecord(doc['Payload'])) return 'the Rekor bundle annotation has no Payload';
  const set =
    typeof doc['SignedEntryTimestamp'] === 'string' ? decodeBase64(doc['SignedEntryTimestamp']) : undefined;
  if (set === undefined) return 'the Rekor bundle annotation has no SignedEntryTimestamp';
  const { body, integratedTime, logIndex, logID } = doc['Payload'];
  const bodyBytes = typeof body === 'string' ? decodeBase64(body) : undefined;
  if (bodyBytes === undefined) return 'the Rekor bundle payload has no body';
  if (!Number.isSafeInteger(integratedTime) || !Number.isSafeInteger(logIndex)) {
    return 'the Rekor bundle payload has no integratedTime or logIndex';
  }
  if (typeof logID !== 'string' || !/^[0-9a-f]{64}$/.test(logID))
    return 'the Rekor bundle payload has no logID';
  let kind: unknown;
  try {
    kind = JSON.parse(bodyBytes.toString('utf8'));
  } catch {
    return 'the Rekor entry body is not JSON';
  }
  if (!isRecord(kind) || typeof kind['kind'] !== 'string' || typeof kind['apiVersion'] !== 'string') {
    return 'the Rekor entry body has no kind and apiVersion';
  }
  return {
    logIndex: String(logIndex),
    logId: { keyId: Buffer.from(logID, 'hex') },
    kindVersion: { kind: kind['kind'], version: kind['apiVersion'] },
    integratedTime: String(integratedTime),
    inclusionPromise: { signedEntryTimestamp: set },
    inclusionProof: undefined,
    canonicalizedBody: bodyBytes,
  };
}

function logIdentities(entries: readonly TransparencyLogEntry[]): string[] {
  return entries.map((e) => `tlog:${e.logId?.keyId.toString('hex') ?? ''}:${sha256Hex(e.canonicalizedBody)}`);
}

/** The simple-signing payload's claims: the image digest it names and its optional annotations. */
function parseSimpleSigning(payload: Buffer): SignedStatement | string {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return 'the payload is not JSON';
  }
  if (!isRecord(doc) || !isRecord(doc['critical'])) return 'the payload has no "critical" section';
  const image = doc['critical']['image'];
  const digest = isRecord(image) ? image['docker-manifest-digest'] : undefined;
  if (typeof digest !== 'string') return 'the payload names no critical.image.docker-manifest-digest';
  return { subjects: [digest], annotations: new Map([[digest, stringValues(doc['optional'])]]) };
}

/** One layer of a cosign `.sig` manifest; `payload` is the layer blob, already digest-verified. */
export function classicEvidence(
  artifact: string,
  source: DiscoverySource,
  annotations: Readonly<Record<string, string>>,
  payload: Buffer,
): EvidenceResult {
  const encoded = annotations[ANNOTATION_SIGNATURE];
  if (encoded === undefined) return malformed(artifact, `no ${ANNOTATION_SIGNATURE} annotation`);
  const signature = decodeBase64(encoded);
  if (signature === undefined) return malformed(artifact, 'the signature annotation is not base64');
  const statement = parseSimpleSigning(payload);
  if (typeof statement === 'string') return malformed(artifact, statement);

  let certificate: X509Certificate | undefined;
  let certificateProblem: string | undefined;
  const certText = annotations[ANNOTATION_CERTIFICATE];
  if (certText !== undefined && certText.trim() !== '') {
    const parsed = parseCertificate(certText);
    if (!parsed.ok) {
      return {
        ok: false,
        problem: { reason: 'CertificateInvalid', artifact, message: `${artifact}: ${parsed.error}` },
      };
    }
    certificate = parsed.value.certificate;
    certificateProblem = parsed.value.leafProblem;
  }
  const tlogEntries: TransparencyLogEntry[] = [];
  const bundleText = annotations[ANNOTATION_BUNDLE];
  if (bundleText !== undefined) {
    const entry = classicLogEntry(bundleText);
    if (typeof entry === 'string') {
      return {
        ok: false,
        problem: { reason: 'TransparencyLogInvalid', artifact, message: `${artifact}: ${entry}` },
      };
    }
    tlogEntries.push(entry);
  }
  const timestamps: SignedEntity['timestamps'] = tlogEntries.map((tlogEntry) => ({
    $case: 'transparency-log',
    tlogEntry,
  }));
  const rfc3161 = annotations[ANNOTATION_RFC3161];
  if (rfc3161 !== undefined) {
    try {
      const doc: unknown = JSON.parse(rfc3161);
      const signed =
        isRecord(doc) && typeof doc['SignedRFC3161Timestamp'] === 'string'
          ? decodeBase64(doc['SignedRFC3161Timestamp'])
          : undefined;
      if (signed === undefined) throw new Error('no SignedRFC3161Timestamp');
      timestamps.push({ $case: 'timestamp-authority', timestamp: RFC3161Timestamp.parse(signed) });
    } catch {
      return malformed(artifact, 'the RFC 3161 timestamp annotation is unreadable');
    }
  }
  return {
    ok: true,
    evidence: {
      artifact,
      source,
      format: 'cosign-classic',
      entity: {
        signature: classicSignatureContent(payload, signature),
        key:
          certificate === undefined
            ? { $case: 'public-key', hint: '' }
            : { $case: 'certificate', certificate },
        tlogEntries,
        timestamps,
      },
      statement,
      ...(certificate === undefined ? {} : { certificate }),
      ...(certificateProblem === undefined ? {} : { certificateProblem }),
      identities: [`sig:${sha256Hex(signature)}`, ...logIdentities(tlogEntries)],
    },
  };
}

/** The in-toto statement inside a DSSE envelope: subjects, the image subject's annotations, predicate. */
function parseStatement(payloadType: string, payload: Buffer): SignedStatement | string {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) return `the DSSE payload type is ${payloadType}, not in-toto`;
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return 'the in-toto statement is not JSON';
  }
  if (!isRecord(doc) || typeof doc['_type'] !== 'string' || !IN_TOTO_STATEMENT_TYPES.includes(doc['_type'])) {
    return 'the DSSE payload is not an in-toto statement';
  }
  if (typeof doc['predicateType'] !== 'string') return 'the in-toto statement has no predicateType';
  const subjects: string[] = [];
  const annotations = new Map<string, Record<string, string>>();
  const raw = Array.isArray(doc['subject']) ? doc['subject'].slice(0, 64) : [];
  for (const s of raw) {
    if (!isRecord(s) || !isRecord(s['digest'])) continue;
    const hex = s['digest']['sha256'];
    if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) continue;
    const digest = `sha256:${hex}`;
    subjects.push(digest);
    // A digest listed twice keeps its first annotations, as a reader going down the list sees them.
    if (!annotations.has(digest)) annotations.set(digest, stringValues(s['annotations']));
  }
  if (subjects.length === 0) return 'the in-toto statement has no sha256 subject';
  return { subjects, annotations, predicateType: doc['predicateType'], predicate: doc['predicate'] };
}

/** A sigstore bundle (the layer of a referrer manifest); `bytes` is the layer blob, digest-verified. */
export function bundleEvidence(artifact: string, source: DiscoverySource, bytes: Buffer): EvidenceResult {
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(JSON.parse(bytes.toString('utf8')));
  } catch (err) {
    const detail =
      err instanceof ValidationError && err.fields.length > 0
        ? `${err.message}: ${err.fields.slice(0, 5).join(', ')}`
        : err instanceof Error
          ? err.message
          : 'parse error';
    return malformed(artifact, `not a valid sigstore bundle (${detail})`);
  }
  const material = bundle.verificationMaterial.content;
  const rawCert =
    material.$case === 'certificate'
      ? material.certificate.rawBytes
      : material.$case === 'x509CertificateChain'
        ? material.x509CertificateChain.certificates[0]?.rawBytes
        : undefined;
  let certificate: X509Certificate | undefined;
  let certificateProblem: string | undefined;
  if (material.$case !== 'publicKey') {
    if (rawCert === undefined) return malformed(artifact, 'the bundle certificate chain is empty');
    const parsed = parseCertificate(Buffer.from(rawCert));
    if (!parsed.ok) {
      return {
        ok: false,
        problem: { reason: 'CertificateInvalid', artifact, message: `${artifact}: ${parsed.error}` },
      };
    }
    certificate = parsed.value.certificate;
    certificateProblem = parsed.value.leafProblem;
  }
  if (bundle.content.$case !== 'dsseEnvelope') {
    // A message signature signs the artifact bytes; for an image that would be its manifest,
    // which cosign does not produce for images (it signs an in-toto statement instead).
    return malformed(
      artifact,
      'message-signature bundles are not supported for images (expected a DSSE envelope)',
    );
  }
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.signatures.length !== 1)
    return malformed(artifact, 'the DSSE envelope must hold exactly one signature');
  const statement = parseStatement(envelope.payloadType, envelope.payload);
  if (typeof statement === 'string') return malformed(artifact, statement);
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle);
  } catch (err) {
    return malformed(
      artifact,
      `unreadable verification material (${err instanceof Error ? err.message : 'error'})`,
    );
  }
  const tlogEntries = bundle.verificationMaterial.tlogEntries;
  const hint = material.$case === 'publicKey' ? material.publicKey.hint : undefined;
  return {
    ok: true,
    evidence: {
      artifact,
      source,
      format: 'sigstore-bundle',
      entity,
      statement,
      ...(certificate === undefined ? {} : { certificate }),
      ...(certificateProblem === undefined ? {} : { certificateProblem }),
      ...(hint === undefined || hint === '' ? {} : { keyHint: hint }),
      identities: [
        `sig:${sha256Hex(envelope.signatures[0]?.sig ?? Buffer.alloc(0))}`,
        ...logIdentities(tlogEntries),
      ],
    },
  };
}
