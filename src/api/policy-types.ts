// TypeScript shapes of SecurityPolicy and ClusterSecurityPolicy. They mirror
// the schema in policy-schema.ts; test/unit/api checks that typed samples
// validate against that schema, so the two cannot drift silently.
import type { V1LabelSelector, V1ObjectMeta } from '@kubernetes/client-node';
import type { Severity } from './severity.js';

export const API_GROUP = 'shipshape.dev';
export const API_VERSION = 'v1alpha1';
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

export const ENFORCEMENT_MODES = ['Audit', 'Warn', 'Enforce'] as const;
export type EnforcementMode = (typeof ENFORCEMENT_MODES)[number];
export const IMAGE_UNKNOWN_CHOICES = ['Allow', 'Deny'] as const;
export type ImageUnknownChoice = (typeof IMAGE_UNKNOWN_CHOICES)[number];

export const POD_SECURITY_LEVELS = ['privileged', 'baseline', 'restricted'] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

export const WORKLOAD_KINDS = [
  'Pod',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'ReplicationController',
  'Job',
  'CronJob',
] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export const RESOURCE_NAMES = ['cpu', 'memory', 'ephemeral-storage'] as const;
export type ResourceName = (typeof RESOURCE_NAMES)[number];

export const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

export interface PolicyExclusions {
  images?: string[];
  podSelector?: V1LabelSelector;
}

export interface PolicyMatch {
  /** ClusterSecurityPolicy only. */
  namespaceSelector?: V1LabelSelector;
  /** ClusterSecurityPolicy only. */
  excludedNamespaces?: string[];
  podSelector?: V1LabelSelector;
  kinds?: WorkloadKind[];
  images?: string[];
  exclude?: PolicyExclusions;
}

export interface PodSecuritySettings {
  level: PodSecurityLevel;
  version?: string;
}

export interface SeverityOverride {
  rule: string;
  severity: Severity;
}

/** Defaults of spec.rules.image.maxSizeMB and maxAgeDays (schema and rules share them). */
export const DEFAULT_MAX_IMAGE_SIZE_MB = 1024;
export const DEFAULT_MAX_IMAGE_AGE_DAYS = 365;

export interface ImageRuleSettings {
  allowedRegistries?: string[];
  deniedRegistries?: string[];
  requiredPullPolicy?: PullPolicy;
  privateRegistries?: string[];
  /** Rule image.size: the largest compressed image size in MB (1 MB = 1,000,000 bytes). */
  maxSizeMB?: number;
  /** Rule image.age: the most days since the image's creation time. */
  maxAgeDays?: number;
}

export interface SecurityContextRuleSettings {
  forbiddenCapabilities?: string[];
  allowedCapabilities?: string[];
  allowedHostPaths?: string[];
  allowedHostPorts?: number[];
  allowedSysctls?: string[];
}

export interface ResourceRuleSettings {
  requests?: ResourceName[];
  limits?: ResourceName[];
}

export interface SecretRuleSettings {
  credentialNamePatterns?: string[];
  forbiddenMountPaths?: string[];
}

export interface PolicyRules {
  enabled?: string[];
  disabled?: string[];
  severityOverrides?: SeverityOverride[];
  image?: ImageRuleSettings;
  securityContext?: SecurityContextRuleSettings;
  resources?: ResourceRuleSettings;
  secrets?: SecretRuleSettings;
}

export interface PolicyException {
  name: string;
  rules: string[];
  images?: string[];
  containers?: string[];
  podSelector?: V1LabelSelector;
  reason: string;
  expires: string;
}

export interface VulnerabilityIgnore {
  id: string;
  /** Only in containers with these images (globs); absent: any image. */
  images?: string[];
  reason: string;
  expires: string;
}

export interface VexSettings {
  /** A ConfigMap key holding an OpenVEX document. */
  configMapRef?: TrustObjectKeyRef;
}

export interface VulnerabilitySettings {
  severityThreshold?: Severity;
  ignoreUnfixed?: boolean;
  ignore?: VulnerabilityIgnore[];
  vex?: VexSettings;
}

export interface KeylessIdentity {
  issuer: string;
  subject?: string;
  subjectRegExp?: string;
}

/** A key of a Secret or ConfigMap; `namespace` only in ClusterSecurityPolicies (else the policy's own). */
export interface TrustObjectKeyRef {
  name: string;
  key: string;
  namespace?: string;
}

export interface TransparencyLogSettings {
  /** Log entries that must verify; 0 skips the log check (signatures made with --tlog-upload=false). */
  threshold?: number;
}

export interface Attestor {
  name: string;
  publicKey?: string;
  /** A Secret key holding the PEM public key. */
  publicKeyRef?: TrustObjectKeyRef;
  keyless?: KeylessIdentity;
  /** A ConfigMap key holding a sigstore trusted_root.json (Fulcio, Rekor, TSA). */
  trustedRootRef?: TrustObjectKeyRef;
  transparencyLog?: TransparencyLogSettings;
}

export interface PredicateConditionSettings {
  path: string;
  equals?: string;
  oneOf?: string[];
  regExp?: string;
}

export interface AttestationSettings {
  predicateType: string;
  attestors?: string[];
  conditions?: PredicateConditionSettings[];
}

export interface SignatureSettings {
  required?: boolean;
  images?: string[];
  attestors?: Attestor[];
  /** Distinct attestors that must have signed (N of M); default 1. */
  count?: number;
  /** Annotations every counted signature must carry. */
  annotations?: Record<string, string>;
  attestations?: AttestationSettings[];
}

export interface RescanSettings {
  schedule?: string;
}

export interface AdmissionSettings {
  /**
   * Whether the rules CEL expresses exactly are also enforced by a generated
   * ValidatingAdmissionPolicy (when the operator runs with
   * --validating-admission-policies); default true.
   */
  validatingAdmissionPolicy?: boolean;
}

export interface SecurityPolicySpec {
  enforcement?: EnforcementMode;
  admission?: AdmissionSettings;
  /** At admission, what an image without analysis results (after the time budget) gets. */
  onImageUnknown?: ImageUnknownChoice;
  match?: PolicyMatch;
  podSecurity?: PodSecuritySettings;
  rules?: PolicyRules;
  exceptions?: PolicyException[];
  vulnerabilities?: VulnerabilitySettings;
  signatures?: SignatureSettings;
  rescan?: RescanSettings;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface PolicySummary {
  workloadsMatched?: number;
  workloadsCompliant?: number;
  violations?: number;
}

export interface SecurityPolicyStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  summary?: PolicySummary;
}

export interface SecurityPolicy {
  apiVersion: typeof GROUP_VERSION;
  kind: 'SecurityPolicy';
  metadata: V1ObjectMeta;
  spec: SecurityPolicySpec;
  status?: SecurityPolicyStatus;
}

export interface ClusterSecurityPolicy {
  apiVersion: typeof GROUP_VERSION;
  kind: 'ClusterSecurityPolicy';
  metadata: V1ObjectMeta;
  spec: SecurityPolicySpec;
  status?: SecurityPolicyStatus;
}

export type AnySecurityPolicy = SecurityPolicy | ClusterSecurityPolicy;
