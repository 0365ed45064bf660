// Reads a sigstore trusted_root.json (the protobuf-specs TrustedRoot in its JSON form) into the
// TrustMaterial @sigstore/verify checks against: Fulcio chains, Rekor and CT log keys, TSA chains.
// Fully offline: the file is taken as the cluster admin placed it in a ConfigMap or Secret, no TUF.
// Parsed by hand rather than with @sigstore/protobuf-specs (not a direct dependency) so that a
// malformed or oversized root becomes an error value with the field that is wrong.
import { createPublicKey, type KeyObject } from 'node:crypto';

import { X509Certificate } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';

export const MAX_TRUSTED_ROOT_BYTES = 1024 * 1024;
const MAX_ENTRIES = 64;
const MAX_CHAIN = 10;
const BEGINNING_OF_TIME = new Date(0);
const END_OF_TIME = new Date(8640000000000000);

type TLogAuthority = TrustMaterial['tlogs'][number];
type CertAuthority = TrustMaterial['certificateAuthorities'][number];

/** The trust material of a root, without the key finder (that belongs to key-based attestors). */
export type TrustedRoot = Omit<TrustMaterial, 'publicKey'>;

export type TrustedRootResult = { ok: true; root: TrustedRoot } | { ok: false; error: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class RootError extends Error {}

function base64Field(value: unknown, where: string): Buffer<ArrayBuffer> {
  if (typeof value !== 'string' || value === '' || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    throw new RootError(`${where} is not base64`);
  }
  return Buffer.from(value, 'base64');
}

function validFor(value: unknown, where: string): { start: Date; end: Date } {
  if (value === undefined) return { start: BEGINNING_OF_TIME, end: END_OF_TIME };
  if (!isRecord(value)) throw new RootError(`${where}.validFor is not an object`);
  const date = (v: unknown, field: string, fallback: Date): Date => {
    if (v === undefined) return fallback;
    const d = typeof v === 'string' ? new Date(v) : undefined;
    if (d === undefined || Number.isNaN(d.getTime()))
      throw new RootError(`${where}.validFor.${field} is not a time`);
    return d;
  };
  return {
    start: date(value['start'], 'start', BEGINNING_OF_TIME),
    end: date(value['end'], 'end', END_OF_TIME),
  };
}

function list(value: unknown, where: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new RootError(`${where} is not a list`);
  if (value.length > MAX_ENTRIES) throw new RootError(`${where} has more than ${MAX_ENTRIES} entries`);
  return value;
}

function logAuthority(value: unknown, where: string): TLogAuthority {
  if (!isRecord(value)) throw new RootError(`${where} is not an object`);
  const publicKey = value['publicKey'];
  if (!isRecord(publicKey)) throw new RootError(`${where}.publicKey is missing`);
  const raw = base64Field(publicKey['rawBytes'], `${where}.publicKey.rawBytes`);
  const details = typeof publicKey['keyDetails'] === 'string' ? publicKey['keyDetails'] : '';
  let key: KeyObject;
  try {
    key = createPublicKey({
      key: raw,
      format: 'der',
      type: details.startsWith('PKCS1_RSA') ? 'pkcs1' : 'spki',
    });
  } catch {
    throw new RootError(`${where}.publicKey.rawBytes is not a DER public key`);
  }
  const logId = value['logId'];
  const checkpointKeyId = value['checkpointKeyId'];
  const id = isRecord(checkpointKeyId) ? checkpointKeyId : logId;
  if (!isRecord(id)) throw new RootError(`${where}.logId is missing`);
  return {
    logID: base64Field(id['keyId'], `${where}.logId.keyId`),
    baseURL: typeof value['baseUrl'] === 'string' ? value['baseUrl'] : '',
    publicKey: key,
    validFor: validFor(publicKey['validFor'], `${where}.publicKey`),
  };
}

function certAuthority(value: unknown, where: string): CertAuthority {
  if (!isRecord(value)) throw new RootError(`${where} is not an object`);
  const chain = value['certChain'];
  if (!isRecord(chain)) throw new RootError(`${where}.certChain is missing`);
  const certificates = list(chain['certificates'], `${where}.certChain.certificates`);
  if (certificates.length === 0 || certificates.length > MAX_CHAIN) {
    throw new RootError(`${where}.certChain must hold 1 to ${MAX_CHAIN} certificates`);
  }
  const certChain = certificates.map((c, i) => {
    const at = `${where}.certChain.certificates[${i}]`;
    if (!isRecord(c)) throw new RootError(`${at} is not an object`);
    try {
      return X509Certificate.parse(base64Field(c['rawBytes'], `${at}.rawBytes`));
    } catch (err) {
      throw err instanceof RootError ? err : new RootError(`${at}.rawBytes is not a DER certificate`);
    }
  });
  return { certChain, validFor: validFor(value['validFor'], where) };
}

/** Parses trusted_root.json text; every problem names the field. */
export function parseTrustedRoot(text: string): TrustedRootResult {
  if (Buffer.byteLength(text) > MAX_TRUSTED_ROOT_BYTES) {
    return { ok: false, error: `trusted root is over ${MAX_TRUSTED_ROOT_BYTES} bytes` };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, error: 'trusted root is not JSON' };
  }
  if (!isRecord(doc)) return { ok: false, error: 'trusted root is not a JSON object' };
  const mediaType = doc['mediaType'];
  if (typeof mediaType !== 'string' || !mediaType.startsWith('application/vnd.dev.sigstore.trustedroot')) {
    return { ok: false, error: 'trusted root has no sigstore trustedroot mediaType' };
  }
  try {
    return {
      ok: true,
      root: {
        tlogs: list(doc['tlogs'], 'tlogs').map((t, i) => logAuthority(t, `tlogs[${i}]`)),
        ctlogs: list(doc['ctlogs'], 'ctlogs').map((t, i) => logAuthority(t, `ctlogs[${i}]`)),
        certificateAuthorities: list(doc['certificateAuthorities'], 'certificateAuthorities').map((c, i) =>
          certAuthority(c, `certificateAuthorities[${i}]`),
        ),
        timestampAuthorities: list(doc['timestampAuthorities'], 'timestampAuthorities').map((c, i) =>
          certAuthority(c, `timestampAuthorities[${i}]`),
        ),
      },
    };
  } catch (err) {
    if (err instanceof RootError) return { ok: false, error: `trusted root: ${err.message}` };
    throw err;
  }
}

export const EMPTY_TRUSTED_ROOT: TrustedRoot = {
  tlogs: [],
  ctlogs: [],
  certificateAuthorities: [],
  timestampAuthorities: [],
};
