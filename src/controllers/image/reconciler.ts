// The ImageReport controller, keyed by image digest: it runs when a scan of
// that digest finishes, makes the digest's ImageReport say what the image
// service knows about it, and requeues the workloads that run it (found
// through the cache indexes, the one place that answers that question).
import type { SignatureResult } from '../../api/report-types.js';
import type { ImageRecord } from '../../image/image-service.js';
import { done, type ReconcileResult, type Reconciler } from '../../runtime/controller.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { LRUCache } from 'lru-cache';
import type { WorkloadKey } from '../workload/key.js';
import type { ImageReportWriter } from './io.js';

export interface ImageReconcilerDeps {
  /** What Shipshape knows about a digest (ImageService.imageRecord). */
  imageRecord(digest: string): ImageRecord | undefined;
  /** Signature verdicts per policy attestor (SignatureService.resultsFor). */
  signatureResults?(digest: string): SignatureResult[];
  writer: Pick<ImageReportWriter, 'publish'>;
  /** Workloads that run the digest, to requeue once its report is current. */
  workloadsRunning(digest: string, references: Iterable<string>): WorkloadKey[];
  requeueWorkload(key: WorkloadKey): void;
  clock?: Pick<Clock, 'now'>;
  /** Digests whose last publication is remembered, so an unchanged image writes nothing (default 4096). */
  maxRemembered?: number;
}

export class ImageReconciler implements Reconciler {
  private readonly clock: Pick<Clock, 'now'>;
  /** What was last published per digest. */
  private readonly published: LRUCache<string, string>;

  constructor(private readonly deps: ImageReconcilerDeps) {
    this.clock = deps.clock ?? systemClock;
    this.published = new LRUCache({ max: deps.maxRemembered ?? 4096 });
  }

  /** The digest's report was deleted (garbage collection): publish it again if the digest comes back. */
  forget(digest: string): void {
    this.published.delete(digest);
  }

  async reconcile(digest: string): Promise<ReconcileResult> {
    const record = this.deps.imageRecord(digest);
    if (record === undefined) return done;
    const references = [...record.references].sort();
    const signatures = this.deps.signatureResults?.(digest) ?? [];
    // A re-verification with the same outcome is no news: the check time alone does not rewrite.
    const verdicts = signatures.map(({ checkedAt: _at, ...rest }) => rest);
    const fingerprint = JSON.stringify([
      references,
      record.summary.manifestDigest,
      record.summary.packages,
      verdicts,
    ]);
    if (this.published.get(digest) !== fingerprint) {
      await this.deps.writer.publish({
        digest,
        references,
        summary: record.summary,
        signatures,
        now: new Date(this.clock.now()),
      });
      this.published.set(digest, fingerprint);
    }
    for (const key of this.deps.workloadsRunning(digest, references)) this.deps.requeueWorkload(key);
    return done;
  }
}
