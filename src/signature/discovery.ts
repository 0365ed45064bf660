// Finds an image's signature artifacts through Shipshape's own registry client (so the same
// address policy, credentials and limits apply): the OCI 1.1 referrers API, else the referrers
// tag schema (`sha256-<hex>`, an index cosign v3 keeps on registries without the API), then
// cosign's classic `sha256-<hex>.sig` tag. Every referrer's manifest is fetched and judged by
// its own content: an index entry's artifactType is only the registry's say-so (go-containerregistry,
// for one, reports the config media type there). The work per image is bounded: a few referrers,
// a few layers, small blobs.
import type { CallOptions, FetchedManifest } from '../registry/client.js';
import { RegistryError } from '../registry/errors.js';
import type { Descriptor, ImageIndex } from '../registry/manifest.js';
import type { ImageReference } from '../registry/reference.js';

import {
  BUNDLE_MEDIA_TYPE_PREFIX,
  COSIGN_SIGN_PREDICATE,
  SIMPLE_SIGNING_MEDIA_TYPE,
  bundleEvidence,
  classicEvidence,
  type SignatureEvidence,
} from './evidence.js';
import type { DiscoverySource, SignatureProblem } from './types.js';

/** What discovery needs of the registry client (RegistryClient has it; tests may count calls). */
export interface SignatureRegistry {
  getReferrers(ref: ImageReference, digest: string, options?: CallOptions): Promise<ImageIndex | undefined>;
  getManifest(ref: ImageReference, options?: CallOptions): Promise<FetchedManifest>;
  fetchBlobBytes(
    ref: ImageReference,
    descriptor: Descriptor,
    options?: CallOptions & { maxBytes?: number },
  ): Promise<Buffer>;
}

export interface DiscoveryLimits {
  /** Referrer manifests fetched per image (default 16). */
  readonly maxReferrers: number;
  /** Signature layers read from a `.sig` manifest (default 16). */
  readonly maxClassicLayers: number;
  /** Largest signature payload or bundle blob (default 256 KiB). */
  readonly maxBlobBytes: number;
}

export const DEFAULT_DISCOVERY_LIMITS: DiscoveryLimits = {
  maxReferrers: 16,
  maxClassicLayers: 16,
  maxBlobBytes: 256 * 1024,
};

export interface DiscoveredSignatures {
  readonly evidence: readonly SignatureEvidence[];
  /** Artifacts that were found but could not be read as signatures (each says why). */
  readonly problems: readonly SignatureProblem[];
  /** The sources that were consulted, in order. */
  readonly consulted: readonly DiscoverySource[];
}

/** Registry failures that are about one hostile or broken artifact, not about reaching the registry. */
const ARTIFACT_FAULTS = new Set([
  'BlobTooLarge',
  'ManifestTooLarge',
  'DigestMismatch',
  'SizeMismatch',
  'InvalidManifest',
  'UnsupportedMediaType',
]);

function isArtifactFault(err: unknown): err is RegistryError {
  return err instanceof RegistryError && ARTIFACT_FAULTS.has(err.reason);
}

function isNotFound(err: unknown): boolean {
  return err instanceof RegistryError && err.reason === 'NotFound';
}

/** The top-level artifactType of a manifest, read from its bytes (the parsed form drops it). */
function manifestArtifactType(bytes: Buffer): string | undefined {
  try {
    const doc: unknown = JSON.parse(bytes.toString('utf8'));
    const value =
      typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)['artifactType'] : undefined;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The tag cosign (and the OCI referrers tag schema) derive from a digest: `sha256-<hex>`. */
export function digestTag(digest: string): string {
  return digest.replace(':', '-');
}

/** What is known of registries' referrers API: a Map, or a bounded cache with a TTL. */
export interface ReferrersApiKnowledge {
  get(registry: string): boolean | undefined;
  set(registry: string, offered: boolean): unknown;
}

export class SignatureDiscovery {
  private readonly limits: DiscoveryLimits;

  /** A registry's first referrers call, while nobody knows yet whether it offers the API. */
  private readonly probes = new Map<string, Promise<unknown>>();

  constructor(
    private readonly registry: SignatureRegistry,
    limits: Partial<DiscoveryLimits> = {},
    /** Whether each registry offers the referrers API (false: skip straight to the tag). */
    private readonly referrersApi: ReferrersApiKnowledge = new Map(),
  ) {
    this.limits = { ...DEFAULT_DISCOVERY_LIMITS, ...limits };
  }

  /** Throws RegistryError when the registry cannot be asked (unreachable, refused, 5xx). */
  async discover(
    image: ImageReference,
    digest: string,
    options: CallOptions = {},
  ): Promise<DiscoveredSignatures> {
    const repo: ImageReference = { registry: image.registry, repository: image.repository };
    const evidence: SignatureEvidence[] = [];
    const problems: SignatureProblem[] = [];
    const consulted: DiscoverySource[] = [];

    let referrers: readonly Descriptor[] = [];
    let source: DiscoverySource = 'referrers-api';
    let index: ImageIndex | undefined;
    let offered = this.referrersApi.get(image.registry);
    const probe = offered === undefined ? this.probes.get(image.registry) : undefined;
    if (probe !== undefined) {
      // A burst of first-seen images asks once whether the registry has the API, not once each.
      await probe.catch(() => undefined);
      offered = this.referrersApi.get(image.registry);
    }
    if (offered !== false) {
      consulted.push('referrers-api');
      const asked = this.registry.getReferrers(repo, digest, options);
      if (offered === undefined && !this.probes.has(image.registry)) {
        this.probes.set(image.registry, asked);
        asked.finally(() => this.probes.delete(image.registry)).catch(() => undefined);
      }
      index = await asked;
      this.referrersApi.set(image.registry, index !== undefined);
    }
    if (index === undefined) {
      source = 'referrers-tag';
      consulted.push('referrers-tag');
      index = await this.optionalManifest(repo, digestTag(digest), options, problems, source).then((m) => {
        if (m === undefined) return undefined;
        if (m.manifest.kind !== 'index') {
          problems.push({
            reason: 'MalformedArtifact',
            artifact: `${source} ${digestTag(digest)}`,
            message: `the referrers tag ${digestTag(digest)} is not an image index`,
          });
          return undefined;
        }
        return m.manifest;
      });
    }
    // An index may list one manifest several times; each is read once (and counts once toward the cap).
    if (index !== undefined) referrers = [...new Map(index.manifests.map((d) => [d.digest, d])).values()];

    // Bundles first, so a flood of other referrers cannot push the signatures past the cap.
    const ranked = [...referrers].sort(
      (a, b) =>
        Number(!(a.artifactType ?? '').startsWith(BUNDLE_MEDIA_TYPE_PREFIX)) -
        Number(!(b.artifactType ?? '').startsWith(BUNDLE_MEDIA_TYPE_PREFIX)),
    );
    if (ranked.length > this.limits.maxReferrers) {
      problems.push({
        reason: 'MalformedArtifact',
        artifact: source,
        message: `the image has ${ranked.length} referrers; only the first ${this.limits.maxReferrers} were read`,
      });
    }
    for (const descriptor of ranked.slice(0, this.limits.maxReferrers)) {
      const found = await this.referrerEvidence(repo, digest, descriptor, source, options);
      if (found === undefined) continue;
      if ('reason' in found) problems.push(found);
      else evidence.push(found);
    }

    // A v3-signed image needs nothing more; otherwise look for the classic layout.
    const hasPlainSignature = evidence.some(
      (e) => e.statement.predicateType === undefined || e.statement.predicateType === COSIGN_SIGN_PREDICATE,
    );
    if (!hasPlainSignature) {
      consulted.push('cosign-tag');
      const tag = `${digestTag(digest)}.sig`;
      const sig = await this.optionalManifest(repo, tag, options, problems, 'cosign-tag');
      if (sig !== undefined) await this.classic(repo, tag, sig, options, evidence, problems);
    }
    return { evidence, problems, consulted };
  }

  private async optionalManifest(
    repo: ImageReference,
    tag: string,
    options: CallOptions,
    problems: SignatureProblem[],
    source: DiscoverySource,
  ): Promise<FetchedManifest | undefined> {
    try {
      return await this.registry.getManifest({ ...repo, tag }, options);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (isArtifactFault(err)) {
        problems.push({ reason: 'MalformedArtifact', artifact: `${source} ${tag}`, message: err.message });
        return undefined;
      }
      throw err;
    }
  }

  private async referrerEvidence(
    repo: ImageReference,
    digest: string,
    descriptor: Descriptor,
    source: DiscoverySource,
    options: CallOptions,
  ): Promise<SignatureEvidence | SignatureProblem | undefined> {
    const artifact = `${source} ${descriptor.digest}`;
    try {
      const fetched = await this.registry.getManifest({ ...repo, digest: descriptor.digest }, options);
      if (fetched.manifest.kind !== 'manifest') return undefined;
      const manifest = fetched.manifest;
      const type = manifestArtifactType(fetched.bytes) ?? manifest.config.mediaType;
      const layer = manifest.layers[0];
      if (!type.startsWith(BUNDLE_MEDIA_TYPE_PREFIX) || layer === undefined) return undefined;
      if (manifest.subject?.digest !== digest) {
        return {
          reason: 'SubjectMismatch',
          artifact,
          message: `${artifact}: the bundle manifest's subject is ${manifest.subject?.digest ?? 'missing'}, not the image ${digest}`,
        };
      }
      if (!layer.mediaType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX)) {
        return {
          reason: 'MalformedArtifact',
          artifact,
          message: `${artifact}: its layer is ${layer.mediaType}, not a bundle`,
        };
      }
      const bytes = await this.registry.fetchBlobBytes(repo, layer, {
        ...options,
        maxBytes: this.limits.maxBlobBytes,
      });
      const result = bundleEvidence(artifact, source, bytes);
      return result.ok ? result.evidence : result.problem;
    } catch (err) {
      if (isArtifactFault(err) || isNotFound(err)) {
        return { reason: 'MalformedArtifact', artifact, message: `${artifact}: ${(err as Error).message}` };
      }
      throw err;
    }
  }

  private async classic(
    repo: ImageReference,
    tag: string,
    fetched: FetchedManifest,
    options: CallOptions,
    evidence: SignatureEvidence[],
    problems: SignatureProblem[],
  ): Promise<void> {
    if (fetched.manifest.kind !== 'manifest') {
      problems.push({
        reason: 'MalformedArtifact',
        artifact: `cosign-tag ${tag}`,
        message: `${tag} is not an image manifest`,
      });
      return;
    }
    const layers = fetched.manifest.layers.filter((l) => l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE);
    if (layers.length > this.limits.maxClassicLayers) {
      problems.push({
        reason: 'MalformedArtifact',
        artifact: `cosign-tag ${tag}`,
        message: `${tag} has ${layers.length} signatures; only the first ${this.limits.maxClassicLayers} were read`,
      });
    }
    for (const [i, layer] of layers.slice(0, this.limits.maxClassicLayers).entries()) {
      const artifact = `cosign-tag ${tag} layer ${i}`;
      try {
        const payload = await this.registry.fetchBlobBytes(repo, layer, {
          ...options,
          maxBytes: this.limits.maxBlobBytes,
        });
        const result = classicEvidence(artifact, 'cosign-tag', layer.annotations ?? {}, payload);
        if (result.ok) evidence.push(result.evidence);
        else problems.push(result.problem);
      } catch (err) {
        if (!isArtifactFault(err) && !isNotFound(err)) throw err;
        problems.push({
          reason: 'MalformedArtifact',
          artifact,
          message: `${artifact}: ${(err as Error).message}`,
        });
      }
    }
  }
}
