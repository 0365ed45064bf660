// TypeScript shapes of SecurityReport (one per workload) and ImageReport (one
// per image digest), mirroring report-schema.ts.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { Condition, GROUP_VERSION } from './policy-types.js';
import type { Severity } from './severity.js';

export interface SeverityCounts {
  critical?: number;
  high?: number;
  medium?: number;
  low?: number;
  info?: number;
}

export const CONTAINER_KINDS = ['container', 'initContainer', 'ephemeralContainer'] as const;
export type ContainerKind = (typeof CONTAINER_KINDS)[number];

/**
 * A signature verdict: Verified (by which attestors), Unsigned (no signature at all), Invalid
 * (signatures that do not satisfy the policy, with why) or Error (the registry or the trust
 * material could not be read: never reported as verified, nor as unsigned).
 */
export const SIGNATURE_VERDICTS = ['Verified', 'Unsigned', 'Invalid', 'Error'] as const;
export type SignatureVerdict = (typeof SIGNATURE_VERDICTS)[number];

/** The SecurityReport's SIGNED column: the worst verdict over its images, Pending while any is unknown. */
export const WORKLOAD_SIGNATURE_STATES = [...SIGNATURE_VERDICTS, 'Pending'] as const;
export type WorkloadSignatureState = (typeof WORKLOAD_SIGNATURE_STATES)[number];

/** Where the analysis of one image stands, as a SecurityReport shows it. */
export const IMAGE_ANALYSIS_STATES = ['Pending', 'Analyzed', 'Failed'] as const;
export type ImageAnalysisState = (typeof IMAGE_ANALYSIS_STATES)[number];

export interface WorkloadReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
}

export interface ReportedContainer {
  name: string;
  kind: ContainerKind;
  image: string;
  digest?: string;
}

export interface ReportedFinding {
  ruleId: string;
  title: string;
  severity: Severity;
  category: string;
  policy: string;
  container?: string;
  /** The vulnerability id of a vulnerabilities.* finding: one finding per flaw. */
  subject?: string;
  message: string;
  remediation: string;
  firstSeen?: string;
  lastSeen?: string;
}

export interface ReportedImage {
  image: string;
  digest?: string;
  vulnerabilities?: SeverityCounts;
  signature?: SignatureVerdict;
  /** Why the signature verdict is not Verified, or which attestors verified it. */
  signatureMessage?: string;
  analysis?: ImageAnalysisState;
  /** CamelCase reason when analysis failed (RegistryNotAllowed, Unauthorized, ...). */
  reason?: string;
  /** One sentence a user can act on (at most 1024 characters). */
  message?: string;
  /** The distribution in the image, for example "debian 12". */
  os?: string;
  packages?: number;
}

export interface SecurityReportSpec {
  subject: WorkloadReference;
  containers?: ReportedContainer[];
}

export interface SecurityReportStatus {
  compliant?: boolean;
  summary?: SeverityCounts & { total?: number };
  findings?: ReportedFinding[];
  findingsTruncated?: boolean;
  images?: ReportedImage[];
  /** Set when a policy requires signatures of this workload's images. */
  signed?: WorkloadSignatureState;
  policies?: string[];
  lastEvaluated?: string;
  conditions?: Condition[];
}

export interface SecurityReport {
  apiVersion: typeof GROUP_VERSION;
  kind: 'SecurityReport';
  metadata: V1ObjectMeta;
  spec: SecurityReportSpec;
  status?: SecurityReportStatus;
}

export interface ImageVulnerability {
  id: string;
  severity: Severity;
  package: string;
  installedVersion: string;
  fixedVersion?: string;
  title?: string;
  aliases?: string[];
}

export interface SignatureResult {
  /** policy/attestor, e.g. "team-a/require-signed/release". */
  attestor: string;
  verdict: SignatureVerdict;
  /** CamelCase detail of Invalid and Error verdicts (WrongKey, RegistryError, ...). */
  reason?: string;
  message?: string;
  checkedAt?: string;
}

export interface ImageReportSpec {
  digest: string;
  references?: string[];
}

export interface ImageReportStatus {
  os?: { family?: string; name?: string; version?: string };
  packageCount?: number;
  vulnerabilities?: SeverityCounts & { total?: number; fixable?: number };
  topVulnerabilities?: ImageVulnerability[];
  topVulnerabilitiesLimit?: number;
  topVulnerabilitiesTruncated?: boolean;
  signatures?: SignatureResult[];
  scanner?: { name?: string; version?: string; databaseVersion?: string; databaseUpdated?: string };
  scannedAt?: string;
  conditions?: Condition[];
}

export interface ImageReport {
  apiVersion: typeof GROUP_VERSION;
  kind: 'ImageReport';
  metadata: V1ObjectMeta;
  spec: ImageReportSpec;
  status?: ImageReportStatus;
}
