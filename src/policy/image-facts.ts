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
