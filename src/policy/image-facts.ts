// Facts about images that later analysis (registry, SBOM, vulnerabilities,
// signatures) supplies to the rule engine. Evaluation only reads them, so image
// rules plug in without the engine doing any I/O.
import { createHash } from 'node:crypto';

import type { SignatureSettings } from '../api/policy-types.js';
import type { Severity } from '../api/severity.js';
import type { SignatureVerdict } from '../api/report-types.js';

/** The verdict of one signature requirement for one image digest. */
export interface ImageSignatureFact {
  verdict: SignatureVerdict;
  /** CamelCase detail of Invalid and Error verdicts (WrongKey, RegistryError, ...). */
  reason?: string;
  /** Attestors whose signatures counted (Verified). */
  attestors?: readonly string[];
  /** One sentence: who signed, or why the image is not verified. */
  message: string;
}

/**
 * One vulnerability of a package in the image, as the vulnerability rules read it: the
 * shape of the matcher's findings, so the image service hands its list over without a copy.
 */
export interface ImageVulnerabilityFact {
  /** The preferred id (a CVE when one names it). */
  readonly id: string;
  /** Every other id of the same flaw (GHSA, DSA, ...): ignores, exceptions and VEX may name any. */
  readonly aliases: readonly string[];
  /** OSV severity level: CRITICAL, HIGH, MEDIUM, LOW, NONE or UNKNOWN. */
  readonly severity: { readonly level: string };
  /** The package name as the advisory names it (the Debian source package, say), and its purl. */
  readonly package: { readonly name: string; readonly purl: string };
  readonly installedVersion: string;
  readonly fixedVersions: readonly string[];
  readonly summary?: string;
}

/**
 * Findings as the rule engine reads them, counted and iterated: an array, or the image
 * service's compact list, which builds each finding as it is read.
 */
export interface ImageVulnerabilityFacts extends Iterable<ImageVulnerabilityFact> {
  readonly length: number;
}

const LEVEL_SEVERITY: Readonly<Record<string, Severity>> = {
  CRITICAL: 'Critical',
  HIGH: 'High',
  MEDIUM: 'Medium',
  LOW: 'Low',
};

/** The finding severity of a vulnerability: NONE and UNKNOWN are Info. */
export function vulnerabilitySeverity(v: Pick<ImageVulnerabilityFact, 'severity'>): Severity {
  return LEVEL_SEVERITY[v.severity.level] ?? 'Info';
}

/** One OpenVEX statement, reduced to what suppresses a finding. */
export interface VexStatementFact {
  /** The vulnerability name and its aliases. */
  vulnerabilities: readonly string[];
  /**
   * Products: an image (sha256 digest or pkg:oci purl) with optional subcomponents (package
   * purls), or a package purl alone.
   */
  products: readonly { id: string; subcomponents: readonly string[] }[];
  status: 'not_affected' | 'fixed' | 'affected' | 'under_investigation';
  justification?: string;
  impactStatement?: string;
  /** Where the statement came from: the ConfigMap and key, and the document id. */
  source: string;
}

export interface ImageFacts {
  digest?: string;
  // Each field may be absent: absent means "not known", and a rule that needs it reports nothing.
  /** The image config's User: '' means none is configured, so the image runs as root. */
  user?: string;
  /** Whether the image config declares a HEALTHCHECK. */
  healthcheck?: boolean;
  /** Names (never values) of env variables in the image config. */
  envKeys?: string[];
  /** Env names the analyzer flagged because their value looks like a credential (the value is never kept). */
  secretEnvKeys?: string[];
  /** Compressed size of the image's layers, as the registry stores them. */
  sizeBytes?: number;
  layers?: number;
  /** RFC 3339 creation time from the image config. */
  created?: string;
  os?: string;
  architecture?: string;
  vulnerabilities?: Partial<Record<Severity, number>> & { fixable?: number };
  /** The matched vulnerabilities (most severe first, bounded); absent while unknown. */
  vulnerabilityFindings?: ImageVulnerabilityFacts;
  /** Why the vulnerabilities are not known (no database yet, inventory too large); absent when known or matching is off. */
  vulnerabilitiesUnknown?: string;
  /** OpenVEX statements by VEX source key (vexSourceKey), read from the ConfigMaps policies name. */
  vex?: Readonly<Record<string, readonly VexStatementFact[]>>;
  /** Verdicts by signatureRequirementKey: policies with equal requirements share one. */
  signatures?: Readonly<Record<string, ImageSignatureFact>>;
}

/**
 * Identifies what a policy's spec.signatures asks of an image (attestors, count, annotations,
 * attestations, and the namespace its Secret and ConfigMap references resolve in), not where it
 * applies: the verifier and the rule meet on this key.
 */
export function signatureRequirementKey(
  settings: SignatureSettings,
  policyNamespace: string | undefined,
): string {
  const { attestors, count, annotations, attestations } = settings;
  return createHash('sha256')
    .update(
      JSON.stringify([
        policyNamespace ?? null,
        attestors ?? [],
        count ?? 1,
        annotations ?? {},
        attestations ?? [],
      ]),
    )
    .digest('hex')
    .slice(0, 32);
}

/** Image facts keyed by the image reference as written in the pod spec (or a function that looks them up). */
export type ImageFactsSource = ReadonlyMap<string, ImageFacts> | ((image: string) => ImageFacts | undefined);

export function lookupImageFacts(
  source: ImageFactsSource | undefined,
  image: string,
): ImageFacts | undefined {
  if (!source) return undefined;
  return typeof source === 'function' ? source(image) : source.get(image);
}
