// Background image analysis for the operator: a reconcile asks what is known about an
// image and never waits for a registry. The first question starts a scan (one per
// image and set of pull secrets, however many workloads ask), later questions get the
// result, and `onResult` tells the operator when to reconcile again. Results expire
// (failures soon, successes after the rescan interval) and at most `maxTrackedImages`
// are kept, least recently used first out, so memory stays bounded.
import type { V1PodSpec } from '@kubernetes/client-node';

import type { ImageAnalysisState } from '../api/report-types.js';
import type {
  AnalyzeOptions,
  AnalyzerLogger,
  ImageAnalysis,
  ImageAnalysisFailureReason,
  ImageAnalysisSuccess,
} from './image-analyzer.js';
import { fetchPullCredentials, type SecretReader, type SecretRef } from './credentials.js';
import type { ImageFacts, ImageFactsSource } from '../policy/image-facts.js';
import type { CredentialSource } from '../registry/auth.js';
import type { Platform } from '../registry/manifest.js';
import { osLabel } from '../sbom/analyzers/os-release.js';
import { sleep, systemClock, type Clock } from '../runtime/clock.js';
import { Slots } from '../runtime/slots.js';

/** The parts of a pod spec that decide which credentials pull its images. */
export type ScannedPodSpec = Pick<V1PodSpec, 'imagePullSecrets' | 'serviceAccountName'>;

/** Credentials for a pod's images; PullCredentials (from fetchPullCredentials) fits. */
export interface ScanCredentials {
  readonly source: CredentialSource;
  /** The secrets tried, by namespace/name only. */
  readonly secrets: readonly { readonly name: string }[];
  /** Referenced secrets that were missing or unreadable, as sentences naming them. */
  readonly problems: readonly string[];
}

export type CredentialsFor = (namespace: string, podSpec: ScannedPodSpec) => Promise<ScanCredentials>;

export type AnalyzeImage = (imageRef: string, options: AnalyzeOptions) => Promise<ImageAnalysis>;

/** Why a scan failed: the analyzer's reasons, or the pull secrets could not be read at all. */
export type ImageScanFailureReason = ImageAnalysisFailureReason | 'PullSecretsUnavailable';

export type ImageScanStatus =
  | { readonly state: 'Pending' }
  | {
      readonly state: 'Analyzed';
      readonly digest: string;
      readonly facts: ImageFacts;
      readonly analysis: ImageAnalysisSuccess;
    }
  | {
      readonly state: 'Failed';
      readonly reason: ImageScanFailureReason;
      /** One sentence a user can act on (at most 1024 characters); never contains credentials. */
      readonly message: string;
      readonly registry?: string;
    };

export interface ImageScannerOptions {
  /** The ImageAnalyzer, or its analyze function. */
  readonly analyzer: AnalyzeImage | { analyze: AnalyzeImage };
  /** Production: pullCredentialsFromApi(CoreV1Api); tests pass a fake. */
  readonly credentialsFor: CredentialsFor;
  readonly clock?: Clock;
  /** Scans run at once (default 2); the analyzer bounds layer walks on its own as well. */
  readonly concurrency?: number;
  /** Called when a scan finishes with a result different from the one before. */
  readonly onResult?: (image: string, namespace: string) => void;
  /** When a failed scan is tried again (default 5 min). */
  readonly failureTtlMs?: number;
  /** When a failure that may go away by itself (timeouts, 5xx, 429) is tried again (default 30 s). */
  readonly retryableFailureTtlMs?: number;
  /** When an analysed image is scanned again, as its tag may have moved (default 6 h). */
  readonly rescanIntervalMs?: number;
  /** Images (per pull-secret set) remembered at most (default 1024). */
  readonly maxTrackedImages?: number;
  /** How long shutdown() waits for scans in flight (default 30 s). */
  readonly shutdownTimeoutMs?: number;
  readonly platform?: Platform;
  readonly logger?: AnalyzerLogger;
}

export const DEFAULT_FAILURE_TTL_MS = 5 * 60_000;
export const DEFAULT_RETRYABLE_FAILURE_TTL_MS = 30_000;
export const DEFAULT_RESCAN_INTERVAL_MS = 6 * 60 * 60_000;
export const DEFAULT_MAX_TRACKED_IMAGES = 1024;
const DEFAULT_CONCURRENCY = 2;
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;
const MAX_MESSAGE = 1024;

const PENDING: ImageScanStatus = Object.freeze({ state: 'Pending' });

type SettledStatus = Exclude<ImageScanStatus, { state: 'Pending' }>;

interface TrackedImage {
  readonly key: string;
  readonly image: string;
  readonly namespace: string;
  /** Only what decides credentials, so a tracked image does not pin a whole pod spec. */
  readonly podSpec: ScannedPodSpec;
  result?: { status: SettledStatus; expiresAt: number };
  scanning: boolean;
}

/**
 * The cache key of a scan: the image as written plus which pull secrets apply
 * (namespace, service account, the pod's secret names sorted). Names only, never contents.
 */
export function imageScanKey(namespace: string, podSpec: ScannedPodSpec, image: string): string {
  return JSON.stringify([namespace, serviceAccountOf(podSpec), podSecretNames(podSpec), image]);
}

/** The fields a SecurityReport's status.images[] entry carries about the analysis. Pure. */
export function reportedAnalysisOf(status: ImageScanStatus): {
  analysis: ImageAnalysisState;
  reason?: string;
  message?: string;
  os?: string;
  packages?: number;
} {
  switch (status.state) {
    case 'Pending':
      return { analysis: 'Pending' };
    case 'Failed':
      return { analysis: 'Failed', reason: status.reason, message: truncate(status.message, MAX_MESSAGE) };
    case 'Analyzed': {
      const os = osLabel(status.analysis.inventory.os);
      return {
        analysis: 'Analyzed',
        ...(os === undefined ? {} : { os }),
        packages: status.analysis.inventory.packages.length,
      };
    }
  }
}

/** Production credentials: the pod's and its service account's pull secrets, read through CoreV1Api. */
export function pullCredentialsFromApi(api: SecretReader, operatorSecret?: SecretRef): CredentialsFor {
  return async (namespace, podSpec) => {
    const pod = {
      metadata: { namespace, name: '' },
      spec: { imagePullSecrets: podSpec.imagePullSecrets, serviceAccountName: serviceAccountOf(podSpec) },
    };
    const credentials = await fetchPullCredentials(api, pod, operatorSecret);
    // One scan serves every pod with the same secrets, so no pod name belongs in its messages.
    const podPrefix = `pod ${namespace}/ `;
    return {
      ...credentials,
      problems: credentials.problems.map((p) =>
        p.startsWith(podPrefix) ? `the pod spec in namespace ${namespace} ${p.slice(podPrefix.length)}` : p,
      ),
    };
  };
}

export class ImageScanner {
  private readonly analyze: AnalyzeImage;
  private readonly credentialsFor: CredentialsFor;
  private readonly clock: Clock;
  private readonly onResult: (image: string, namespace: string) => void;
  private readonly failureTtlMs: number;
  private readonly retryableFailureTtlMs: number;
  private readonly rescanIntervalMs: number;
  private readonly maxTrackedImages: number;
  private readonly shutdownTimeoutMs: number;
  private readonly platform: Platform | undefined;
  private readonly logger: AnalyzerLogger | undefined;
  private readonly slots: Slots;
  /** Insertion order is recency: a lookup moves its entry to the end, eviction takes the front. */
  private readonly entries = new Map<string, TrackedImage>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  private shutdownPromise: Promise<void> | undefined;

  constructor(options: ImageScannerOptions) {
    const analyzer = options.analyzer;
    this.analyze = typeof analyzer === 'function' ? analyzer : (ref, opts) => analyzer.analyze(ref, opts);
    this.credentialsFor = options.credentialsFor;
    this.clock = options.clock ?? systemClock;
    this.onResult = options.onResult ?? (() => undefined);
    this.failureTtlMs = options.failureTtlMs ?? DEFAULT_FAILURE_TTL_MS;
    this.retryableFailureTtlMs = options.retryableFailureTtlMs ?? DEFAULT_RETRYABLE_FAILURE_TTL_MS;
    this.rescanIntervalMs = options.rescanIntervalMs ?? DEFAULT_RESCAN_INTERVAL_MS;
    this.maxTrackedImages = Math.max(1, options.maxTrackedImages ?? DEFAULT_MAX_TRACKED_IMAGES);
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    this.platform = options.platform;
    this.logger = options.logger;
    this.slots = new Slots(Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY));
  }

  /** Images remembered right now (bounded by maxTrackedImages). */
  get trackedImages(): number {
    return this.entries.size;
  }

  /** Scans started and not finished (queued or running). */
  get scansInFlight(): number {
    return this.running.size;
  }

  /**
   * What is known about `image` as a pod in `namespace` with `podSpec`'s pull secrets
   * would pull it. A missing or expired result starts a scan in the background (one at
   * a time per key); meanwhile the answer is Pending, or the previous result.
   */
  statusOf(namespace: string, podSpec: ScannedPodSpec, image: string): ImageScanStatus {
    const key = imageScanKey(namespace, podSpec, image);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      const credentialFields: ScannedPodSpec = {
        imagePullSecrets: podSecretNames(podSpec).map((name) => ({ name })),
        serviceAccountName: serviceAccountOf(podSpec),
      };
      entry = { key, image, namespace, podSpec: credentialFields, scanning: false };
      this.entries.set(key, entry);
      this.evictOverflow();
    } else {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    const expired = entry.result === undefined || this.clock.now() >= entry.result.expiresAt;
    if (expired && !entry.scanning && !this.stopped) this.startScan(entry);
    return entry.result?.status ?? PENDING;
  }

  /** Image facts for the rule engine: analysed images only. Looking an image up counts as asking for it. */
  factsSource(namespace: string, podSpec: ScannedPodSpec): ImageFactsSource {
    return (image: string) => {
      const status = this.statusOf(namespace, podSpec, image);
      return status.state === 'Analyzed' ? status.facts : undefined;
    };
  }

  /** Starts no new scans and waits (at most shutdownTimeoutMs) for those in flight. Idempotent. */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.drain();
    return this.shutdownPromise;
  }

  private async drain(): Promise<void> {
    this.stopped = true;
    const abort = new AbortController();
    await Promise.race([
      Promise.allSettled([...this.running]),
      sleep(this.clock, this.shutdownTimeoutMs, abort.signal),
    ]);
    abort.abort();
  }

  private evictOverflow(): void {
    while (this.entries.size > this.maxTrackedImages) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) return;
      // A scan in flight for an evicted entry finishes and is dropped (see finish()).
      this.entries.delete(oldest.value);
    }
  }

  private startScan(entry: TrackedImage): void {
    entry.scanning = true;
    const scan = this.slots
      .run(() => this.scan(entry))
      .catch((err: unknown) => {
        // scan() handles its own failures; this is a bug, kept out of the caller's way.
        this.logger?.warn('image scan failed unexpectedly', {
          controller: 'image-scanner',
          image: entry.image,
          namespace: entry.namespace,
          error: errorText(err),
        });
      })
      .finally(() => {
        entry.scanning = false;
        this.running.delete(scan);
      });
    this.running.add(scan);
  }

  private async scan(entry: TrackedImage): Promise<void> {
    // Queued scans of images evicted meanwhile, or after shutdown, are not worth starting.
    if (this.stopped || this.entries.get(entry.key) !== entry) return;
    const outcome = await this.analyzeWithCredentials(entry);
    this.finish(entry, outcome);
  }

  private async analyzeWithCredentials(
    entry: TrackedImage,
  ): Promise<{ status: SettledStatus; retryable: boolean }> {
    let credentials: ScanCredentials;
    try {
      credentials = await this.credentialsFor(entry.namespace, entry.podSpec);
    } catch (err) {
      return {
        status: {
          state: 'Failed',
          reason: 'PullSecretsUnavailable',
          message: truncate(
            `the pull secrets of ${describeSecrets(entry.namespace, entry.podSpec)} could not be read: ${apiFailure(err)}`,
            MAX_MESSAGE,
          ),
        },
        retryable: true,
      };
    }
    let analysis: ImageAnalysis;
    try {
      analysis = await this.analyze(entry.image, {
        credentials: credentials.source,
        ...(this.platform === undefined ? {} : { platform: this.platform }),
      });
    } catch (err) {
      analysis = {
        ok: false,
        reference: entry.image,
        reason: 'InternalError',
        message: `image analysis failed unexpectedly: ${errorText(err)}`,
        retryable: true,
      };
    }
    if (analysis.ok) {
      return {
        status: { state: 'Analyzed', digest: analysis.digest, facts: analysis.facts, analysis },
        retryable: false,
      };
    }
    // A missing or unreadable pull secret is the likely cause of a refused pull: say so.
    const secretTrouble =
      (analysis.reason === 'Unauthorized' || analysis.reason === 'NotFound') &&
      credentials.problems.length > 0
        ? ` (${credentials.problems.join('; ')})`
        : '';
    return {
      status: {
        state: 'Failed',
        reason: analysis.reason,
        message: truncate(`${analysis.message}${secretTrouble}`, MAX_MESSAGE),
        ...(analysis.registry === undefined ? {} : { registry: analysis.registry }),
      },
      retryable: analysis.retryable,
    };
  }

  private finish(entry: TrackedImage, outcome: { status: SettledStatus; retryable: boolean }): void {
    const now = this.clock.now();
    const previous = entry.result?.status;
    const { status, retryable } = outcome;
    const fields = { controller: 'image-scanner', image: entry.image, namespace: entry.namespace };
    if (status.state === 'Failed' && retryable && previous?.state === 'Analyzed') {
      // A registry hiccup does not unlearn an image: keep the facts and try again soon.
      entry.result = { status: previous, expiresAt: now + this.retryableFailureTtlMs };
      this.logger?.info('image rescan failed; keeping the earlier result', {
        ...fields,
        reason: status.reason,
      });
      return;
    }
    const ttl =
      status.state === 'Analyzed'
        ? this.rescanIntervalMs
        : retryable
          ? this.retryableFailureTtlMs
          : this.failureTtlMs;
    entry.result = { status, expiresAt: now + ttl };
    if (this.stopped || this.entries.get(entry.key) !== entry) return;
    if (previous !== undefined && sameStatus(previous, status)) return;
    if (status.state === 'Analyzed')
      this.logger?.debug('image analysed', { ...fields, digest: status.digest });
    else
      this.logger?.warn('image analysis failed', {
        ...fields,
        reason: status.reason,
        message: status.message,
      });
    try {
      this.onResult(entry.image, entry.namespace);
    } catch (err) {
      this.logger?.warn('image result handler failed', { ...fields, error: errorText(err) });
    }
  }
}

function sameStatus(a: SettledStatus, b: SettledStatus): boolean {
  if (a.state === 'Analyzed' && b.state === 'Analyzed') {
    return a.digest === b.digest && JSON.stringify(a.facts) === JSON.stringify(b.facts);
  }
  if (a.state === 'Failed' && b.state === 'Failed') {
    return a.reason === b.reason && a.message === b.message && a.registry === b.registry;
  }
  return false;
}

function serviceAccountOf(podSpec: ScannedPodSpec): string {
  return podSpec.serviceAccountName !== undefined && podSpec.serviceAccountName !== ''
    ? podSpec.serviceAccountName
    : 'default';
}

function podSecretNames(podSpec: ScannedPodSpec): string[] {
  const names = (podSpec.imagePullSecrets ?? []).map((r) => r.name ?? '').filter((n) => n !== '');
  return [...new Set(names)].sort();
}

/** "service account shop/default and pull secrets shop/a, shop/b": names only. */
function describeSecrets(namespace: string, podSpec: ScannedPodSpec): string {
  const secrets = podSecretNames(podSpec).map((name) => `${namespace}/${name}`);
  const account = `service account ${namespace}/${serviceAccountOf(podSpec)}`;
  if (secrets.length === 0) return account;
  return `${account} and pull ${secrets.length === 1 ? 'secret' : 'secrets'} ${secrets.join(', ')}`;
}

/** An API failure in words that carry no object content: the status code when there is one. */
function apiFailure(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  if (typeof code === 'number') {
    return code === 403
      ? 'the API server answered 403 (the operator may lack RBAC permission to read them)'
      : `the API server answered ${code}`;
  }
  return truncate(errorText(err), 200);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
