// The vocabulary of signature verification: what an attestor trusts (a key or a keyless
// identity with its trust root), what a signature rule asks for (N of M attestors, required
// annotations, attestations with predicate conditions) and the verdict per image per rule.
// The policy CRD carries a subset of this (src/api/policy-types.ts Attestor); fromPolicyAttestor
// in policy.ts maps it, and the rest is configuration the operator passes in.

/** Where a piece of trust material lives in the cluster; the operator resolves it (see TrustMaterialSource). */
export interface TrustMaterialRef {
  readonly kind: 'ConfigMap' | 'Secret';
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
}

/** Checks on a string from a certificate: exact, or an RE2 pattern matched against the whole value. */
export interface StringMatch {
  readonly exact?: string;
  readonly regExp?: string;
}

export interface TransparencyLogRequirement {
  /**
   * Log entries that must verify (SET or inclusion proof against the trusted root's log keys).
   * Default 1. 0 is the explicit opt-out ("skip the log"): entries present are still checked.
   */
  readonly threshold?: number;
}

export interface KeyAttestorSpec {
  readonly kind: 'key';
  readonly name: string;
  /** PEM public key (ECDSA P-256/P-384, RSA, Ed25519), inline or resolved from a Secret. */
  readonly publicKey?: string;
  readonly publicKeyRef?: TrustMaterialRef;
  /** Rekor keys for the log check; needed unless transparencyLog.threshold is 0. */
  readonly trustedRootRef?: TrustMaterialRef;
  readonly transparencyLog?: TransparencyLogRequirement;
}

export interface KeylessAttestorSpec {
  readonly kind: 'keyless';
  readonly name: string;
  /** trusted_root.json: Fulcio chains, Rekor keys, TSA chains (no TUF: read as it is). */
  readonly trustedRootRef: TrustMaterialRef;
  /** The Fulcio OIDC issuer extension (1.3.6.1.4.1.57264.1.8, or .1.1 on old certificates). */
  readonly issuer: StringMatch;
  /** The certificate's SAN: an email or URI. */
  readonly subject: StringMatch;
  readonly transparencyLog?: TransparencyLogRequirement;
  /** Signed certificate timestamps required (default 0: a private Fulcio often has no CT log). */
  readonly ctLogThreshold?: number;
}

export type AttestorSpec = KeyAttestorSpec | KeylessAttestorSpec;

/** A field condition on an attestation predicate: `path` is dot-separated keys (array indexes allowed). */
export interface PredicateCondition {
  readonly path: string;
  readonly equals?: string | number | boolean;
  readonly oneOf?: readonly string[];
  readonly regExp?: string;
}

export interface AttestationRequirement {
  /** e.g. https://slsa.dev/provenance/v1 */
  readonly predicateType: string;
  /** Names of attestors (from the rule) whose signature on the attestation counts; absent: any of them. */
  readonly attestors?: readonly string[];
  readonly conditions?: readonly PredicateCondition[];
}

export interface SignatureRule {
  /**
   * Image globs the rule applies to; absent: every image. Matched by the caller with src/policy's
   * compileGlobs (the one glob dialect of policies; this layer may not import src/policy).
   */
  readonly images?: readonly string[];
  readonly attestors: readonly AttestorSpec[];
  /** How many distinct attestors must have signed (N of M); default 1. */
  readonly count?: number;
  /** Annotations every counted signature must carry (cosign sign -a key=value). */
  readonly annotations?: Readonly<Record<string, string>>;
  readonly attestations?: readonly AttestationRequirement[];
}

/** Where a signature artifact was found. */
export type DiscoverySource = 'referrers-api' | 'referrers-tag' | 'cosign-tag';

export type InvalidReason =
  | 'DigestMismatch'
  | 'BadSignature'
  | 'WrongKey'
  | 'SubjectMismatch'
  | 'CertificateInvalid'
  | 'IdentityMismatch'
  | 'TransparencyLogInvalid'
  | 'TransparencyLogMissing'
  | 'TimestampMissing'
  | 'MalformedArtifact'
  | 'MissingAnnotation'
  | 'ThresholdNotMet'
  | 'AttestationMissing'
  | 'PredicateMismatch';

/** Why one signature did not count for one attestor. */
export interface SignatureProblem {
  readonly reason: InvalidReason;
  readonly attestor?: string;
  /** Which artifact (e.g. "cosign-tag sha256-….sig layer 0"). */
  readonly artifact: string;
  readonly message: string;
}

export type ErrorReason = 'RegistryError' | 'TrustMaterialMissing' | 'TrustMaterialInvalid';

export type SignatureVerdict =
  | {
      readonly status: 'Verified';
      /** Attestors whose signatures were counted, in rule order. */
      readonly attestors: readonly string[];
      readonly message: string;
    }
  | { readonly status: 'Unsigned'; readonly message: string }
  | {
      readonly status: 'Invalid';
      readonly reason: InvalidReason;
      readonly problems: readonly SignatureProblem[];
      readonly message: string;
    }
  | {
      readonly status: 'Error';
      readonly reason: ErrorReason;
      readonly retryable: boolean;
      readonly message: string;
    };

/** Reads Secrets and ConfigMaps for keys and trusted roots; undefined when the object or key is absent. */
export interface TrustMaterialSource {
  read(ref: TrustMaterialRef): Promise<string | undefined>;
}

export function describeRef(ref: TrustMaterialRef): string {
  return `${ref.kind} ${ref.namespace}/${ref.name} key ${ref.key}`;
}
