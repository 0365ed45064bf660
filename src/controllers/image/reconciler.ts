// The ImageReport controller, keyed by image digest: it runs when a scan of
// that digest finishes, makes the digest's ImageReport say what the image
// service knows about it, and requeues the workloads that run it (found
// through the cache indexes, the one place that answers that question).
import type { SignatureResult } from '../../api/report-types.js';
import type { ImageRecord } from '../../image/image-service.js';
import { TerminalError, done, type ReconcileResult, type Reconciler } from '../../runtime/controller.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { LRUCache } from 'lru-cache';
import type { WorkloadKey } from '../workload/key.js';
import type { ImageReportWriter } from './io.js';
import type { DatabaseStatus } from '../../vuln/provider.js';
import { findingKey } from '../../image/vulnerability-scan.js';
import type { FindingList } from '../../vuln/finding-list.js';

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
  /** The vulnerability database's status; absent when matching is off. */
  databaseStatus?(): DatabaseStatus;
  /** Called with the vulnerabilities a re-match found that the last publication of the digest did not have. */
  newVulnerabilities?(
    digest: string,
    references: readonly string[],
    added: readonly NewVulnerability[],
  ): void;
  /**
   * Called when the digest's report is refused for good (a TerminalError: it breaks the
   * schema, or the digest cannot name one), so users hear of it where they look, not
   * only in the operator's log. `problem` is the error's message.
   */
  reportRefused?(digest: string, references: readonly string[], problem: string): void;
}

/** A vulnerability that appeared in an image since its last ImageReport. */
export interface NewVulnerability {
  id: string;
  severity: string;
  package: string;
  installedVersion: string;
}

export class ImageReconciler implements Reconciler {
  private readonly clock: Pick<Clock, 'now'>;
  /**
   * What was last published per digest, and the findings it showed (undefined: not matched):
   * the list the image service keeps for the digest, shared, not a copy of its keys.
   */
  private readonly published: LRUCache<string, { fingerprint: string; vulnerabilities?: FindingList }>;

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
    const database = this.deps.databaseStatus?.();
    const vulns = record.vulnerabilities;
    const fingerprint = JSON.stringify([
      references,
      record.summary.manifestDigest,
      record.summary.packages,
      record.summary.warnings?.count ?? 0,
      verdicts,
      vulns?.state === 'Matched'
        ? [vulns.databaseVersion, vulns.counts, vulns.findings.length]
        : (vulns?.state ?? null),
      database === undefined ? null : [database.state, database.reason ?? null],
    ]);
    const previous = this.published.get(digest);
    if (previous?.fingerprint !== fingerprint) {
      try {
        await this.deps.writer.publish({
          digest,
          references,
          summary: record.summary,
          signatures,
          now: new Date(this.clock.now()),
          ...(vulns === undefined ? {} : { vulnerabilities: vulns }),
          ...(database === undefined ? {} : { database }),
        });
      } catch (error) {
        if (error instanceof TerminalError) this.deps.reportRefused?.(digest, references, error.message);
        throw error;
      }
      const shown = vulns?.state === 'Matched' ? vulns.findings : undefined;
      // News only against an earlier match this process published: a first match is no "new" finding.
      const before = previous?.vulnerabilities;
      if (shown !== undefined && before !== undefined && shown !== before) {
        const known = new Set(before.map(findingKey));
        const added = shown
          .filter((f) => !known.has(findingKey(f)))
          .map((f) => ({
            id: f.id,
            severity: f.severity.level,
            package: f.package.name,
            installedVersion: f.installedVersion,
          }));
        if (added.length > 0) this.deps.newVulnerabilities?.(digest, references, added);
      }
      const kept = shown ?? before;
      this.published.set(digest, { fingerprint, ...(kept === undefined ? {} : { vulnerabilities: kept }) });
    }
    for (const key of this.deps.workloadsRunning(digest, references)) this.deps.requeueWorkload(key);
    return done;
  }
}
