// One attestor made ready to verify: its key or trusted root parsed, a @sigstore/verify
// Verifier with the attestor's thresholds, and its identity constraints compiled with re2js
// (linear time: the patterns come from policies). verifyEvidence answers, for one signature,
// "did this attestor sign it?" with the precise reason when not.
import type { X509Certificate } from '@sigstore/core';
import {
  VerificationError,
  Verifier,
  type SignedEntity,
  type Signer,
  type TrustMaterial,
} from '@sigstore/verify';
import { RE2JS } from 're2js';

import type { SignatureEvidence } from './evidence.js';
import { parsePublicKey, type AttestorKey } from './keys.js';
import { EMPTY_TRUSTED_ROOT, type TrustedRoot } from './trusted-root.js';
import type { AttestorSpec, InvalidReason, SignatureProblem, StringMatch } from './types.js';

export type StringMatcher = (value: string | undefined) => boolean;

/** Compiles an exact-or-RE2 constraint; the pattern must match the whole value. */
export function compileStringMatch(match: StringMatch): StringMatcher | string {
  if ((match.exact === undefined) === (match.regExp === undefined))
    return 'needs exactly one of exact and regExp';
  if (match.exact !== undefined) {
    const exact = match.exact;
    return (value) => value === exact;
  }
  try {
    const re = RE2JS.compile(match.regExp ?? '');
    return (value) => value !== undefined && re.matches(value);
  } catch (err) {
    return `invalid RE2 pattern: ${err instanceof Error ? err.message : 'error'}`;
  }
}

export interface PreparedAttestor {
  readonly name: string;
  readonly spec: AttestorSpec;
  verifyEvidence(evidence: SignatureEvidence): { ok: true } | { ok: false; problem: SignatureProblem };
}

export interface AttestorMaterial {
  /** The PEM key of a key attestor (inline or read from its Secret). */
  readonly publicKey?: string;
  /** The parsed trusted root, when the attestor has one. */
  readonly trustedRoot?: TrustedRoot;
}

export type PrepareResult = { ok: true; attestor: PreparedAttestor } | { ok: false; error: string };

const SIGNATURE_PROBLEM: Record<string, InvalidReason> = {
  SIGNATURE_ERROR: 'BadSignature',
  PUBLIC_KEY_ERROR: 'WrongKey',
  CERTIFICATE_ERROR: 'CertificateInvalid',
  TLOG_BODY_ERROR: 'TransparencyLogInvalid',
  TLOG_INCLUSION_PROMISE_ERROR: 'TransparencyLogInvalid',
  TLOG_INCLUSION_PROOF_ERROR: 'TransparencyLogInvalid',
  TLOG_MISSING_INCLUSION_ERROR: 'TransparencyLogInvalid',
  TLOG_ERROR: 'TransparencyLogInvalid',
  TIMESTAMP_ERROR: 'TimestampMissing',
};

function verificationProblem(err: unknown, attestor: string, artifact: string): SignatureProblem {
  if (!(err instanceof VerificationError)) {
    const message = err instanceof Error ? err.message : 'unknown error';
    return {
      reason: 'MalformedArtifact',
      attestor,
      artifact,
      message: `${artifact}: unverifiable (${message})`,
    };
  }
  let reason = SIGNATURE_PROBLEM[err.code] ?? 'BadSignature';
  let detail = err.message;
  if (err.code === 'TLOG_ERROR' && /expected \d+ tlog entries/.test(err.message)) {
    reason = 'TransparencyLogMissing';
    detail = `no transparency-log entry, and attestor ${attestor} requires one (${err.message})`;
  }
  if (err.code === 'CERTIFICATE_ERROR') {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    detail = `the certificate does not chain to the trusted root at the signing time${cause}`;
  }
  if (err.code === 'TIMESTAMP_ERROR') detail = `no trusted time for the certificate (${err.message})`;
  return { reason, attestor, artifact, message: `${artifact}: ${detail}` };
}

function problem(reason: InvalidReason, attestor: string, artifact: string, text: string): SignatureProblem {
  return { reason, attestor, artifact, message: `${artifact}: ${text}` };
}

/** Checked before the verifier so that "no log entry" is named as such, not as a missing timestamp. */
function missingLog(
  evidence: SignatureEvidence,
  required: number,
  attestor: string,
): SignatureProblem | undefined {
  const found = evidence.entity.tlogEntries.length;
  if (found >= required) return undefined;
  return problem(
    'TransparencyLogMissing',
    attestor,
    evidence.artifact,
    `${found === 0 ? 'no transparency-log entry (SET or inclusion proof)' : `only ${found} transparency-log entries`}, and attestor ${attestor} requires ${required}`,
  );
}

function threshold(value: number | undefined, fallback: number): number {
  return value === undefined || !Number.isSafeInteger(value) || value < 0 ? fallback : Math.min(value, 8);
}

/** A key attestor verifies against its key alone: a certificate on the signature is not consulted. */
function asKeySigned(entity: SignedEntity): SignedEntity {
  return entity.key.$case === 'public-key' ? entity : { ...entity, key: { $case: 'public-key', hint: '' } };
}

function prepareKey(spec: AttestorSpec & { kind: 'key' }, material: AttestorMaterial): PrepareResult {
  if (material.publicKey === undefined)
    return { ok: false, error: `attestor ${spec.name} has no public key` };
  const parsed = parsePublicKey(material.publicKey);
  if (!parsed.ok) return { ok: false, error: `attestor ${spec.name}: ${parsed.error}` };
  const key: AttestorKey = parsed.value;
  const tlogThreshold = threshold(spec.transparencyLog?.threshold, 1);
  if (tlogThreshold > 0 && (material.trustedRoot === undefined || material.trustedRoot.tlogs.length === 0)) {
    return {
      ok: false,
      error: `attestor ${spec.name} requires a transparency-log entry but has no trusted root with log keys (set transparencyLog.threshold: 0 to skip the log)`,
    };
  }
  const trust: TrustMaterial = {
    ...(material.trustedRoot ?? EMPTY_TRUSTED_ROOT),
    publicKey: () => ({ publicKey: key.key, validFor: () => true }),
  };
  const verifier = new Verifier(trust, { tlogThreshold, ctlogThreshold: 0, timestampThreshold: 0 });
  return {
    ok: true,
    attestor: {
      name: spec.name,
      spec,
      verifyEvidence(evidence) {
        const noLog = missingLog(evidence, tlogThreshold, spec.name);
        if (noLog !== undefined) return { ok: false, problem: noLog };
        try {
          verifier.verify(asKeySigned(evidence.entity));
          return { ok: true };
        } catch (err) {
          if (err instanceof VerificationError && err.code === 'SIGNATURE_ERROR') {
            const other = evidence.keyHint !== undefined && evidence.keyHint !== key.keyId;
            return {
              ok: false,
              problem: problem(
                'WrongKey',
                spec.name,
                evidence.artifact,
                other
                  ? `signed with another key (key id ${evidence.keyHint}), not attestor ${spec.name}'s ${key.description} key`
                  : `the signature does not verify with attestor ${spec.name}'s ${key.description} key (signed with another key, or the signature or its payload was altered)`,
              ),
            };
          }
          return { ok: false, problem: verificationProblem(err, spec.name, evidence.artifact) };
        }
      },
    },
  };
}

function issuerOf(signer: Signer, certificate: X509Certificate | undefined): string | undefined {
  return (
    signer.identity?.extensions?.issuer ??
    certificate?.extension('1.3.6.1.4.1.57264.1.1')?.value.toString('ascii')
  );
}

function prepareKeyless(spec: AttestorSpec & { kind: 'keyless' }, material: AttestorMaterial): PrepareResult {
  const root = material.trustedRoot;
  if (root === undefined || root.certificateAuthorities.length === 0) {
    return { ok: false, error: `attestor ${spec.name}: the trusted root has no certificate authorities` };
  }
  const issuer = compileStringMatch(spec.issuer);
  if (typeof issuer === 'string') return { ok: false, error: `attestor ${spec.name} issuer ${issuer}` };
  const subject = compileStringMatch(spec.subject);
  if (typeof subject === 'string') return { ok: false, error: `attestor ${spec.name} subject ${subject}` };
  const tlogThreshold = threshold(spec.transparencyLog?.threshold, 1);
  if (tlogThreshold > 0 && root.tlogs.length === 0) {
    return {
      ok: false,
      error: `attestor ${spec.name} requires a transparency-log entry but the trusted root has no log keys`,
    };
  }
  const ctlogThreshold = threshold(spec.ctLogThreshold, 0);
  const trust: TrustMaterial = {
    ...root,
    publicKey: (hint) => {
      throw new VerificationError({
        code: 'PUBLIC_KEY_ERROR',
        message: `keyless attestor has no key for ${hint}`,
      });
    },
  };
  // A Fulcio certificate lives minutes: it must be valid at a trusted time (log or TSA), never "now".
  const verifier = new Verifier(trust, { tlogThreshold, ctlogThreshold, timestampThreshold: 1 });
  const wanted = (m: StringMatch): string => (m.exact !== undefined ? `"${m.exact}"` : `/${m.regExp ?? ''}/`);
  return {
    ok: true,
    attestor: {
      name: spec.name,
      spec,
      verifyEvidence(evidence) {
        if (evidence.entity.key.$case !== 'certificate') {
          return {
            ok: false,
            problem: problem(
              'WrongKey',
              spec.name,
              evidence.artifact,
              `signed with a key, but attestor ${spec.name} is keyless (expects a Fulcio certificate)`,
            ),
          };
        }
        const noLog = missingLog(evidence, tlogThreshold, spec.name);
        if (noLog !== undefined) return { ok: false, problem: noLog };
        if (evidence.certificateProblem !== undefined) {
          return {
            ok: false,
            problem: problem('CertificateInvalid', spec.name, evidence.artifact, evidence.certificateProblem),
          };
        }
        let signer: Signer;
        try {
          signer = verifier.verify(evidence.entity);
        } catch (err) {
          return { ok: false, problem: verificationProblem(err, spec.name, evidence.artifact) };
        }
        const gotIssuer = issuerOf(signer, evidence.certificate);
        if (!issuer(gotIssuer)) {
          return {
            ok: false,
            problem: problem(
              'IdentityMismatch',
              spec.name,
              evidence.artifact,
              `certificate issuer ${gotIssuer === undefined ? '(none)' : `"${gotIssuer}"`} does not match ${wanted(spec.issuer)} of attestor ${spec.name}`,
            ),
          };
        }
        const san = signer.identity?.subjectAlternativeName;
        if (!subject(san)) {
          return {
            ok: false,
            problem: problem(
              'IdentityMismatch',
              spec.name,
              evidence.artifact,
              `certificate subject ${san === undefined ? '(none)' : `"${san}"`} does not match ${wanted(spec.subject)} of attestor ${spec.name}`,
            ),
          };
        }
        return { ok: true };
      },
    },
  };
}

/** Makes an attestor ready; an error here is about configuration or trust material, never the image. */
export function prepareAttestor(spec: AttestorSpec, material: AttestorMaterial): PrepareResult {
  return spec.kind === 'key' ? prepareKey(spec, material) : prepareKeyless(spec, material);
}
