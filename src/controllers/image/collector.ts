// Garbage collection of ImageReports. An ImageReport is cluster-scoped and keyed by
// digest, shared by every workload that runs the image, so no owner reference can
// remove it: without this, every digest a cluster ever ran (each rebuild of each
// tag) stays in etcd for good. A sweep lists the ImageReports, asks the cache
// indexes (the one place that knows which workloads run a digest) whether anything
// still runs each one, and deletes a report once nothing has run its digest for a
// grace period: a rollout, a scale to zero or a CronJob between runs keeps it.
// The same sweep notices the other direction: a digest the image service knows and
// a workload runs, whose report is missing (collected before the digest came back,
// or deleted by hand), is handed back to the publisher, once per disappearance: the
// image queue retries a failed write with backoff, and a write the API server refuses
// for good is not tried again every sweep.
import { sleep, systemClock, type Clock } from '../../runtime/clock.js';
import type { WorkloadKey } from '../workload/key.js';

/** What the sweep reads of a stored ImageReport. */
export interface StoredImageReport {
  name: string;
  digest: string;
  references: string[];
}

export interface ImageReportCollectorDeps {
  /** Every stored ImageReport (paged by the io; only these fields are kept). */
  list(): Promise<StoredImageReport[]>;
  /** Deletes one; a report already gone is not an error. */
  delete(name: string): Promise<void>;
  /** Workloads that run the digest (Workloads.running over the cache indexes). */
  workloadsRunning(digest: string, references: Iterable<string>): WorkloadKey[];
  /** Told after a delete, so a publisher that remembers what it wrote writes the report again if the digest returns. */
  forget?(digest: string): void;
  /** Digests the image service has analysed, with the references seen for each. */
  knownDigests?(): Iterable<{ digest: string; references: Iterable<string> }>;
  /** A running, known digest has no report: write it again (forget what was published, enqueue it). */
  republish?(digest: string): void;
  clock?: Clock;
  /** How long nothing may run a digest before its report goes (default 1 h). */
  graceMs?: number;
  /** Time between sweeps (default 5 min). */
  intervalMs?: number;
  /** Errors of a sweep (a failed list or delete): the next sweep tries again. */
  onError?(error: unknown): void;
}

export interface SweepResult {
  /** Reports listed. */
  reports: number;
  /** Digests nothing runs, still inside their grace period. */
  orphaned: number;
  /** Names of the reports deleted by this sweep. */
  deleted: string[];
  /** Running digests whose missing report was handed back to the publisher. */
  republished: string[];
}

export const DEFAULT_IMAGE_REPORT_GRACE_MS = 60 * 60 * 1000;
export const DEFAULT_IMAGE_REPORT_SWEEP_MS = 5 * 60 * 1000;

export class ImageReportCollector {
  private readonly clock: Clock;
  private readonly graceMs: number;
  private readonly intervalMs: number;
  /** When each digest was first seen run by nothing; only digests of listed reports are kept. */
  private readonly orphanSince = new Map<string, number>();
  /** Running digests handed back whose report has not been listed since; only known digests are kept. */
  private readonly handedBack = new Set<string>();
  private loop: { abort: AbortController; done: Promise<void> } | undefined;

  constructor(private readonly deps: ImageReportCollectorDeps) {
    this.clock = deps.clock ?? systemClock;
    this.graceMs = deps.graceMs ?? DEFAULT_IMAGE_REPORT_GRACE_MS;
    this.intervalMs = deps.intervalMs ?? DEFAULT_IMAGE_REPORT_SWEEP_MS;
  }

  /** One pass over the stored reports. Idempotent; a failed delete is retried by the next pass. */
  async sweep(): Promise<SweepResult> {
    const reports = await this.deps.list();
    const now = this.clock.now();
    const listed = new Set<string>();
    const deleted: string[] = [];
    let orphaned = 0;
    for (const report of reports) {
      listed.add(report.digest);
      if (this.deps.workloadsRunning(report.digest, report.references).length > 0) {
        this.orphanSince.delete(report.digest);
        continue;
      }
      const since = this.orphanSince.get(report.digest);
      if (since === undefined) this.orphanSince.set(report.digest, now);
      if (since === undefined || now - since < this.graceMs) {
        orphaned++;
        continue;
      }
      try {
        await this.deps.delete(report.name);
        this.orphanSince.delete(report.digest);
        this.deps.forget?.(report.digest);
        deleted.push(report.name);
      } catch (error) {
        this.deps.onError?.(error);
      }
    }
    for (const digest of this.orphanSince.keys()) if (!listed.has(digest)) this.orphanSince.delete(digest);
    const republished: string[] = [];
    const known = new Set<string>();
    for (const { digest, references } of this.deps.knownDigests?.() ?? []) {
      known.add(digest);
      if (listed.has(digest) || this.deps.workloadsRunning(digest, references).length === 0) {
        this.handedBack.delete(digest);
        continue;
      }
      if (this.handedBack.has(digest)) continue;
      this.handedBack.add(digest);
      this.deps.republish?.(digest);
      republished.push(digest);
    }
    for (const digest of this.handedBack) if (!known.has(digest)) this.handedBack.delete(digest);
    return { reports: reports.length, orphaned, deleted, republished };
  }

  /**
   * Sweeps every intervalMs until stop(). The first sweep waits one interval: a new
   * leader's caches and the reports it is about to write settle first.
   */
  start(): void {
    if (this.loop !== undefined) return;
    const abort = new AbortController();
    const done = (async () => {
      while (await sleep(this.clock, this.intervalMs, abort.signal)) {
        await this.sweep().catch((error: unknown) => this.deps.onError?.(error));
      }
    })();
    this.loop = { abort, done };
  }

  /** Stops the sweeps (idempotent); resolves once a running sweep has ended. */
  async stop(): Promise<void> {
    const loop = this.loop;
    this.loop = undefined;
    if (loop === undefined) return;
    loop.abort.abort();
    await loop.done;
  }
}
