// Image analysis as the operator and the CLI use it: image reference in, package
// inventory and rule-engine facts out. It joins the registry client (resolve, verified
// blob streams) and the layer walker (inventory), and turns every registry or image
// problem into a value with a reason and a message a user can act on: a scan of a
// hostile or broken image must never take the operator down. Concurrent requests for
// the same image digest share one analysis (single flight) and results are cached by
// digest. How many images are analysed at once is the caller's one bound (the
// operator's ImageService); the CLI analyses one.
import type { Readable } from 'node:stream';

import type { CredentialSource } from '../registry/auth.js';
import type { CallOptions, RegistryClient, ResolvedImage } from '../registry/client.js';
import { RegistryError, type RegistryErrorReason } from '../registry/errors.js';
import type { Platform } from '../registry/manifest.js';
import { formatImageReference, tryParseImageReference, type ImageReference } from '../registry/reference.js';
import type { ImageFacts } from '../policy/image-facts.js';
import { analyzeImage } from '../sbom/analyze-image.js';
import { DEFAULT_ANALYZERS, analyzerSetVersion } from '../sbom/analyzers/index.js';
import type { Analyzer } from '../sbom/analyzers/index.js';
import type { InventoryCache } from '../sbom/cache.js';
import type { ImageConfigJson } from '../sbom/image-config.js';
import { isImageAnalysisError } from '../sbom/types.js';
import type {
  ImageAnalysisErrorReason,
  ImageInventory,
  LayerSource,
  LimitName,
  WalkLimits,
} from '../sbom/types.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import type { CompactInventory, CompactInventoryTooLarge } from './compact-inventory.js';

/** The registry operations the analyzer needs; RegistryClient provides them, tests may fake them. */
export type ImageSource = Pick<RegistryClient, 'resolveImage' | 'openBlob' | 'fetchBlobBytes'>;

export type ImageAnalysisFailureReason =
  | RegistryErrorReason
  | ImageAnalysisErrorReason
  /** The image configuration blob is not the JSON object an image config must be. */
  | 'InvalidImageConfig'
  /** A bug or an unexpected runtime failure; the message says what happened. */
  | 'InternalError'
  /** The analysis ran past its wall-clock budget (per image or per layer) and was stopped. */
  | 'AnalysisTimeout'
  /** The analysis needed more heap than its worker may have, and the worker was stopped. */
  | 'AnalysisMemoryLimit'
  /** The image is bigger than the analysis budget allows (bytes, entries, layers, metadata). */
  | 'AnalysisTooLarge'
  /** The worker analysing the image ended without an answer (a crash, not a budget). */
  | 'AnalysisCrashed';

export interface ImageAnalysisSuccess {
  readonly ok: true;
  /** The reference as the caller wrote it. */
  readonly reference: string;
  /** What the reference resolves to (an index digest for multi-platform images): the pod's imageID. */
  readonly digest: string;
  /** The digest of the platform's image manifest, the key of the inventory cache. */
  readonly manifestDigest: string;
  readonly platform?: Platform;
  readonly inventory: ImageInventory;
  readonly facts: ImageFacts;
  /**
   * Set when the inventory crossed a thread boundary without its lists (packages,
   * layers and warnings emptied) so a hostile image's package list never lands on the
   * operator's event loop: the counts are here, the full inventory is in the
   * worker's inventory cache under manifestDigest.
   */
  readonly trimmed?: { readonly packages: number; readonly layers: number; readonly warnings: number };
  /** With `trimmed`: what vulnerability matching reads of the packages (or why it is too large to send). */
  readonly compact?: CompactInventory | CompactInventoryTooLarge;
}

export interface ImageAnalysisFailure {
  readonly ok: false;
  readonly reference: string;
  readonly reason: ImageAnalysisFailureReason;
  /** One line a user can act on; never contains credentials. */
  readonly message: string;
  /** The registry involved, when the failure came from one. */
  readonly registry?: string;
  /** The digest, when the reference got as far as resolving. */
  readonly digest?: string;
  /** True when trying again later may succeed (timeouts, 5xx, 429, network). */
  readonly retryable: boolean;
  /** The layer that failed (walk limits, corrupt or unreadable layers). */
  readonly layer?: { readonly index: number; readonly digest: string };
  /** The limit that was exceeded, with its configured value. */
  readonly limit?: { readonly name: LimitName; readonly value: number };
  /** The file inside the image, when one file is to blame. */
  readonly path?: string;
}

export type ImageAnalysis = ImageAnalysisSuccess | ImageAnalysisFailure;

export interface AnalyzeOptions {
  /** Credentials for this image (a pod's pull secrets); the client's default source otherwise. */
  readonly credentials?: CredentialSource;
  readonly platform?: Platform;
}

/** Structured logging hook (winston's Logger fits); fields never carry secrets. */
export interface AnalyzerLogger {
  debug(message: string, fields: Record<string, unknown>): unknown;
  info(message: string, fields: Record<string, unknown>): unknown;
  warn(message: string, fields: Record<string, unknown>): unknown;
}

export interface ImageAnalyzerOptions {
  readonly registry: ImageSource;
  readonly cache?: InventoryCache;
  readonly limits?: Partial<WalkLimits>;
  /** Largest image configuration blob read (default 8 MiB). */
  readonly maxConfigBytes?: number;
  readonly analyzers?: readonly Analyzer[];
  readonly clock?: Pick<Clock, 'now'>;
  readonly logger?: AnalyzerLogger;
}

const DEFAULT_MAX_CONFIG_BYTES = 8 * 1024 * 1024;

type InventoryOutcome =
  { ok: true; inventory: ImageInventory; config: ImageConfigJson } | Omit<ImageAnalysisFailure, 'reference'>;

export class ImageAnalyzer {
  private readonly registry: ImageSource;
  private readonly cache: InventoryCache | undefined;
  private readonly limits: Partial<WalkLimits>;
  private readonly analyzers: readonly Analyzer[];
  private readonly maxConfigBytes: number;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly logger: AnalyzerLogger | undefined;
  /** Analyses in progress by manifest digest: later callers join the first one. */
  private readonly inFlight = new Map<string, Promise<InventoryOutcome>>();

  constructor(options: ImageAnalyzerOptions) {
    this.registry = options.registry;
    this.cache = options.cache;
    this.limits = options.limits ?? {};
    this.analyzers = options.analyzers ?? DEFAULT_ANALYZERS;
    this.maxConfigBytes = options.maxConfigBytes ?? DEFAULT_MAX_CONFIG_BYTES;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
  }

  /** Analyses the image a reference names. Never rejects: every problem is an ImageAnalysisFailure. */
  async analyze(imageRef: string, options: AnalyzeOptions = {}): Promise<ImageAnalysis> {
    const started = this.clock.now();
    const result = await this.analyzeUnsafe(imageRef, options).catch((err: unknown): ImageAnalysis => ({
      reference: imageRef,
      ...failureFromThrown(err),
    }));
    const fields: Record<string, unknown> = { image: imageRef, ms: this.clock.now() - started };
    if (result.ok) {
      this.logger?.debug('image analysed', {
        ...fields,
        digest: result.digest,
        packages: result.inventory.packages.length,
      });
    } else {
      this.logger?.warn('image analysis failed', {
        ...fields,
        reason: result.reason,
        message: result.message,
        ...(result.registry === undefined ? {} : { registry: result.registry }),
      });
    }
    return result;
  }

  private async analyzeUnsafe(imageRef: string, options: AnalyzeOptions): Promise<ImageAnalysis> {
    const parsed = tryParseImageReference(imageRef);
    if (!parsed.ok) {
      return {
        ok: false,
        reference: imageRef,
        reason: 'InvalidReference',
        message: parsed.error,
        retryable: false,
      };
    }
    const ref = parsed.reference;
    const call: CallOptions = {
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      ...(options.platform === undefined ? {} : { platform: options.platform }),
    };
    let resolved: ResolvedImage;
    try {
      resolved = await this.registry.resolveImage(ref, call);
    } catch (err) {
      return { reference: imageRef, ...failureFromThrown(err) };
    }

    const key = resolved.manifestDigest;
    let flight = this.inFlight.get(key);
    if (flight === undefined) {
      flight = this.inventoryOf(ref, resolved, call)
        .catch((err: unknown) => failureFromThrown(err))
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, flight);
    }
    const outcome = await flight;
    if (!outcome.ok) return { ...outcome, reference: imageRef, digest: resolved.digest };
    return {
      ok: true,
      reference: imageRef,
      digest: resolved.digest,
      manifestDigest: resolved.manifestDigest,
      ...(resolved.platform === undefined ? {} : { platform: resolved.platform }),
      inventory: outcome.inventory,
      facts: imageFactsOf(resolved.digest, outcome.inventory, outcome.config),
    };
  }

  /** Config, then layers (each verified while it streams), then the inventory; cache first. */
  private async inventoryOf(
    ref: ImageReference,
    resolved: ResolvedImage,
    call: CallOptions,
  ): Promise<InventoryOutcome> {
    const image = formatImageReference(ref);
    let configBytes: Buffer;
    try {
      configBytes = await this.registry.fetchBlobBytes(ref, resolved.config, {
        ...call,
        maxBytes: this.maxConfigBytes,
      });
    } catch (err) {
      return failureFromThrown(err);
    }
    const config = parseImageConfig(configBytes);
    if (config === undefined) {
      return {
        ok: false,
        reason: 'InvalidImageConfig',
        message: `the configuration blob ${resolved.config.digest} of ${image} is not a JSON object`,
        registry: ref.registry,
        retryable: false,
      };
    }

    // The error a layer's stream failed with, so a digest mismatch or timeout keeps its reason.
    const streamErrors = new Map<number, unknown>();
    const layers: LayerSource[] = resolved.layers.map((descriptor, index) => ({
      digest: descriptor.digest,
      mediaType: descriptor.mediaType,
      size: descriptor.size,
      open: async (): Promise<Readable> => {
        try {
          const stream = await this.registry.openBlob(ref, descriptor, call);
          stream.once('error', (err) => streamErrors.set(index, err));
          return stream;
        } catch (err) {
          streamErrors.set(index, err);
          throw err;
        }
      },
    }));

    const walked = await analyzeImage({
      layers,
      config,
      limits: this.limits,
      analyzers: this.analyzers,
      imageDigest: resolved.manifestDigest,
      ...(this.cache === undefined ? {} : { cache: this.cache }),
    });
    if (!isImageAnalysisError(walked)) return { ok: true, inventory: walked, config };

    const cause = walked.layer === undefined ? undefined : streamErrors.get(walked.layer.index);
    const fromRegistry = cause instanceof RegistryError ? cause : undefined;
    return {
      ok: false,
      // A layer that could not be read because the registry failed keeps the registry's reason.
      reason: fromRegistry?.reason ?? walked.reason,
      message: `${image}: ${walked.message}`,
      registry: ref.registry,
      retryable: fromRegistry?.retryable ?? false,
      ...(walked.layer === undefined ? {} : { layer: walked.layer }),
      ...(walked.limit === undefined ? {} : { limit: walked.limit }),
      ...(walked.path === undefined ? {} : { path: walked.path }),
    };
  }

  /** The analyzer set's version: inventories are cached under it. */
  get analyzerVersion(): string {
    return analyzerSetVersion(this.analyzers);
  }
}

function parseImageConfig(bytes: Buffer): ImageConfigJson | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as ImageConfigJson)
      : undefined;
  } catch {
    return undefined;
  }
}

function failureFromThrown(err: unknown): Omit<ImageAnalysisFailure, 'reference'> {
  if (err instanceof RegistryError) {
    return {
      ok: false,
      reason: err.reason,
      message: err.message,
      retryable: err.retryable,
      ...(err.registry === undefined ? {} : { registry: err.registry }),
    };
  }
  return {
    ok: false,
    reason: 'InternalError',
    message: `image analysis failed unexpectedly: ${err instanceof Error ? err.message : String(err)}`,
    retryable: true,
  };
}

/** Names of the env entries of an image config, never their values. */
export function envKeysOf(config: ImageConfigJson): string[] {
  const keys = new Set<string>();
  for (const entry of config.config?.Env ?? []) {
    if (typeof entry !== 'string') continue;
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (key !== '') keys.add(key);
  }
  return [...keys];
}

/** What the rule engine reads about an image, from its inventory and configuration. Pure. */
export function imageFactsOf(digest: string, inventory: ImageInventory, config: ImageConfigJson): ImageFacts {
  const facts = inventory.facts;
  const result: ImageFacts = {
    digest,
    user: facts.user,
    healthcheck: facts.healthcheck !== undefined,
    envKeys: envKeysOf(config),
    // Keys the analyzer flagged by their value (a URL with a password, say); values never leave it.
    secretEnvKeys: facts.secretEnvKeys,
    // What the registry stores and nodes download; the uncompressed size is in the inventory.
    sizeBytes: facts.compressedBytes,
    layers: facts.layerCount,
  };
  if (facts.created !== undefined) result.created = facts.created;
  // The platform OS from the config (linux, windows); the distribution is in inventory.os.
  if (facts.os !== undefined) result.os = facts.os;
  if (facts.architecture !== undefined) result.architecture = facts.architecture;
  return result;
}
