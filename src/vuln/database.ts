// The in-memory vulnerability database: advisories loaded from a directory of
// OSV JSON files or from OSV bulk zips, withdrawn ones dropped, malformed ones
// skipped and counted, and each `affected[]` entry indexed by ecosystem and
// normalised package name so that matching an inventory is a few map lookups.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { isAdvisoryRejection, parseAdvisory } from './osv.js';
import type { Advisory, OsvAffected } from './osv.js';
import type { Severity } from './severity.js';
import { comparatorFor, ecosystemFamily } from './version/index.js';
import type { VersionComparator } from './version/index.js';
import { DEFAULT_ZIP_LIMITS, readZipJsonEntries } from './zip-reader.js';
import type { ZipLimits, ZipReadError } from './zip-reader.js';

/** What a finding takes from an entry, computed on its first match and kept for re-matching. */
export interface EntryFacts {
  severity: Severity;
  fixed: string[];
  /** The ids the entry's advisory merges with others on. */
  mergeIds: string[];
  /** The finding's id and aliases when this advisory alone is the finding. */
  id: string;
  aliases: string[];
}

/** One `affected[]` entry with its advisory: what a lookup returns. */
export interface IndexedAffected {
  advisory: Advisory;
  affected: OsvAffected;
  compare: VersionComparator | undefined;
  facts?: EntryFacts;
}

export interface SkippedAdvisory {
  source: string;
  reason: string;
}

export interface LoadSummary {
  loaded: number;
  withdrawn: number;
  /** Every advisory skipped as malformed or oversized. */
  skippedCount: number;
  /** The first of them, with reasons (bounded: a hostile mirror may serve a million broken files). */
  skipped: SkippedAdvisory[];
}

const MAX_SKIPPED_SAMPLES = 100;

/** PEP 503 for PyPI; every other ecosystem's names are case-sensitive and used as written. */
export function normalizePackageName(ecosystem: string, name: string): string {
  const family = ecosystemFamily(ecosystem);
  if (family === 'PyPI') return name.toLowerCase().replace(/[-_.]+/g, '-');
  return name;
}

export class VulnerabilityDatabase {
  private readonly index = new Map<string, Map<string, IndexedAffected[]>>();
  private readonly ids = new Set<string>();
  readonly summary: LoadSummary = { loaded: 0, withdrawn: 0, skippedCount: 0, skipped: [] };

  private skip(skipped: SkippedAdvisory): void {
    this.summary.skippedCount++;
    if (this.summary.skipped.length < MAX_SKIPPED_SAMPLES) this.summary.skipped.push(skipped);
  }

  /** Counts an advisory a loader outside this class skipped (an oversized or corrupt entry). */
  recordSkipped(source: string, reason: string): void {
    this.skip({ source, reason });
  }

  get size(): number {
    return this.ids.size;
  }

  /** Ecosystem strings present ("Debian:12", "PyPI", ...). */
  ecosystems(): string[] {
    return [...this.index.keys()];
  }

  /** Adds one parsed JSON document; returns false (and counts it) when it is withdrawn or malformed. */
  addDocument(document: unknown, source: string): boolean {
    const advisory = parseAdvisory(document);
    if (isAdvisoryRejection(advisory)) {
      this.skip({ source, reason: advisory.reason });
      return false;
    }
    if (advisory.withdrawn !== undefined) {
      this.summary.withdrawn++;
      return false;
    }
    this.add(advisory);
    return true;
  }

  add(advisory: Advisory): void {
    if (this.ids.has(advisory.id)) return;
    this.ids.add(advisory.id);
    this.summary.loaded++;
    for (const affected of advisory.affected) {
      const ecosystem = affected.package.ecosystem;
      let byName = this.index.get(ecosystem);
      if (byName === undefined) {
        byName = new Map();
        this.index.set(ecosystem, byName);
      }
      const name = normalizePackageName(ecosystem, affected.package.name);
      const entry: IndexedAffected = { advisory, affected, compare: comparatorFor(ecosystem) };
      const list = byName.get(name);
      if (list === undefined) byName.set(name, [entry]);
      else list.push(entry);
    }
  }

  /** The normalised package names indexed under one ecosystem string. */
  packageNames(ecosystem: string): string[] {
    return [...(this.index.get(ecosystem)?.keys() ?? [])];
  }

  /** The affected entries recorded for a package of one ecosystem. */
  lookup(ecosystem: string, name: string): readonly IndexedAffected[] {
    return this.index.get(ecosystem)?.get(normalizePackageName(ecosystem, name)) ?? [];
  }

  /** Adds the text of one JSON file; a parse error is a skipped advisory, never fatal. */
  addJsonText(text: string, source: string): void {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (err) {
      this.skip({ source, reason: `not JSON: ${(err as Error).message}` });
      return;
    }
    this.addDocument(document, source);
  }

  /** Loads every advisory of an OSV bulk zip (`<ecosystem>/all.zip`). */
  async loadZip(path: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<ZipReadError | undefined> {
    const result = await readZipJsonEntries(
      path,
      (name, text) => this.addJsonText(text, `${path}!${name}`),
      (skipped) => this.skip({ source: `${path}!${skipped.name}`, reason: skipped.reason }),
      limits,
    );
    if ('kind' in result) return result;
    return undefined;
  }

  /**
   * Loads a directory: every `*.json` file below it (an advisory each) and every
   * `*.zip` (an OSV bulk archive), with the same limits as for zips.
   */
  async loadDirectory(
    dir: string,
    limits: ZipLimits = DEFAULT_ZIP_LIMITS,
  ): Promise<ZipReadError | undefined> {
    let files = 0;
    const pending = [dir];
    while (pending.length > 0) {
      const current = pending.pop()!;
      for (const entry of await readdir(current, { withFileTypes: true })) {
        const path = join(current, entry.name);
        if (entry.isDirectory()) pending.push(path);
        else if (entry.isFile() && entry.name.endsWith('.zip')) {
          const error = await this.loadZip(path, limits);
          if (error !== undefined) return error;
        } else if (entry.isFile() && entry.name.endsWith('.json')) {
          if (++files > limits.maxEntries) {
            return {
              kind: 'ZipReadError',
              reason: 'TooManyEntries',
              message: `${dir} holds more than ${limits.maxEntries} advisories`,
            };
          }
          const size = (await stat(path)).size;
          if (size > limits.maxEntryBytes) {
            this.skip({
              source: path,
              reason: `file of ${size} bytes exceeds ${limits.maxEntryBytes}`,
            });
            continue;
          }
          this.addJsonText(await readFile(path, 'utf8'), path);
        }
      }
    }
    return undefined;
  }
}
