// Maps the policy CRD's signature settings (src/api: spec.signatures) to a SignatureRule. The CRD
// has attestors with an inline key or a keyless issuer/subject, but no trust-root reference, log
// opt-out or count yet; those come from `defaults` (operator configuration) until the schema grows.
import type { Attestor, SignatureSettings } from '../api/policy-types.js';

import type { AttestorSpec, SignatureRule, TransparencyLogRequirement, TrustMaterialRef } from './types.js';

export interface PolicyAttestorDefaults {
  /** trusted_root.json for keyless attestors and for key attestors' log checks. */
  readonly trustedRootRef?: TrustMaterialRef;
  readonly transparencyLog?: TransparencyLogRequirement;
}

export type AttestorMapping = { ok: true; attestor: AttestorSpec } | { ok: false; error: string };

export function fromPolicyAttestor(attestor: Attestor, defaults: PolicyAttestorDefaults): AttestorMapping {
  const log = defaults.transparencyLog === undefined ? {} : { transparencyLog: defaults.transparencyLog };
  if (attestor.publicKey !== undefined) {
    return {
      ok: true,
      attestor: {
        kind: 'key',
        name: attestor.name,
        publicKey: attestor.publicKey,
        ...(defaults.trustedRootRef === undefined ? {} : { trustedRootRef: defaults.trustedRootRef }),
        ...log,
      },
    };
  }
  if (attestor.keyless !== undefined) {
    if (defaults.trustedRootRef === undefined) {
      return { ok: false, error: `attestor ${attestor.name} is keyless but no trusted root is configured` };
    }
    const { issuer, subject, subjectRegExp } = attestor.keyless;
    return {
      ok: true,
      attestor: {
        kind: 'keyless',
        name: attestor.name,
        trustedRootRef: defaults.trustedRootRef,
        issuer: { exact: issuer },
        subject: subject !== undefined ? { exact: subject } : { regExp: subjectRegExp ?? '' },
        ...log,
      },
    };
  }
  return { ok: false, error: `attestor ${attestor.name} has neither publicKey nor keyless` };
}

/** The rule of a policy's spec.signatures; errors name the attestor that cannot be used. */
export function ruleFromPolicy(
  settings: SignatureSettings,
  defaults: PolicyAttestorDefaults,
): { ok: true; rule: SignatureRule } | { ok: false; error: string } {
  const attestors: AttestorSpec[] = [];
  for (const a of settings.attestors ?? []) {
    const mapped = fromPolicyAttestor(a, defaults);
    if (!mapped.ok) return mapped;
    attestors.push(mapped.attestor);
  }
  return {
    ok: true,
    rule: { ...(settings.images === undefined ? {} : { images: settings.images }), attestors },
  };
}
