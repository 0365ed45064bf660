// The image service: everything the operator knows about the images it runs, in
// one place. A reconcile asks what is known about an image and never waits for a
// registry: the first question starts a scan (one per image and set of pull
// secrets, however many workloads ask; at most `concurrency` at once), later
// questions get the result. What a scan learns is kept once per digest
// (`imageRecord(digest)`: facts, OS, package count, the references seen), and
// `onResult` tells the controllers when a result changed. Results expire
// (failures soon, successes after the rescan interval), and both the per-reference
// and per-digest tables are bounded LRU caches. The full inventory is kept only
// in the analyzer's size-bounded inventory cache, never here; what vulnerability
// matching reads of it (the compact inventory) is kept in one cache bounded in
// bytes, so every known digest can be re-matched when the vulnerability database
// changes without a registry request. An image whose compact inventory was
// evicted is marked for re-analysis instead (its next question rescans it).
import { LRUCache } from 'lru-cache';

import type { ImageAnalysisState } from '../api/report-types.js';
import type {
  AnalyzeOptions,
  AnalyzerLogger,
  ImageAnalysis,
  ImageAnalysisFailureReason,
  ImageAnalysisSuccess,
} from './image-analyzer.js';
import { MAX_WARNINGS_SENT } from './analysis-pool.js';
import {
  apiFailure,
  describeSecrets,
  imageScanKey,
  podSecretNames,
  serviceAccountOf,
  type CredentialsFor,
  type ScanCredentials,
  type ScannedPodSpec,
} from './credentials.js';
import type { ImageFacts, ImageFactsSource } from '../policy/image-facts.js';
import type { Platform } from '../registry/manifest.js';
import { osLabel } from '../sbom/analyzers/os-release.js';
import type { OsInfo } from '../sbom/types.js';
import { sleep, systemClock, type Clock } from '../runtime/clock.js';
import { Slots } from '../runtime/slots.js';
import { errorText, truncate } from '../runtime/text.js';
import type { SignatureService } from './signature-service.js';
import type { VulnerabilityDatabaseProvider, LoadedDatabase } from '../vuln/provider.js';
import {
  compactInventoryOf,
  isCompactInventoryTooLarge,
  type CompactInventory,
  type CompactInventoryTooLarge,
} from './compact-inventory.js';
import {
  sameFindings,
  matchInSlices,
  summarizeFindings,
  type ImageVulnerabilities,
} from './vulnerability-scan.js';

export type AnalyzeImage = (imageRef: string, options: AnalyzeOptions) => Promise<ImageAnalysis>;

/** Why a scan failed: the analyzer's reasons, or the pull secrets could not be read at all. */
export type ImageFailureReason = ImageAnalysisFailureReason | 'PullSecretsUnavailable';

/** What an analysis found, small enough to keep per digest (no package list). */
export interface ImageSummary {
  /** The digest the reference resolved to (an index digest for multi-platform images). */
  readonly digest: string;
  /** The platform manifest's digest: the key of the full inventory in the inventory cache. */
  readonly manifestDigest: string;
  readonly os?: OsInfo;
  readonly packages: number;
  /** Files the analysis could not read (an ELF over its section bound…): how many, and the first few. */
  readonly warnings?: { readonly count: number; readonly shown: readonly string[] };
}

/** The one result type of image analysis: Pending, Analyzed or Failed with a reason. */
export type ImageStatus =
  | { readonly state: 'Pending' }
  | {
      readonly state: 'Analyzed';
      readonly digest: string;
      readonly facts: ImageFacts;
      readonly summary: ImageSummary;
    }
  | {
      readonly state: 'Failed';
      readonly reason: ImageFailureReason;
      /** One sentence a user can act on (at most 1024 characters); never contains credentials. */
      readonly message: string;
      readonly registry?: string;
    };

/** What Shipshape knows about one image digest. */
export interface ImageRecord {
  readonly summary: ImageSummary;
  readonly facts: ImageFacts;
  /** References (as pods write them) seen resolving to this digest, most recent last. */
  readonly references: ReadonlySet<string>;
  /** When it was last analysed (clock milliseconds). */
  readonly analyzedAt: number;
  /** Absent when vulnerability matching is off (no database configured). */
  readonly vulnerabilities?: ImageVulnerabilities;
}

/** A scan result that changed: the controllers requeue what depends on it. */
export interface ImageResult {
  readonly image: string;
  readonly namespace: string;
  /** Set when the scan resolved the reference. */
  readonly digest?: string;
}

export interface ImageServiceOptions {
  /** The ImageAnalyzer, or its analyze function. */
  readonly analyzer: AnalyzeImage | { analyze: AnalyzeImage };
  /** Production: pullCredentialsFromApi(CoreV1Api); tests pass a fake. */
  readonly credentialsFor: CredentialsFor;
  readonly clock?: Clock;
  /** Scans run at once (default 2): the one bound on concurrent image analysis. */
  readonly concurrency?: number;
  /** Called when a scan finishes with a result different from the one before. */
  readonly onResult?: (result: ImageResult) => void;
  /** When a failed scan is tried again (default 5 min). */
  readonly failureTtlMs?: number;
  /** When a failure that may go away by itself (timeouts, 5xx, 429) is tried again (default 30 s). */
  readonly retryableFailureTtlMs?: number;
  /** When an analysed image is scanned again, as its tag may have moved (default 6 h). */
  readonly rescanIntervalMs?: number;
  /** Images (per pull-secret set) remembered at most (default 1024). */
  readonly maxTrackedImages?: number;
  /** Digests remembered at most (default 4096). */
  readonly maxTrackedDigests?: number;
  /** How long shutdown() waits for scans in flight (default 30 s). */
  readonly shutdownTimeoutMs?: number;
  readonly platform?: Platform;
  readonly logger?: AnalyzerLogger;
  /** Signature verdicts of analysed digests (same registry client and pull credentials). */
  readonly signatures?: SignatureService;
  /** The vulnerability database to match analysed images against; none: matching is off. */
  readonly vulnerabilities?: VulnerabilityDatabaseProvider;
  /** Bytes of compact inventories kept for re-matching (default 64 MiB). */
  readonly maxCompactInventoryBytes?: number;
  /** Target running time of one matching slice before it yields (default 8 ms). */
  readonly matchSliceMs?: number;
}

export const DEFAULT_FAILURE_TTL_MS = 5 * 60_000;
export const DEFAULT_RETRYABLE_FAILURE_TTL_MS = 30_000;
export const DEFAULT_RESCAN_INTERVAL_MS = 6 * 60 * 60_000;
export const DEFAULT_MAX_TRACKED_IMAGES = 1024;
export const DEFAULT_MAX_TRACKED_DIGESTS = 4096;
export const DEFAULT_MAX_COMPACT_INVENTORY_BYTES = 64 * 1024 * 1024;
/** References kept per digest (an ImageReport shows at most 16). */
const MAX_REFERENCES_PER_DIGEST = 16;
const DEFAULT_CONCURRENCY = 2;
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;
const MAX_MESSAGE = 1024;

const PENDING: ImageStatus = Object.freeze({ state: 'Pending' });

type SettledStatus = Exclude<ImageStatus, { state: 'Pending' }>;

interface TrackedImage {
  readonly key: string;
  readonly image: string;
  readonly namespace: string;
  /** Only what decides credentials, so a tracked image does not pin a whole pod spec. */
  readonly podSpec: ScannedPodSpec;
  result?: { status: SettledStatus; expiresAt: number };
  scanning: boolean;
}

/** The fields a SecurityReport's status.images[] entry carries about the analysis. Pure. */
export function reportedAnalysisOf(status: ImageStatus): {
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
      const os = osLabel(status.summary.os);
      return {
        analysis: 'Analyzed',
        ...(os === undefined ? {} : { os }),
        packages: status.summary.packages,
      };
    }
  }
}

export class ImageService {
  private readonly analyze: AnalyzeImage;
  private readonly credentialsFor: CredentialsFor;
  private readonly clock: Clock;
  private readonly listeners: ((result: ImageResult) => void)[] = [];
  private readonly failureTtlMs: number;
  private readonly retryableFailureTtlMs: number;
  private readonly rescanIntervalMs: number;
  private readonly shutdownTimeoutMs: number;
  private readonly platform: Platform | undefined;
  private readonly logger: AnalyzerLogger | undefined;
  private readonly slots: Slots;
  readonly signatures: SignatureService | undefined;
  /** By reference and pull-secret set; least recently asked out first. */
  private readonly entries: LRUCache<string, TrackedImage>;
  /** By digest: what scans learned, whichever reference and secrets they came through. */
  private readonly digests: LRUCache<string, ImageRecord>;
  /** By digest: what matching reads of each inventory, bounded in bytes. */
  private readonly compacts: LRUCache<string, CompactInventory>;
  private readonly provider: VulnerabilityDatabaseProvider | undefined;
  private readonly matchSliceMs: number | undefined;
  private unsubscribeProvider: (() => void) | undefined;
  /** The re-match in progress, and whether another was asked for meanwhile. */
  private rematching: Promise<void> | undefined;
  private rematchAgain = false;
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  private shutdownPromise: Promise<void> | undefined;

  constructor(options: ImageServiceOptions) {
    const analyzer = options.analyzer;
    this.analyze = typeof analyzer === 'function' ? analyzer : (ref, opts) => analyzer.analyze(ref, opts);
    this.credentialsFor = options.credentialsFor;
    this.clock = options.clock ?? systemClock;
    if (options.onResult) this.listeners.push(options.onResult);
    this.failureTtlMs = options.failureTtlMs ?? DEFAULT_FAILURE_TTL_MS;
    this.retryableFailureTtlMs = options.retryableFailureTtlMs ?? DEFAULT_RETRYABLE_FAILURE_TTL_MS;
    this.rescanIntervalMs = options.rescanIntervalMs ?? DEFAULT_RESCAN_INTERVAL_MS;
    this.entries = new LRUCache({ max: Math.max(1, options.maxTrackedImages ?? DEFAULT_MAX_TRACKED_IMAGES) });
    this.digests = new LRUCache({
      max: Math.max(1, options.maxTrackedDigests ?? DEFAULT_MAX_TRACKED_DIGESTS),
    });
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    this.platform = options.platform;
    this.logger = options.logger;
    this.slots = new Slots(Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY));
    this.signatures = options.signatures;
    this.compacts = new LRUCache({
      maxSize: Math.max(1, options.maxCompactInventoryBytes ?? DEFAULT_MAX_COMPACT_INVENTORY_BYTES),
      sizeCalculation: (compact) => Math.max(1, compact.bytes),
    });
    this.provider = options.vulnerabilities;
    this.matchSliceMs = options.matchSliceMs;
    this.unsubscribeProvider = this.provider?.subscribe(() => void this.rematchAll());
  }

  /** Whether analysed images are matched against a vulnerability database. */
  get matchesVulnerabilities(): boolean {
    return this.provider !== undefined;
  }

  /** Vulnerabilities by severity summed over the known digests, each digest once (for metrics). */
  vulnerabilityTotals(): { critical: number; high: number; medium: number; low: number; info: number } {
    const totals = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
    for (const record of this.digests.values()) {
      const v = record.vulnerabilities;
      if (v?.state !== 'Matched') continue;
      totals.critical += v.counts.critical;
      totals.high += v.counts.high;
      totals.medium += v.counts.medium;
      totals.low += v.counts.low;
      totals.info += v.counts.info;
    }
    return totals;
  }

  /** Compact inventories kept for re-matching, and their bytes (for metrics). */
  compactInventoryStats(): { entries: number; bytes: number } {
    return { entries: this.compacts.size, bytes: this.compacts.calculatedSize };
  }

  /**
   * Matches every known digest's cached compact inventory against the database in use,
   * with no registry request; a digest whose compact inventory was evicted is marked
   * for re-analysis. Digests whose findings changed are announced to the listeners.
   * Runs one at a time; a call during a run makes one more run after it when the
   * database changed meanwhile (the same database gives the same findings again).
   */
  rematchAll(): Promise<void> {
    const provider = this.provider;
    if (provider === undefined || this.stopped) return Promise.resolve();
    if (this.rematching !== undefined) {
      this.rematchAgain = true;
      return this.rematching;
    }
    const run = async (): Promise<void> => {
      let matchedWith: LoadedDatabase | undefined;
      do {
        this.rematchAgain = false;
        matchedWith = provider.current();
        for (const digest of this.knownDigests()) {
          // Released for a reload: the findings stand, and the loaded database asks again.
          if (this.stopped || provider.current() === undefined) return;
          await this.rematchDigest(digest);
        }
      } while (this.rematchAgain && provider.current() !== matchedWith && !this.stopped);
    };
    this.rematching = run()
      .catch((err: unknown) => {
        this.logger?.warn('vulnerability re-match failed', {
          controller: 'image-scanner',
          error: errorText(err),
        });
      })
      .finally(() => (this.rematching = undefined));
    return this.rematching;
  }

  private async rematchDigest(digest: string): Promise<void> {
    const record = this.digests.peek(digest);
    if (record === undefined) return;
    const compact = this.compacts.get(digest);
    let vulnerabilities: ImageVulnerabilities;
    if (compact === undefined) {
      if (
        record.vulnerabilities?.state === 'Unknown' &&
        record.vulnerabilities.reason === 'InventoryTooLarge'
      )
        return;
      // Evicted: the next question about the image analyses it again (layers come from the worker's cache).
      for (const entry of this.entries.values()) {
        const status = entry.result?.status;
        if (status?.state === 'Analyzed' && status.digest === digest && entry.result !== undefined)
          entry.result.expiresAt = 0;
      }
      // The earlier findings stand until then: they are older, not wrong.
      if (record.vulnerabilities?.state === 'Matched') return;
      vulnerabilities = {
        state: 'Unknown',
        reason: 'InventoryEvicted',
        message:
          'the package list of the image was evicted from the operator cache; it is analysed again on the next reconcile',
      };
    } else {
      vulnerabilities = await this.vulnerabilitiesOf(compact);
      if (standing(record.vulnerabilities, vulnerabilities) !== vulnerabilities) return;
    }
    const now = this.digests.peek(digest);
    // Re-analysed (or forgotten) while matching: that result is newer than this one.
    if (now !== record) return;
    if (sameVulnerabilities(record.vulnerabilities, vulnerabilities)) {
      // The list the rule engine reads (record.facts) stays the one list kept for the digest.
      const kept =
        record.vulnerabilities?.state === 'Matched' && vulnerabilities.state === 'Matched'
          ? { ...vulnerabilities, findings: record.vulnerabilities.findings }
          : vulnerabilities;
      this.digests.set(digest, { ...record, vulnerabilities: kept }, { noUpdateTTL: true });
      return;
    }
    this.digests.set(digest, withVulnerabilities(record, vulnerabilities));
    this.announce({ image: [...record.references].at(-1) ?? '', namespace: '', digest }, {});
  }

  /** Matches one compact inventory against the database in use. */
  private async vulnerabilitiesOf(
    compact: CompactInventory | CompactInventoryTooLarge | undefined,
  ): Promise<ImageVulnerabilities> {
    if (compact === undefined) {
      return {
        state: 'Unknown',
        reason: 'InventoryEvicted',
        message: 'the package list of the image is not known',
      };
    }
    if (isCompactInventoryTooLarge(compact)) {
      return { state: 'Unknown', reason: 'InventoryTooLarge', message: compact.message };
    }
    const loaded: LoadedDatabase | undefined = this.provider?.current();
    if (loaded === undefined) {
      const status = this.provider?.status();
      return {
        state: 'Unknown',
        reason: 'DatabaseUnavailable',
        message:
          status?.reloading === true
            ? 'a new version of the vulnerability database is loading; the image is matched when it has loaded'
            : `no vulnerability database has loaded yet${status?.message === undefined ? '' : `: ${status.message}`}`,
      };
    }
    const findings = await matchInSlices(compact, loaded, {
      ...(this.matchSliceMs === undefined ? {} : { sliceMs: this.matchSliceMs }),
    });
    return summarizeFindings(findings, loaded, this.clock.now());
  }

  /** Images remembered right now (bounded by maxTrackedImages). */
  get trackedImages(): number {
    return this.entries.size;
  }

  /** Calls `listener` whenever a scan finishes with a result different from the one before. */
  subscribe(listener: (result: ImageResult) => void): void {
    this.listeners.push(listener);
  }

  /** The tracked images by the state of their last analysis, failures by reason (for metrics). */
  analysisCounts(): { pending: number; analyzed: number; failed: Record<string, number> } {
    const counts = { pending: 0, analyzed: 0, failed: {} as Record<string, number> };
    for (const entry of this.entries.values()) {
      const status = entry.result?.status;
      if (status === undefined) counts.pending++;
      else if (status.state === 'Analyzed') counts.analyzed++;
      else counts.failed[status.reason] = (counts.failed[status.reason] ?? 0) + 1;
    }
    return counts;
  }

  /** Digests analysed and still remembered. */
  knownDigests(): string[] {
    return [...this.digests.keys()];
  }

  /** What Shipshape knows about `digest`, if a scan has analysed it. */
  imageRecord(digest: string): ImageRecord | undefined {
    return this.digests.get(digest);
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
  statusOf(namespace: string, podSpec: ScannedPodSpec, image: string): ImageStatus {
    const key = imageScanKey(namespace, podSpec, image);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      const credentialFields: ScannedPodSpec = {
        imagePullSecrets: podSecretNames(podSpec).map((name) => ({ name })),
        serviceAccountName: serviceAccountOf(podSpec),
      };
      entry = { key, image, namespace, podSpec: credentialFields, scanning: false };
      // A scan in flight for an entry evicted here finishes and is dropped (see finish()).
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
      // The record's facts carry the latest vulnerability match, re-matched after the scan.
      return status.state === 'Analyzed'
        ? (this.digests.peek(status.digest)?.facts ?? status.facts)
        : undefined;
    };
  }

  /** Starts no new scans and waits (at most shutdownTimeoutMs) for those in flight. Idempotent. */
  shutdown(): Promise<void> {
    this.unsubscribeProvider?.();
    this.unsubscribeProvider = undefined;
    this.shutdownPromise ??= this.drain();
    return this.shutdownPromise;
  }

  private async drain(): Promise<void> {
    this.stopped = true;
    void this.signatures?.shutdown();
    const abort = new AbortController();
    await Promise.race([
      Promise.allSettled([...this.running, ...(this.rematching === undefined ? [] : [this.rematching])]),
      sleep(this.clock, this.shutdownTimeoutMs, abort.signal),
    ]);
    abort.abort();
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
    if (this.stopped || this.entries.peek(entry.key) !== entry) return;
    const outcome = await this.analyzeWithCredentials(entry);
    let vulnerabilities: ImageVulnerabilities | undefined;
    if (outcome.status.state === 'Analyzed' && this.provider !== undefined) {
      const compact = outcome.compact;
      if (compact !== undefined && !isCompactInventoryTooLarge(compact))
        this.compacts.set(outcome.status.digest, compact);
      vulnerabilities = await this.vulnerabilitiesOf(compact);
    }
    this.finish(entry, outcome, vulnerabilities);
  }

  private async analyzeWithCredentials(entry: TrackedImage): Promise<ScanOutcome> {
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
      const summary: ImageSummary = {
        digest: analysis.digest,
        manifestDigest: analysis.manifestDigest,
        ...(analysis.inventory.os === undefined ? {} : { os: analysis.inventory.os }),
        packages: analysis.trimmed?.packages ?? analysis.inventory.packages.length,
        ...warningsOf(analysis),
      };
      return {
        status: { state: 'Analyzed', digest: analysis.digest, facts: analysis.facts, summary },
        retryable: false,
        // In-process analyzers (tests, the CLI) hand over the whole inventory.
        ...(this.provider === undefined
          ? {}
          : { compact: analysis.compact ?? compactInventoryOf(analysis.inventory) }),
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

  /** Records what a scan learned under the digest, merging the reference it came through. */
  private remember(
    image: string,
    status: Extract<ImageStatus, { state: 'Analyzed' }>,
    now: number,
    vulnerabilities: ImageVulnerabilities | undefined,
  ): boolean {
    const known = this.digests.get(status.digest);
    const references = new Set(known?.references ?? []);
    references.delete(image);
    references.add(image);
    while (references.size > MAX_REFERENCES_PER_DIGEST) references.delete(references.values().next().value!);
    const record: ImageRecord = { summary: status.summary, facts: status.facts, references, analyzedAt: now };
    const kept =
      vulnerabilities === undefined ? undefined : standing(known?.vulnerabilities, vulnerabilities);
    this.digests.set(status.digest, kept === undefined ? record : withVulnerabilities(record, kept));
    return !sameVulnerabilities(known?.vulnerabilities, kept);
  }

  private finish(entry: TrackedImage, outcome: ScanOutcome, vulnerabilities?: ImageVulnerabilities): void {
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
    const vulnerabilitiesChanged =
      status.state === 'Analyzed' && this.remember(entry.image, status, now, vulnerabilities);
    if (this.stopped || this.entries.peek(entry.key) !== entry) return;
    if (previous !== undefined && sameStatus(previous, status) && !vulnerabilitiesChanged) return;
    if (status.state === 'Analyzed')
      this.logger?.debug('image analysed', { ...fields, digest: status.digest });
    else
      this.logger?.warn('image analysis failed', {
        ...fields,
        reason: status.reason,
        message: status.message,
      });
    this.announce(
      {
        image: entry.image,
        namespace: entry.namespace,
        ...(status.state === 'Analyzed' ? { digest: status.digest } : {}),
      },
      fields,
    );
  }

  private announce(result: ImageResult, fields: Record<string, unknown>): void {
    for (const listener of this.listeners) {
      try {
        listener(result);
      } catch (err) {
        this.logger?.warn('image result handler failed', { ...fields, error: errorText(err) });
      }
    }
  }
}

interface ScanOutcome {
  status: SettledStatus;
  retryable: boolean;
  compact?: CompactInventory | CompactInventoryTooLarge;
}

/** The record with its vulnerabilities, and its facts carrying them for the rule engine. */
function withVulnerabilities(record: ImageRecord, vulnerabilities: ImageVulnerabilities): ImageRecord {
  const {
    vulnerabilities: _counts,
    vulnerabilityFindings: _list,
    vulnerabilitiesUnknown: _why,
    ...facts
  } = record.facts;
  if (vulnerabilities.state !== 'Matched')
    return {
      ...record,
      facts: { ...facts, vulnerabilitiesUnknown: vulnerabilities.message },
      vulnerabilities,
    };
  const { counts } = vulnerabilities;
  return {
    ...record,
    vulnerabilities,
    facts: {
      ...facts,
      vulnerabilities: {
        Critical: counts.critical,
        High: counts.high,
        Medium: counts.medium,
        Low: counts.low,
        Info: counts.info,
        fixable: counts.fixable,
      },
      // Shared, not copied: findings are values, and the rule engine reads them as they are.
      vulnerabilityFindings: vulnerabilities.findings,
    },
  };
}

/**
 * What a digest's vulnerabilities are after a new answer: the earlier match stands when
 * there is no database right now (released for a reload) — the same digest has the same
 * packages, and the loaded database re-matches it.
 */
function standing(
  earlier: ImageVulnerabilities | undefined,
  fresh: ImageVulnerabilities,
): ImageVulnerabilities {
  return fresh.state === 'Unknown' && fresh.reason === 'DatabaseUnavailable' && earlier?.state === 'Matched'
    ? earlier
    : fresh;
}

/** Same findings against the same database content: nothing to tell. */
function sameVulnerabilities(
  a: ImageVulnerabilities | undefined,
  b: ImageVulnerabilities | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.state === 'Unknown' || b.state === 'Unknown')
    return a.state === 'Unknown' && b.state === 'Unknown' && a.reason === b.reason;
  // A new database version is news even with the same findings: the ImageReport shows the version.
  if (a.databaseVersion !== b.databaseVersion || a.counts.total !== b.counts.total) return false;
  return sameFindings(a.findings, b.findings);
}
function sameStatus(a: SettledStatus, b: SettledStatus): boolean {
  // Facts and the digest decide the verdicts; the summary comes with the digest.
  if (a.state === 'Analyzed' && b.state === 'Analyzed') {
    return a.digest === b.digest && JSON.stringify(a.facts) === JSON.stringify(b.facts);
  }
  if (a.state === 'Failed' && b.state === 'Failed') {
    return a.reason === b.reason && a.message === b.message && a.registry === b.registry;
  }
  return false;
}

/** The summary's warnings: the count of all, the first MAX_WARNINGS_SENT of them. */
function warningsOf(analysis: ImageAnalysisSuccess): Pick<ImageSummary, 'warnings'> {
  const count = analysis.trimmed?.warnings ?? analysis.inventory.warnings.length;
  if (count === 0) return {};
  return { warnings: { count, shown: analysis.inventory.warnings.slice(0, MAX_WARNINGS_SENT) } };
}
