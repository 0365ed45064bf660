// What a vulnerability database source is: something that, asked to refresh,
// answers "unchanged", "here are new local files (not yet in use)" or "failed,
// because ...". Downloads land in files that only replace the source's last good
// files when the refresher has loaded them all (commit); a failed load discards
// them, so a partial, corrupt or truncated download never replaces anything.

/** A local file or directory holding OSV data: a bulk zip, or a tree of `*.json` / `*.zip`. */
export interface SourceArtifact {
  kind: 'zip' | 'dir';
  path: string;
  /** How messages name it (a URL, a registry reference), never a credential. */
  label: string;
}

/** The kinds of source, the bounded `source` label of shipshape_vulndb_refresh_total. */
export const SOURCE_KINDS = ['https', 'dir', 'zip', 'oci'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** CamelCase reasons a refresh fails for, carried into the provider's status. */
export type SourceFailureReason =
  | 'SourceNotFound'
  | 'SourceNotAllowed'
  | 'Unauthorized'
  | 'UnexpectedStatus'
  | 'Unreachable'
  | 'Stalled'
  | 'TooLarge'
  | 'Truncated'
  | 'Corrupt'
  | 'TooManyEntries'
  | 'InvalidArtifact'
  | 'LoadFailed';

export interface SourceFailure {
  outcome: 'failed';
  reason: SourceFailureReason;
  message: string;
}

export interface SourceUpdate {
  outcome: 'fetched';
  artifacts: SourceArtifact[];
  /** Identity of the new content (a digest, ETag, mtimes). */
  version: string;
  /** Makes the fetched artifacts the source's current ones (called after they loaded). */
  commit(): Promise<void>;
  /** Drops the fetched artifacts (called when any source of the refresh failed). */
  discard(): Promise<void>;
}

export type SourceFetch = { outcome: 'unchanged' } | SourceUpdate | SourceFailure;

export interface DatabaseSource {
  readonly kind: SourceKind;
  /** How messages name the source, never with a credential. */
  readonly label: string;
  /** Checks for new content; never throws (every failure is a SourceFailure). */
  fetch(): Promise<SourceFetch>;
  /** The artifacts and version of the last committed fetch, when there is one. */
  current(): { artifacts: SourceArtifact[]; version: string } | undefined;
  /** Releases connections and temporary files. */
  close(): Promise<void>;
}

export function sourceFailure(reason: SourceFailureReason, message: string): SourceFailure {
  return { outcome: 'failed', reason, message };
}
