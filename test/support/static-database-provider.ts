// A VulnerabilityDatabaseProvider over databases handed to it in memory, for unit
// tests and benchmarks that build their database themselves: `replace` is a refresh
// that changed the content. The operator's provider is
// the refresher (src/vuln/refresher.ts) over the configured sources.
import type {
  DatabaseStatus,
  LoadedDatabase,
  VulnerabilityDatabaseProvider,
} from '../../src/vuln/provider.js';

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

  /** Takes the database out of use as the refresher does while it loads a changed one (nothing is told). */
  release(): void {
    this.loaded = undefined;
    this.state = { ...this.state, reloading: true };
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
}
