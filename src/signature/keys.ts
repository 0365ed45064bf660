// Public keys of key-based attestors: PEM parsing with node:crypto, the key types cosign
// signs with (ECDSA P-256/P-384, RSA, Ed25519) and the digest each one signs over, and the
// rule that a certificate field must hold a certificate (never a bare key; cosign
// GHSA-fx35-mq7g-6g98 accepted a public key there and so trusted an unchained key).
import {
  X509Certificate as NodeX509Certificate,
  createHash,
  createPublicKey,
  type KeyObject,
} from 'node:crypto';

import { X509Certificate } from '@sigstore/core';

export interface AttestorKey {
  readonly key: KeyObject;
  /** The digest the signature is made over, as node:crypto names it; undefined for Ed25519 (pure). */
  readonly hash: 'sha256' | 'sha384' | undefined;
  /** base64 SHA-256 of the DER SubjectPublicKeyInfo: how bundles name the key they were signed with. */
  readonly keyId: string;
  readonly description: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parses a PEM public key and refuses key types and sizes cosign does not sign with. */
export function parsePublicKey(pem: string): Parsed<AttestorKey> {
  const text = pem.trim();
  if (!text.startsWith('-----BEGIN PUBLIC KEY-----')) {
    return { ok: false, error: 'not a PEM public key (expected -----BEGIN PUBLIC KEY-----)' };
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch (err) {
    return {
      ok: false,
      error: `unreadable public key: ${err instanceof Error ? err.message : 'parse error'}`,
    };
  }
  const der = key.export({ format: 'der', type: 'spki' });
  const keyId = createHash('sha256').update(der).digest('base64');
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (details.namedCurve === 'prime256v1')
        return { ok: true, value: { key, hash: 'sha256', keyId, description: 'ECDSA P-256' } };
      if (details.namedCurve === 'secp384r1')
        return { ok: true, value: { key, hash: 'sha384', keyId, description: 'ECDSA P-384' } };
      return {
        ok: false,
        error: `ECDSA curve ${details.namedCurve ?? 'unknown'} is not supported (P-256 or P-384)`,
      };
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (bits < 2048) return { ok: false, error: `RSA key of ${bits} bits is too small (at least 2048)` };
      return { ok: true, value: { key, hash: 'sha256', keyId, description: `RSA ${bits}` } };
    }
    case 'ed25519':
      return { ok: true, value: { key, hash: undefined, keyId, description: 'Ed25519' } };
    default:
      return { ok: false, error: `key type ${key.asymmetricKeyType ?? 'unknown'} is not supported` };
  }
}

/**
 * Parses what a signature carries in a certificate field (PEM or DER). Anything that is not an
 * X.509 certificate — in particular a PEM PUBLIC KEY — is refused, so a signer cannot smuggle in
 * a key of their own that no CA vouched for.
 */
export interface SigningCertificate {
  readonly certificate: X509Certificate;
  /** Why this cannot be a signing leaf (a CA, or no code-signing extended key usage), if it cannot. */
  readonly leafProblem?: string;
}

const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';

export function parseCertificate(data: string | Buffer): Parsed<SigningCertificate> {
  const text = typeof data === 'string' ? data.trim() : undefined;
  if (text !== undefined && /-----BEGIN (?:EC |RSA )?PUBLIC KEY-----/.test(text)) {
    return { ok: false, error: 'the certificate field holds a bare public key, not a certificate' };
  }
  if (text !== undefined && !text.startsWith('-----BEGIN CERTIFICATE-----')) {
    return { ok: false, error: 'the certificate field is not a PEM certificate' };
  }
  try {
    // node:crypto parses strictly first; @sigstore/core's parser is what @sigstore/verify consumes.
    const strict = new NodeX509Certificate(data);
    const leafProblem = strict.ca
      ? 'the signing certificate is a CA certificate'
      : !(strict.keyUsage ?? []).includes(CODE_SIGNING)
        ? 'the signing certificate lacks the code-signing extended key usage'
        : undefined;
    return {
      ok: true,
      value: {
        certificate: X509Certificate.parse(strict.raw),
        ...(leafProblem === undefined ? {} : { leafProblem }),
      },
    };
  } catch (err) {
    return {
      ok: false,
      error: `unreadable certificate: ${err instanceof Error ? err.message : 'parse error'}`,
    };
  }
}

/** Every certificate of a PEM bundle (a chain annotation), in order. */
export function splitPemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
