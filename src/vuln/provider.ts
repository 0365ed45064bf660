// The contract between where the vulnerability database comes from (sources,
// refresh schedule: src/vuln/sources and the refresher) and who matches against it
// (the image service). The matcher only ever sees the last good database; a failed
// refresh changes the status, never the database in use.
import type { VulnerabilityDatabase } from './database.js';

/** One loaded database and where it came from. */
export interface LoadedDatabase {
  db: VulnerabilityDatabase;
  /** A stable identity of the content (a digest or the sources' ETags), shown in ImageReports. */
  version: string;
  /** When this content was loaded. */
  loadedAt: Date;
  /** The newest `modified` of its advisories, when known (the data's own age). */
  dataUpdatedAt?: Date;
}

export type DatabaseState =
  /** No source configured: vulnerability matching is off. */
  | 'Disabled'
  /** Not loaded yet (the first refresh is running or failed): findings are unknown, never "none". */
  | 'Unavailable'
  /** Loaded and the last refresh succeeded. */
  | 'Ready'
  /** Loaded, but the last refresh failed or the data is older than allowed: the previous database stays in use. */
  | 'Stale';

export interface DatabaseStatus {
  state: DatabaseState;
  /** CamelCase reason of the last failure (SourceNotFound, Truncated, Stalled, ...). */
  reason?: string;
  /** One sentence a user can act on; never a credential. */
  message?: string;
  lastRefreshAttempt?: Date;
  lastSuccessfulRefresh?: Date;
  /**
   * A changed database is being loaded in place of the one in use, which was released
   * first (two indexes of a large database do not fit the operator's heap): meanwhile
   * current() is undefined, findings already matched stand, and new images wait.
   */
  reloading?: boolean;
}

export interface VulnerabilityDatabaseProvider {
  /** The database in use, or undefined while none has loaded. */
  current(): LoadedDatabase | undefined;
  status(): DatabaseStatus;
  /** Called after each refresh that replaced the database in use; returns an unsubscribe. */
  subscribe(listener: (loaded: LoadedDatabase) => void): () => void;
}
