// Maps the policy CRD's signature settings (src/api: spec.signatures) to a SignatureRule: attestors
// with an inline key, a key from a Secret or a keyless identity, their trusted root (a ConfigMap)
// and log requirement, N of M, required annotations and attestations. Object references resolve
// in the policy's namespace (a ClusterSecurityPolicy names one); `defaults` (operator configuration)
// fill in a trusted root or log requirement an attestor does not set.
import type { Attestor, SignatureSettings, TrustObjectKeyRef } from '../api/policy-types.js';

import type {
  AttestationRequirement,
  AttestorSpec,
  SignatureRule,
  TransparencyLogRequirement,
  TrustMaterialRef,
} from './types.js';

export interface PolicyAttestorDefaults {
  /** trusted_root.json for keyless attestors and for key attestors' log checks. */
  readonly trustedRootRef?: TrustMaterialRef;
  readonly transparencyLog?: TransparencyLogRequirement;
}

export type AttestorMapping = { ok: true; attestor: AttestorSpec } | { ok: false; error: string };

function materialRef(
  kind: TrustMaterialRef['kind'],
  ref: TrustObjectKeyRef,
  policyNamespace: string | undefined,
): TrustMaterialRef | undefined {
  // A namespaced policy reads only its own namespace, whatever the object says.
  const namespace = policyNamespace ?? ref.namespace;
  return namespace === undefined ? undefined : { kind, namespace, name: ref.name, key: ref.key };
}

export function fromPolicyAttestor(
  attestor: Attestor,
  defaults: PolicyAttestorDefaults,
  policyNamespace?: string,
): AttestorMapping {
  const logSetting =
    attestor.transparencyLog?.threshold !== undefined
      ? { threshold: attestor.transparencyLog.threshold }
      : defaults.transparencyLog;
  const log = logSetting === undefined ? {} : { transparencyLog: logSetting };
  const rootRef =
    attestor.trustedRootRef !== undefined
      ? materialRef('ConfigMap', attestor.trustedRootRef, policyNamespace)
      : defaults.trustedRootRef;
  if (attestor.trustedRootRef !== undefined && rootRef === undefined) {
    return { ok: false, error: `attestor ${attestor.name}: trustedRootRef needs a namespace` };
  }
  const root = rootRef === undefined ? {} : { trustedRootRef: rootRef };
  if (attestor.publicKey !== undefined) {
    return {
      ok: true,
      attestor: { kind: 'key', name: attestor.name, publicKey: attestor.publicKey, ...root, ...log },
    };
  }
  if (attestor.publicKeyRef !== undefined) {
    const keyRef = materialRef('Secret', attestor.publicKeyRef, policyNamespace);
    if (keyRef === undefined) {
      return { ok: false, error: `attestor ${attestor.name}: publicKeyRef needs a namespace` };
    }
    return {
      ok: true,
      attestor: { kind: 'key', name: attestor.name, publicKeyRef: keyRef, ...root, ...log },
    };
  }
  if (attestor.keyless !== undefined) {
    if (rootRef === undefined) {
      return { ok: false, error: `attestor ${attestor.name} is keyless but no trusted root is configured` };
    }
    const { issuer, subject, subjectRegExp } = attestor.keyless;
    return {
      ok: true,
      attestor: {
        kind: 'keyless',
        name: attestor.name,
        trustedRootRef: rootRef,
        issuer: { exact: issuer },
        subject: subject !== undefined ? { exact: subject } : { regExp: subjectRegExp ?? '' },
        ...log,
      },
    };
  }
  return { ok: false, error: `attestor ${attestor.name} has neither publicKey, publicKeyRef nor keyless` };
}

/**
 * The rule of a policy's spec.signatures; `policyNamespace` is a SecurityPolicy's namespace
 * (undefined for a ClusterSecurityPolicy). Errors name the attestor that cannot be used.
 */
export function ruleFromPolicy(
  settings: SignatureSettings,
  defaults: PolicyAttestorDefaults,
  policyNamespace?: string,
): { ok: true; rule: SignatureRule } | { ok: false; error: string } {
  const attestors: AttestorSpec[] = [];
  for (const a of settings.attestors ?? []) {
    const mapped = fromPolicyAttestor(a, defaults, policyNamespace);
    if (!mapped.ok) return mapped;
    attestors.push(mapped.attestor);
  }
  const attestations: AttestationRequirement[] = (settings.attestations ?? []).map((a) => ({
    predicateType: a.predicateType,
    ...(a.attestors === undefined ? {} : { attestors: a.attestors }),
    ...(a.conditions === undefined
      ? {}
      : {
          conditions: a.conditions.map((c) => ({
            path: c.path,
            ...(c.equals === undefined ? {} : { equals: c.equals }),
            ...(c.oneOf === undefined ? {} : { oneOf: c.oneOf }),
            ...(c.regExp === undefined ? {} : { regExp: c.regExp }),
          })),
        }),
  }));
  return {
    ok: true,
    rule: {
      ...(settings.images === undefined ? {} : { images: settings.images }),
      attestors,
      ...(settings.count === undefined ? {} : { count: settings.count }),
      ...(settings.annotations === undefined ? {} : { annotations: settings.annotations }),
      ...(attestations.length === 0 ? {} : { attestations }),
    },
  };
}
