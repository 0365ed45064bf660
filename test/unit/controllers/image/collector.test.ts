// ImageReport garbage collection: a report goes once nothing has run its digest for
// the grace period, and never while something runs it; a running digest whose report
// is missing is handed back to the publisher once per disappearance.
import assert from 'node:assert/strict';
import { ImageReportCollector, type StoredImageReport } from '../../../../src/controllers/image/collector.js';
import type { WorkloadKey } from '../../../../src/controllers/workload/key.js';
import { ManualClock, settle } from '../../runtime/manual-clock.js';

const MINUTE = 60_000;
const digest = (n: number): string => `sha256:${String(n).padStart(64, '0')}`;
const web: WorkloadKey = { kind: 'Deployment', namespace: 'shop', name: 'web' };

class FakeCluster {
  readonly reports = new Map<string, StoredImageReport>();
  /** Digests a workload runs (pods reporting them). */
  readonly running = new Set<string>();
  /** References a workload template names. */
  readonly named = new Set<string>();
  deletes: string[] = [];
  failDeletes = false;

  add(n: number, references: string[] = []): void {
    this.reports.set(`sha256-${n}`, { name: `sha256-${n}`, digest: digest(n), references });
  }

  collector(clock: ManualClock, forgotten: string[] = [], errors: unknown[] = []): ImageReportCollector {
    return new ImageReportCollector({
      list: () => Promise.resolve([...this.reports.values()]),
      delete: (name) => {
        if (this.failDeletes) return Promise.reject(new Error('API server answered 500'));
        this.deletes.push(name);
        this.reports.delete(name);
        return Promise.resolve();
      },
      workloadsRunning: (d, references) =>
        this.running.has(d) || [...references].some((r) => this.named.has(r)) ? [web] : [],
      forget: (d) => forgotten.push(d),
      onError: (e) => errors.push(e),
      clock,
      graceMs: 10 * MINUTE,
      intervalMs: MINUTE,
    });
  }
}

describe('ImageReport garbage collection', () => {
  it('deletes the report of a digest nothing has run for the grace period, and only then', async () => {
    const clock = new ManualClock();
    const cluster = new FakeCluster();
    cluster.add(1);
    cluster.add(2);
    cluster.running.add(digest(2));
    const forgotten: string[] = [];
    const collector = cluster.collector(clock, forgotten);

    assert.deepEqual(await collector.sweep(), { reports: 2, orphaned: 1, deleted: [], republished: [] });
    await clock.advance(10 * MINUTE - 1);
    assert.deepEqual((await collector.sweep()).deleted, []);
    await clock.advance(1);
    assert.deepEqual(await collector.sweep(), {
      reports: 2,
      orphaned: 0,
      deleted: ['sha256-1'],
      republished: [],
    });
    assert.deepEqual(forgotten, [digest(1)], 'the publisher writes the report again if the digest returns');
    assert.deepEqual([...cluster.reports.keys()], ['sha256-2']);
  });

  it('keeps a report whose digest ran again inside the grace period, and restarts its clock', async () => {
    const clock = new ManualClock();
    const cluster = new FakeCluster();
    cluster.add(1);
    const collector = cluster.collector(clock);
    await collector.sweep();
    await clock.advance(8 * MINUTE);
    cluster.running.add(digest(1));
    await collector.sweep();
    cluster.running.delete(digest(1));
    await clock.advance(8 * MINUTE);
    assert.deepEqual((await collector.sweep()).deleted, [], 'the grace starts again when it stops running');
    await clock.advance(10 * MINUTE);
    assert.deepEqual((await collector.sweep()).deleted, ['sha256-1']);
  });

  it('keeps a report whose digest only a template names (no pod reports it yet)', async () => {
    const clock = new ManualClock();
    const cluster = new FakeCluster();
    cluster.add(1, ['registry.test/shop/web:v1']);
    cluster.named.add('registry.test/shop/web:v1');
    const collector = cluster.collector(clock);
    await collector.sweep();
    await clock.advance(60 * MINUTE);
    assert.deepEqual(await collector.sweep(), { reports: 1, orphaned: 0, deleted: [], republished: [] });
  });

  it('hands a running digest whose report is missing back to the publisher, only that one, once per disappearance', async () => {
    const clock = new ManualClock();
    const cluster = new FakeCluster();
    cluster.add(1);
    cluster.running.add(digest(1)).add(digest(2));
    const republished: string[] = [];
    const collector = new ImageReportCollector({
      list: () => Promise.resolve([...cluster.reports.values()]),
      delete: () => Promise.resolve(),
      workloadsRunning: (d) => (cluster.running.has(d) ? [web] : []),
      // 1 has its report, 2 runs without one, 3 has none and nothing runs it.
      knownDigests: () => [1, 2, 3].map((n) => ({ digest: digest(n), references: [] })),
      republish: (d) => republished.push(d),
      clock,
    });
    assert.deepEqual((await collector.sweep()).republished, [digest(2)]);
    assert.deepEqual(republished, [digest(2)]);
    // Still missing (the write failed): the image queue retries it, not every sweep.
    assert.deepEqual((await collector.sweep()).republished, []);
    // Written, then gone again: handed back again.
    cluster.add(2);
    assert.deepEqual((await collector.sweep()).republished, []);
    cluster.reports.delete('sha256-2');
    assert.deepEqual((await collector.sweep()).republished, [digest(2)]);
    assert.deepEqual(republished, [digest(2), digest(2)]);
  });

  it('retries a failed delete on the next sweep and reports the error', async () => {
    const clock = new ManualClock();
    const cluster = new FakeCluster();
    cluster.add(1);
    const errors: unknown[] = [];
    const collector = cluster.collector(clock, [], errors);
    await collector.sweep();
    await clock.advance(10 * MINUTE);
    cluster.failDeletes = true;
    assert.deepEqual((await collector.sweep()).deleted, []);
    assert.match(String(errors[0]), /answered 500/);
    cluster.failDeletes = false;
    assert.deepEqual((await collector.sweep()).deleted, ['sha256-1']);
  });

  it('sweeps on its interval once started, and not after stop()', async () => {
    const clock = new ManualClock();
    const cluster = new FakeCluster();
    cluster.add(1);
    const collector = cluster.collector(clock);
    collector.start();
    collector.start();
    await settle();
    assert.equal(cluster.deletes.length, 0);
    for (let i = 0; i < 12; i++) {
      await clock.advance(MINUTE);
      await settle();
    }
    assert.deepEqual(cluster.deletes, ['sha256-1']);
    cluster.add(2);
    await collector.stop();
    await collector.stop();
    await clock.advance(60 * MINUTE);
    await settle();
    assert.deepEqual(cluster.deletes, ['sha256-1']);
  });
});
