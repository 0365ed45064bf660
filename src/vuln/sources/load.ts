// Loads the artifacts of every source into one fresh VulnerabilityDatabase,
// through the database's own zip reader and advisory validator, and counts on
// the way what `shipshape db info` and the provider report: advisories per
// ecosystem and the newest `modified` (the data's own age; the Advisory model
// keeps neither). Written beside VulnerabilityDatabase.loadDirectory rather than
// through it because only here is each parsed document seen before it is
// indexed; the limits are the same. Between files, and every few milliseconds
// inside a directory, it yields to the event loop so a load does not stall the
// operator's controllers and probes.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

import { VulnerabilityDatabase } from '../database.js';
import { DEFAULT_ZIP_LIMITS, readZipJsonEntries } from '../zip-reader.js';
import type { ZipLimits } from '../zip-reader.js';
import type { SourceArtifact, SourceFailure } from './source.js';
import { sourceFailure } from './source.js';

export interface DatabaseContents {
  db: VulnerabilityDatabase;
  /** Advisories loaded (withdrawn and skipped ones not counted), by the ecosystems they affect. */
  perEcosystem: Record<string, number>;
  /** The newest `modified` among the loaded advisories. */
  newestModified?: Date;
}

/** Time spent loading between two yields to the event loop. */
const SLICE_MS = 20;

class ContentsBuilder {
  readonly db = new VulnerabilityDatabase();
  readonly perEcosystem: Record<string, number> = {};
  newest = 0;
  private sliceStart = performance.now();

  /** `index` false: read every archive and file through, keep nothing (DatabaseLoader.check). */
  constructor(private readonly index = true) {}

  add(text: string, source: string): void {
    if (!this.index) return;
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      // The database records the skip with the parser's reason.
      this.db.addJsonText(text, source);
      return;
    }
    if (!this.db.addDocument(document, source)) return;
    const record = document as { modified?: unknown; affected?: { package?: { ecosystem?: unknown } }[] };
    if (typeof record.modified === 'string') {
      const modified = Date.parse(record.modified);
      if (Number.isFinite(modified) && modified > this.newest) this.newest = modified;
    }
    const ecosystems = new Set<string>();
    for (const affected of record.affected ?? []) {
      const ecosystem = affected.package?.ecosystem;
      if (typeof ecosystem === 'string') ecosystems.add(ecosystem);
    }
    for (const ecosystem of ecosystems)
      this.perEcosystem[ecosystem] = (this.perEcosystem[ecosystem] ?? 0) + 1;
  }

  async maybeYield(): Promise<void> {
    if (performance.now() - this.sliceStart < SLICE_MS) return;
    await yieldToEventLoop();
    this.sliceStart = performance.now();
  }

  contents(): DatabaseContents {
    this.db.trim();
    return {
      db: this.db,
      perEcosystem: this.perEcosystem,
      ...(this.newest > 0 ? { newestModified: new Date(this.newest) } : {}),
    };
  }
}

const ZIP_FAILURE = {
  Unreadable: 'Corrupt',
  TooManyEntries: 'TooManyEntries',
  TooManyBytes: 'TooLarge',
} as const;

async function loadZip(
  builder: ContentsBuilder,
  path: string,
  label: string,
  limits: ZipLimits,
): Promise<SourceFailure | undefined> {
  await builder.maybeYield();
  const result = await readZipJsonEntries(
    path,
    (name, text) => builder.add(text, `${label}!${name}`),
    (skipped) => builder.db.recordSkipped(`${label}!${skipped.name}`, skipped.reason),
    limits,
  );
  if ('kind' in result) {
    // The reader's message names the temporary path; the label is what the user configured.
    return sourceFailure(
      ZIP_FAILURE[result.reason],
      `${label}: ${result.message.replaceAll(path, 'archive')}`,
    );
  }
  return undefined;
}

async function loadDirectory(
  builder: ContentsBuilder,
  dir: string,
  label: string,
  limits: ZipLimits,
): Promise<SourceFailure | undefined> {
  let files = 0;
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (err) {
      return sourceFailure('SourceNotFound', `${label}: cannot read ${current} (${errorCode(err)})`);
    }
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (entry.isFile() && entry.name.endsWith('.zip')) {
        const failure = await loadZip(builder, path, path, limits);
        if (failure !== undefined) return failure;
      } else if (entry.isFile() && entry.name.endsWith('.json')) {
        if (++files > limits.maxEntries)
          return sourceFailure('TooManyEntries', `${label} holds more than ${limits.maxEntries} advisories`);
        await builder.maybeYield();
        const size = (await stat(path)).size;
        if (size > limits.maxEntryBytes) {
          builder.db.recordSkipped(path, `file of ${size} bytes exceeds ${limits.maxEntryBytes}`);
          continue;
        }
        builder.add(await readFile(path, 'utf8'), path);
      }
    }
  }
  return undefined;
}

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : 'unreadable';
}

/** Loads artifacts into one database, source by source; a load that failed says which artifact. */
export class DatabaseLoader {
  private readonly builder: ContentsBuilder;

  constructor(
    private readonly limits: ZipLimits = DEFAULT_ZIP_LIMITS,
    options: { index?: boolean } = {},
  ) {
    this.builder = new ContentsBuilder(options.index ?? true);
  }

  /**
   * Reads the artifacts as load() does, with its limits, but indexes nothing: whether they
   * would load (a corrupt, truncated or oversized archive fails here), at the cost of
   * reading them and none of the memory.
   */
  static async check(
    artifacts: readonly SourceArtifact[],
    limits: ZipLimits = DEFAULT_ZIP_LIMITS,
  ): Promise<SourceFailure | undefined> {
    return new DatabaseLoader(limits, { index: false }).load(artifacts);
  }

  /** Adds the artifacts; the first that cannot be read fails the load (the database is then thrown away). */
  async load(artifacts: readonly SourceArtifact[]): Promise<SourceFailure | undefined> {
    for (const artifact of artifacts) {
      const failure =
        artifact.kind === 'zip'
          ? await loadZip(this.builder, artifact.path, artifact.label, this.limits)
          : await loadDirectory(this.builder, artifact.path, artifact.label, this.limits);
      if (failure !== undefined) return failure;
    }
    return undefined;
  }

  contents(): DatabaseContents {
    return this.builder.contents();
  }
}

/** Loads every artifact into one fresh database. */
export async function loadArtifacts(
  artifacts: readonly SourceArtifact[],
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): Promise<DatabaseContents | SourceFailure> {
  const loader = new DatabaseLoader(limits);
  const failure = await loader.load(artifacts);
  return failure ?? loader.contents();
}
