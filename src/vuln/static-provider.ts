// The smallest VulnerabilityDatabaseProvider: a database loaded from a local OSV
// directory or zip (`--vulnerability-db=<dir|zip>`, an air-gapped mounted
// volume), reloaded when asked (SIGHUP, or a short interval) and only when the
// files changed. A reload that fails keeps the database in use and turns the
// status Stale with why. `staticDatabaseProvider` serves one already-loaded
// database (tests, and callers that load by other means); the scheduled,
// multi-source refresher lives beside this one and implements the same contract.
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { VulnerabilityDatabase } from './database.js';
import type { DatabaseStatus, LoadedDatabase, VulnerabilityDatabaseProvider } from './provider.js';

/** A provider over databases handed to it; `replace` is a refresh that changed the content. */
export class StaticDatabaseProvider implements VulnerabilityDatabaseProvider {
  private loaded: LoadedDatabase | undefined;
  private state: DatabaseStatus;
  private readonly listeners = new Set<(loaded: LoadedDatabase) => void>();

  constructor(loaded?: LoadedDatabase) {
    this.loaded = loaded;
    this.state =
      loaded === undefined
        ? {
            state: 'Unavailable',
            reason: 'NotLoaded',
            message: 'the vulnerability database has not loaded yet',
          }
        : { state: 'Ready', lastSuccessfulRefresh: loaded.loadedAt, lastRefreshAttempt: loaded.loadedAt };
  }

  current(): LoadedDatabase | undefined {
    return this.loaded;
  }

  status(): DatabaseStatus {
    return this.state;
  }

  subscribe(listener: (loaded: LoadedDatabase) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Puts `loaded` in use and tells the subscribers. */
  replace(loaded: LoadedDatabase): void {
    this.loaded = loaded;
    this.state = {
      state: 'Ready',
      lastSuccessfulRefresh: loaded.loadedAt,
      lastRefreshAttempt: loaded.loadedAt,
    };
    for (const listener of [...this.listeners]) listener(loaded);
  }

  /** A failed refresh: the database in use stays, the status says why. */
  failed(reason: string, message: string, at: Date): void {
    this.state = {
      ...this.state,
      state: this.loaded === undefined ? 'Unavailable' : 'Stale',
      reason,
      message,
      lastRefreshAttempt: at,
    };
  }
}

export function staticDatabaseProvider(loaded: LoadedDatabase): StaticDatabaseProvider {
  return new StaticDatabaseProvider(loaded);
}

/** Files considered: what VulnerabilityDatabase.loadDirectory reads. */
const DATABASE_FILE = /\.(json|zip)$/;
/** Files listed at most while fingerprinting (loadDirectory has its own entry limit). */
const MAX_FINGERPRINT_FILES = 2_000_000;

/**
 * A stable identity of a directory's or zip's content: names, sizes and modification
 * times of its advisory files. Cheap (no file is read), and it changes whenever a
 * file is added, removed or rewritten.
 */
export async function databaseFingerprint(path: string): Promise<string> {
  const hash = createHash('sha256');
  const info = await stat(path);
  if (info.isFile()) {
    hash.update(`${info.size}\u0000${info.mtimeMs}`);
    return `sha256:${hash.digest('hex')}`;
  }
  const files: string[] = [];
  const pending = [''];
  while (pending.length > 0 && files.length <= MAX_FINGERPRINT_FILES) {
    const relative = pending.pop()!;
    for (const entry of await readdir(join(path, relative), { withFileTypes: true })) {
      const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) pending.push(name);
      else if (entry.isFile() && DATABASE_FILE.test(entry.name)) files.push(name);
    }
  }
  files.sort();
  for (const name of files) {
    const s = await stat(join(path, name));
    hash.update(`${name}\u0000${s.size}\u0000${s.mtimeMs}\n`);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** Loads a directory of OSV files and zips, or one OSV zip. Throws with a reason a user can act on. */
export async function loadDatabaseFrom(
  path: string,
  now: () => Date = () => new Date(),
): Promise<LoadedDatabase> {
  const version = await databaseFingerprint(path);
  const db = new VulnerabilityDatabase();
  const info = await stat(path);
  const error = info.isFile() ? await db.loadZip(path) : await db.loadDirectory(path);
  if (error !== undefined) throw new DatabaseLoadError(error.reason, `${path}: ${error.message}`);
  return { db, version: version.slice(0, 7 + 16), loadedAt: now() };
}

export class DatabaseLoadError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** A provider over one local path: `reload()` loads it again when its fingerprint changed. */
export class PathDatabaseProvider extends StaticDatabaseProvider {
  private reloading: Promise<boolean> | undefined;

  constructor(
    readonly path: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    super();
  }

  /** Loads the path if it changed; true when a new database is in use. Never rejects. */
  reload(): Promise<boolean> {
    this.reloading ??= this.load().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async load(): Promise<boolean> {
    const at = this.now();
    try {
      const version = (await databaseFingerprint(this.path)).slice(0, 7 + 16);
      if (this.current()?.version === version) return false;
      const loaded = await loadDatabaseFrom(this.path, this.now);
      this.replace(loaded);
      return true;
    } catch (err) {
      const reason = err instanceof DatabaseLoadError ? err.reason : 'SourceUnreadable';
      const message =
        err instanceof DatabaseLoadError
          ? err.message
          : `${this.path} could not be read: ${err instanceof Error ? err.message : String(err)}`;
      this.failed(reason, message, at);
      return false;
    }
  }
}
