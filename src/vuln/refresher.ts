// The operator's vulnerability database: loads every configured source into one
// database, refreshes it on a node-cron schedule, and implements the provider
// contract (provider.ts) the image service matches through. A refresh is all or
// nothing: when any source fails (unreachable, 404, truncated, corrupt, stalled,
// oversized) or its files do not load, every fresh download is discarded, the
// last good database stays in use and the status says Stale (Unavailable before
// the first load) with the reason. When every source answers "unchanged" nothing
// is reloaded. Past `maxAgeMs` the data itself is reported Stale.
// A changed database replaces the one in use by check, release, load — not side by
// side: 320,000 advisories take ~170 MiB of heap, and two of them exceed the
// operator's heap (bench/vuln-rematch-operator). The new files are first read through
// without indexing (DatabaseLoader.check), so a corrupt or oversized download fails
// while the database in use stays; only then is it released and the new one built.
// Should that load still fail (the files changed in between), the previous files are
// loaded again where they still exist.
import { createTask, validate, type ScheduledTask } from 'node-cron';

import type { DatabaseStatus, LoadedDatabase, VulnerabilityDatabaseProvider } from './provider.js';
import { DatabaseLoader } from './sources/load.js';
import type {
  DatabaseSource,
  SourceArtifact,
  SourceFailure,
  SourceKind,
  SourceUpdate,
} from './sources/source.js';
import type { ZipLimits } from './zip-reader.js';

/** Outcomes of one source in one refresh: the `result` label of shipshape_vulndb_refresh_total. */
export const REFRESH_RESULT_VALUES = ['success', 'unchanged', 'failed'] as const;
export type RefreshResult = (typeof REFRESH_RESULT_VALUES)[number];

/** What the refresher reports, typed by shape so the metrics layer stays above this one. */
export interface RefreshObserver {
  refreshed?(source: SourceKind, result: RefreshResult): void;
  /** After each refresh (and whenever the status may have changed). */
  status?(status: DatabaseStatus, loaded: LoadedDatabase | undefined): void;
}

export interface DatabaseRefresherOptions {
  sources: readonly DatabaseSource[];
  /** Five-field cron expression (default every 6 hours). */
  schedule?: string;
  /** Data older than this (its newest `modified`, else its load time) is Stale. */
  maxAgeMs?: number;
  limits?: ZipLimits;
  observer?: RefreshObserver;
  now?: () => Date;
  /** Errors of background refreshes and listeners, which must never be lost. */
  onError?: (error: unknown) => void;
  /** Called once by close(), after the sources closed (e.g. to close a registry client the caller made). */
  onClose?: () => void | Promise<void>;
}

export const DEFAULT_REFRESH_SCHEDULE = '0 */6 * * *';

export class InvalidRefreshSchedule extends Error {}

/** The age the provider reports: the data's own, else since it was loaded. */
export function databaseAgeMs(loaded: LoadedDatabase, now: Date): number {
  return Math.max(0, now.getTime() - (loaded.dataUpdatedAt ?? loaded.loadedAt).getTime());
}

export class DatabaseRefresher implements VulnerabilityDatabaseProvider {
  private loaded: LoadedDatabase | undefined;
  /** The database released for a reload, while the new one loads. */
  private released: Omit<LoadedDatabase, 'db'> | undefined;
  private state: DatabaseStatus;
  private readonly listeners = new Set<(loaded: LoadedDatabase) => void>();
  private running: Promise<DatabaseStatus> | undefined;
  /** The refresh that follows the running one, when one was asked for meanwhile. */
  private next: Promise<DatabaseStatus> | undefined;
  private task: ScheduledTask | undefined;
  private closed = false;
  private readonly now: () => Date;
  /** Skipped advisories of the database in use. */
  skippedAdvisories = 0;

  constructor(private readonly options: DatabaseRefresherOptions) {
    this.now = options.now ?? (() => new Date());
    const schedule = options.schedule ?? DEFAULT_REFRESH_SCHEDULE;
    if (!validate(schedule)) throw new InvalidRefreshSchedule(`"${schedule}" is not a cron expression`);
    this.state =
      options.sources.length === 0
        ? { state: 'Disabled', reason: 'NoSource', message: 'no vulnerability database source is configured' }
        : {
            state: 'Unavailable',
            reason: 'NotLoaded',
            message: 'the vulnerability database has not loaded yet',
          };
  }

  current(): LoadedDatabase | undefined {
    return this.loaded;
  }

  status(): DatabaseStatus {
    const maxAge = this.options.maxAgeMs;
    if (this.state.state === 'Ready' && maxAge !== undefined && this.loaded !== undefined) {
      const now = this.now();
      const age = databaseAgeMs(this.loaded, now);
      if (age > maxAge) {
        return {
          ...this.state,
          state: 'Stale',
          reason: 'TooOld',
          message: `the vulnerability database is ${Math.round(age / 3_600_000)} h old, more than the ${Math.round(
            maxAge / 3_600_000,
          )} h allowed (--vulnerability-db-max-age)`,
        };
      }
    }
    return this.released === undefined ? { ...this.state } : { ...this.state, reloading: true };
  }

  /** The files of the database in use, source by source (what `shipshape db pull` copies). */
  artifacts(): SourceArtifact[] {
    return this.options.sources.flatMap((source) => source.current()?.artifacts ?? []);
  }

  subscribe(listener: (loaded: LoadedDatabase) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Loads now and then on the schedule; resolves after the first refresh (successful or not). */
  start(): Promise<DatabaseStatus> {
    if (this.options.sources.length === 0) return Promise.resolve(this.status());
    const schedule = this.options.schedule ?? DEFAULT_REFRESH_SCHEDULE;
    this.task ??= createTask(
      schedule,
      () => {
        this.refresh().catch((err: unknown) => this.options.onError?.(err));
      },
      { noOverlap: true, suppressMissedWarning: true },
    );
    void this.task.start();
    return this.refresh();
  }

  /**
   * One refresh. Asked for while one runs, it is one more after that one: the running one may
   * have read its sources before the change that prompted the ask (a SIGHUP after a volume
   * was updated); further asks join that next one. Never rejects for a source's failure.
   */
  refresh(): Promise<DatabaseStatus> {
    if (this.closed || this.options.sources.length === 0) return Promise.resolve(this.status());
    if (this.running === undefined) {
      this.running = this.refreshOnce().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.next ??= this.running.then(() => {
      this.next = undefined;
      return this.refresh();
    });
    return this.next;
  }

  private fail(failure: SourceFailure, attempt: Date): void {
    this.state = {
      state: this.loaded === undefined ? 'Unavailable' : 'Stale',
      reason: failure.reason,
      message:
        this.loaded === undefined
          ? failure.message
          : `${failure.message}; still using the database loaded ${this.loaded.loadedAt.toISOString()}`,
      lastRefreshAttempt: attempt,
      ...(this.state.lastSuccessfulRefresh === undefined
        ? {}
        : { lastSuccessfulRefresh: this.state.lastSuccessfulRefresh }),
    };
  }

  private async refreshOnce(): Promise<DatabaseStatus> {
    const attempt = this.now();
    try {
      return await this.refreshSources(attempt);
    } catch (err) {
      // A source or the file system broke in a way no source reports (a full disk, a bug): the
      // database in use stays, and the status says so instead of an unhandled rejection.
      this.options.onError?.(err);
      if (this.released !== undefined) await this.restore(this.released);
      const message = `refresh failed: ${err instanceof Error ? err.message : String(err)}`;
      this.fail({ outcome: 'failed', reason: 'LoadFailed', message }, attempt);
      return this.report();
    }
  }

  private async refreshSources(attempt: Date): Promise<DatabaseStatus> {
    const observer = this.options.observer;
    const updates: { source: DatabaseSource; update: SourceUpdate }[] = [];
    const discardAll = async (): Promise<void> => {
      for (const { update } of updates) await update.discard();
    };
    for (const source of this.options.sources) {
      const fetched = await source.fetch();
      if (fetched.outcome === 'failed') {
        observer?.refreshed?.(source.kind, 'failed');
        await discardAll();
        this.fail({ ...fetched, message: `${source.label}: ${fetched.message}` }, attempt);
        return this.report();
      }
      if (fetched.outcome === 'fetched') updates.push({ source, update: fetched });
    }
    if (updates.length === 0 && this.loaded !== undefined) {
      for (const source of this.options.sources) observer?.refreshed?.(source.kind, 'unchanged');
      this.state = { state: 'Ready', lastRefreshAttempt: attempt, lastSuccessfulRefresh: this.now() };
      return this.report();
    }
    const contents = this.options.sources.map((source) => ({
      source,
      content: updates.find((u) => u.source === source)?.update ?? source.current(),
    }));
    const missing = contents.find((c) => c.content === undefined);
    if (missing !== undefined) {
      // Unchanged yet never committed cannot happen for the sources here; fail rather than load half.
      observer?.refreshed?.(missing.source.kind, 'failed');
      await discardAll();
      this.fail(
        { outcome: 'failed', reason: 'LoadFailed', message: `${missing.source.label} has no content` },
        attempt,
      );
      return this.report();
    }
    if (this.loaded !== undefined) {
      for (const { source, content } of contents) {
        const failure = await DatabaseLoader.check(content!.artifacts, this.options.limits);
        if (failure !== undefined) {
          observer?.refreshed?.(source.kind, 'failed');
          await discardAll();
          this.fail(failure, attempt);
          return this.report();
        }
      }
    }
    const previous = this.release();
    const loader = new DatabaseLoader(this.options.limits);
    const versions: string[] = [];
    for (const { source, content } of contents) {
      versions.push(content!.version);
      const failure = await loader.load(content!.artifacts);
      if (failure !== undefined) {
        observer?.refreshed?.(source.kind, 'failed');
        await discardAll();
        await this.restore(previous);
        this.fail(failure, attempt);
        return this.report();
      }
    }
    this.released = undefined;
    for (const { update } of updates) await update.commit();
    for (const source of this.options.sources) {
      observer?.refreshed?.(source.kind, updates.some((u) => u.source === source) ? 'success' : 'unchanged');
    }
    const loadedContents = loader.contents();
    const loadedAt = this.now();
    this.loaded = {
      db: loadedContents.db,
      version: versions.join(';'),
      loadedAt,
      ...(loadedContents.newestModified === undefined
        ? {}
        : { dataUpdatedAt: loadedContents.newestModified }),
    };
    this.skippedAdvisories = loadedContents.db.summary.skippedCount;
    this.state = { state: 'Ready', lastRefreshAttempt: attempt, lastSuccessfulRefresh: loadedAt };
    this.announce(this.loaded);
    return this.report();
  }

  private announce(loaded: LoadedDatabase): void {
    for (const listener of this.listeners) {
      try {
        listener(loaded);
      } catch (err) {
        this.options.onError?.(err);
      }
    }
  }

  /** Drops the database in use (keeping what identifies it) so that the next one can be built. */
  private release(): Omit<LoadedDatabase, 'db'> | undefined {
    if (this.loaded === undefined) return undefined;
    const { db: _db, ...identity } = this.loaded;
    this.released = identity;
    this.loaded = undefined;
    return identity;
  }

  /**
   * Loads the released database again from the sources' current files after a load that
   * failed although its check passed: the same content under the same version. Images
   * analysed meanwhile are matched by the listeners. Should even that fail (a mounted file
   * replaced in place), no database is in use and the status says Unavailable.
   */
  private async restore(previous: Omit<LoadedDatabase, 'db'> | undefined): Promise<void> {
    this.released = undefined;
    if (previous === undefined) return;
    const loader = new DatabaseLoader(this.options.limits);
    for (const source of this.options.sources) {
      const content = source.current();
      const failure =
        content === undefined ? { message: 'no content' } : await loader.load(content.artifacts);
      if (failure !== undefined) {
        this.options.onError?.(
          new Error(`the previous vulnerability database could not be loaded again: ${failure.message}`),
        );
        return;
      }
    }
    this.loaded = { ...previous, db: loader.contents().db };
    this.announce(this.loaded);
  }

  private report(): DatabaseStatus {
    const status = this.status();
    this.options.observer?.status?.(status, this.loaded);
    return status;
  }

  /** Stops the schedule and removes temporary files; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.task?.destroy();
    await this.running?.catch(() => undefined);
    for (const source of this.options.sources) await source.close();
    await this.options.onClose?.();
  }
}
