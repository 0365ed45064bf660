// The provider's status as a Kubernetes-style condition, for the objects that
// show which database a result came from (ImageReports): True only while the
// database in use is Ready; Stale and Unavailable say why, with the reason the
// refresher gave (SourceNotFound, Truncated, Stalled, TooOld, ...). Pure, so the
// report builders and their tests need no refresher.
import type { DatabaseStatus, LoadedDatabase } from './provider.js';

export const DATABASE_CONDITION_TYPE = 'VulnerabilityDatabaseReady';

export interface DatabaseCondition {
  type: typeof DATABASE_CONDITION_TYPE;
  status: 'True' | 'False';
  /** CamelCase, never empty. */
  reason: string;
  message: string;
}

export function databaseCondition(
  status: DatabaseStatus,
  loaded: LoadedDatabase | undefined,
): DatabaseCondition {
  const inUse =
    loaded === undefined
      ? 'no database is loaded, so vulnerabilities are unknown'
      : `matching against database ${loaded.version} (${loaded.db.size} advisories, loaded ${loaded.loadedAt.toISOString()})`;
  switch (status.state) {
    case 'Ready':
      return { type: DATABASE_CONDITION_TYPE, status: 'True', reason: 'Ready', message: inUse };
    case 'Disabled':
      return {
        type: DATABASE_CONDITION_TYPE,
        status: 'False',
        reason: 'Disabled',
        message: 'no vulnerability database source is configured (--vulnerability-db-source)',
      };
    default:
      return {
        type: DATABASE_CONDITION_TYPE,
        status: 'False',
        reason: status.reason ?? status.state,
        message: `${status.message ?? status.state}${loaded === undefined ? `; ${inUse}` : ''}`,
      };
  }
}
