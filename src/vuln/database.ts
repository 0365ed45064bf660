// The in-memory vulnerability database: advisories loaded from a directory of
// OSV JSON files or from OSV bulk zips, withdrawn ones dropped, malformed ones
// skipped and counted, and each `affected[]` entry indexed by ecosystem and
// normalised package name so that matching an inventory is a few map lookups.
//
// The index is compact because the operator keeps it for its whole life next
// to every cached inventory (budget: 300,000+ advisories of seven ecosystems
// under 600 MiB for the whole process). Of an advisory it keeps one shared
// record (ids, summary, severity inputs); of each entry only integer spans into
// typed-array pools: range events as interned version ids and kinds, and
// `versions[]` as sorted version ids. Version strings, package names and
// severity vectors are interned. Matching ranks every event version of a
// package once (lazily, on its first lookup) so that evaluating a range is
// integer comparisons, and remembers recent (ecosystem, name, version) answers.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { LRUCache } from 'lru-cache';

import { isAdvisoryRejection, parseAdvisory } from './osv.js';
import type { Advisory, OsvAffected, OsvSeverity } from './osv.js';
import { severityOf } from './severity.js';
import type { Severity } from './severity.js';
import { comparatorFor, compareSemverVersions, ecosystemFamily } from './version/index.js';
import type { VersionComparator } from './version/index.js';
import type { FlawFacts } from './finding-list.js';
import { DEFAULT_ZIP_LIMITS, readZipJsonEntries } from './zip-reader.js';
import type { ZipLimits, ZipReadError } from './zip-reader.js';

/** What a finding takes from an entry, computed on its first match and kept on the entry (shared parts interned). */
export interface EntryFacts extends FlawFacts {
  /** The ids the entry's advisory merges with others on. */
  readonly mergeIds: string[];
}

/** What matching and findings need of one advisory, shared by all its entries. */
export interface AdvisoryRecord {
  id: string;
  aliases: string[];
  upstream: string[];
  /** The summary (or the first line of the details), at most SUMMARY_CHARS long. */
  summary?: string;
  severity: OsvSeverity[];
  databaseSeverity?: string;
  /** The ids findings merge on and show, filled on the advisory's first match. */
  ids: { mergeIds: string[]; id: string; aliases: string[] } | undefined;
}

/** One `affected[]` entry of an advisory: what a lookup returns. */
export interface IndexedAffected {
  readonly advisory: AdvisoryRecord;
  /** Filled on the entry's first match: every finding of the entry shares it. */
  facts: EntryFacts | undefined;
  /** The entry's own severities (rare; OSV allows them per package). */
  readonly severity: OsvSeverity[];
  /** Its ECOSYSTEM and SEMVER ranges: a span of the database's range pool. */
  readonly rangeStart: number;
  readonly rangeCount: number;
  /** Its `versions[]`: a span of sorted version ids in the database's version pool. */
  readonly versionStart: number;
  readonly versionCount: number;
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
/** Findings show a one-line summary; the details stay at the source. */
const SUMMARY_CHARS = 200;
/** Recent (ecosystem, name, version) answers kept: a cluster runs the same packages in many images. */
const MEMO_ENTRIES = 50_000;

/** Merged flaws remembered (see VulnerabilityDatabase.mergedFlaw). */
const MERGED_FLAWS = 100_000;

/** PEP 503 for PyPI; every other ecosystem's names are case-sensitive and used as written. */
export function normalizePackageName(ecosystem: string, name: string): string {
  const family = ecosystemFamily(ecosystem);
  if (family === 'PyPI') return name.toLowerCase().replace(/[-_.]+/g, '-');
  return name;
}

/** A growable typed array: millions of small numbers without an object each. */
class Pool<T extends Uint32Array | Int32Array | Uint8Array> {
  length = 0;
  constructor(
    public data: T,
    private readonly make: (size: number) => T,
  ) {}

  /** Gives back the capacity beyond the length (the doubling's slack: up to half the pool). */
  trim(): void {
    if (this.data.length > this.length) this.data = this.data.slice(0, this.length) as T;
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = this.make(Math.max(1024, this.data.length * 2));
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
}

const EVENT_INTRODUCED = 0;
const EVENT_FIXED = 1;
const EVENT_LAST_AFFECTED = 2;
const EVENT_LIMIT = 3;
const EVENT_KIND = {
  introduced: EVENT_INTRODUCED,
  fixed: EVENT_FIXED,
  last_affected: EVENT_LAST_AFFECTED,
  limit: EVENT_LIMIT,
};

/** Rank keys of the "0" (before every version) and "*" (after every version) events. */
const KEY_BEFORE_ALL = -1;
const KEY_AFTER_ALL = 2 ** 30;

/** The entries of one package under one ecosystem, and its version ranks once matched. */
interface PackageEntries {
  entries: IndexedAffected[];
  compare: VersionComparator | undefined;
  /** The package's distinct event versions in ascending order, per comparator; built on first match. */
  ranked?: { ecosystem: string[]; semver: string[] };
}

const NO_ENTRIES: readonly IndexedAffected[] = Object.freeze([]);
const NO_STRINGS: string[] = [];
const NO_SEVERITY: OsvSeverity[] = [];

/** A finished lower-bound search: the index of the first element not below `version`. */
function lowerBound(sorted: readonly string[], version: string, compare: VersionComparator): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compare(sorted[mid]!, version) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The rank key of an installed version among a package's distinct event
 * versions: 2i+1 when it equals the i-th, 2i when it lies just below it. Event
 * keys are odd (2i+1), so key order is the comparator's order.
 */
function installedKey(sorted: readonly string[], version: string, compare: VersionComparator): number {
  const i = lowerBound(sorted, version, compare);
  return i < sorted.length && compare(sorted[i]!, version) === 0 ? 2 * i + 1 : 2 * i;
}

export class VulnerabilityDatabase {
  private readonly index = new Map<string, Map<string, PackageEntries>>();
  private readonly ids = new Set<string>();
  readonly summary: LoadSummary = { loaded: 0, withdrawn: 0, skippedCount: 0, skipped: [] };

  /** Interned version strings and their ids (event versions and `versions[]` entries). */
  private readonly versionIds = new Map<string, number>();
  private readonly versionStrings: string[] = [];
  /** Interned strings and severity lists shared by many advisories. */
  private readonly strings = new Map<string, string>();
  private readonly severities = new Map<string, OsvSeverity[]>();

  /** Ranges: per range its first event, event count and whether it is SEMVER (1) or ECOSYSTEM (0). */
  private readonly rangeFirst = new Pool(new Uint32Array(1024), (n) => new Uint32Array(n));
  private readonly rangeCount = new Pool(new Uint32Array(1024), (n) => new Uint32Array(n));
  private readonly rangeSemver = new Pool(new Uint8Array(1024), (n) => new Uint8Array(n));
  /** Events: version id and kind, and the rank key filled when the package is first matched. */
  private readonly eventVersion = new Pool(new Uint32Array(4096), (n) => new Uint32Array(n));
  private readonly eventKind = new Pool(new Uint8Array(4096), (n) => new Uint8Array(n));
  private eventKey = new Int32Array(0);
  /** `versions[]` of every entry, each span sorted by id for binary search. */
  private readonly listed = new Pool(new Uint32Array(4096), (n) => new Uint32Array(n));

  private readonly memo = new LRUCache<string, readonly IndexedAffected[]>({ max: MEMO_ENTRIES });
  /**
   * Finding facts are kept on their entry once matched, not in a bounded cache: every finding
   * holds its entry's facts, so a cache that forgot them would make each image that matches the
   * entry again build (and keep) a copy, and re-score its severity. Their parts are interned:
   * the same severity, fixed-version list and id set are one object however many entries use them.
   */
  private readonly severityValues = new Map<string, Severity>();
  /**
   * Flaws merged from several entries (a DSA and the CVE it fixes, say), by the ids of their
   * entries' advisories in match order: every image with the package shares one object.
   * Bounded: one forgotten is built again, and shared from then on.
   */
  private readonly mergedFlaws = new LRUCache<string, FlawFacts>({ max: MERGED_FLAWS });
  private readonly fixedLists = new Map<string, string[]>();

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

  /** Ends a load: the pools keep only what they hold (adding later grows them again). */
  trim(): void {
    for (const pool of [
      this.rangeFirst,
      this.rangeCount,
      this.rangeSemver,
      this.eventVersion,
      this.eventKind,
      this.listed,
    ])
      pool.trim();
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

  private intern(value: string): string {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    this.strings.set(value, value);
    return value;
  }

  private versionId(version: string): number {
    let id = this.versionIds.get(version);
    if (id === undefined) {
      id = this.versionStrings.length;
      this.versionIds.set(version, id);
      this.versionStrings.push(version);
    }
    return id;
  }

  private internSeverities(list: OsvSeverity[]): OsvSeverity[] {
    if (list.length === 0) return NO_SEVERITY;
    const key = list.map((s) => `${s.type}\u0000${s.score}`).join('\u0001');
    let known = this.severities.get(key);
    if (known === undefined) {
      known = list.map((s) => ({ type: this.intern(s.type), score: this.intern(s.score) }));
      this.severities.set(key, known);
    }
    return known;
  }

  private record(advisory: Advisory): AdvisoryRecord {
    const record: AdvisoryRecord = {
      id: advisory.id,
      aliases: advisory.aliases.length === 0 ? NO_STRINGS : advisory.aliases,
      upstream: advisory.upstream.length === 0 ? NO_STRINGS : advisory.upstream,
      severity: this.internSeverities(advisory.severity),
      ids: undefined,
    };
    if (advisory.summary !== undefined) {
      // A copy, not a slice: a sliced string would keep the whole parsed text alive.
      record.summary =
        advisory.summary.length > SUMMARY_CHARS
          ? Buffer.from(advisory.summary.slice(0, SUMMARY_CHARS)).toString()
          : advisory.summary;
    }
    if (advisory.databaseSeverity !== undefined)
      record.databaseSeverity = this.intern(advisory.databaseSeverity);
    return record;
  }

  /** Stores an entry's ranges and versions in the pools; undefined when it can never match. */
  private entryOf(
    record: AdvisoryRecord,
    affected: OsvAffected,
    compare: VersionComparator | undefined,
  ): IndexedAffected | undefined {
    const rangeStart = this.rangeFirst.length;
    // Without a version order only `versions[]` can match; GIT ranges never decide (the schema).
    if (compare !== undefined) {
      for (const range of affected.ranges) {
        if (range.type === 'GIT') continue;
        this.rangeFirst.push(this.eventVersion.length);
        this.rangeCount.push(range.events.length);
        this.rangeSemver.push(range.type === 'SEMVER' ? 1 : 0);
        for (const event of range.events) {
          const kind = Object.keys(event)[0] as keyof typeof EVENT_KIND;
          this.eventKind.push(EVENT_KIND[kind]);
          this.eventVersion.push(this.versionId((event as Record<string, string>)[kind]!));
        }
      }
    }
    const rangeCount = this.rangeFirst.length - rangeStart;
    const versionStart = this.listed.length;
    if (affected.versions.length > 0) {
      const ids = [...new Set(affected.versions.map((v) => this.versionId(v)))].sort((a, b) => a - b);
      for (const id of ids) this.listed.push(id);
    }
    const versionCount = this.listed.length - versionStart;
    if (rangeCount === 0 && versionCount === 0) return undefined;
    return {
      advisory: record,
      facts: undefined,
      severity: this.internSeverities(affected.severity),
      rangeStart,
      rangeCount,
      versionStart,
      versionCount,
    };
  }

  add(advisory: Advisory): void {
    if (this.ids.has(advisory.id)) return;
    this.ids.add(advisory.id);
    this.summary.loaded++;
    // lru-cache's clear() walks its whole capacity: only pay it when something was remembered.
    if (this.memo.size > 0) this.memo.clear();
    const record = this.record(advisory);
    for (const affected of advisory.affected) {
      const ecosystem = this.intern(affected.package.ecosystem);
      let byName = this.index.get(ecosystem);
      if (byName === undefined) {
        byName = new Map();
        this.index.set(ecosystem, byName);
      }
      const name = normalizePackageName(ecosystem, affected.package.name);
      let pkg = byName.get(name);
      if (pkg === undefined) {
        pkg = { entries: [], compare: comparatorFor(ecosystem) };
        byName.set(name, pkg);
      }
      const entry = this.entryOf(record, affected, pkg.compare);
      if (entry === undefined) continue;
      pkg.entries.push(entry);
      // A package matched before this entry arrived ranks its versions again.
      delete pkg.ranked;
    }
  }

  /** The normalised package names indexed under one ecosystem string. */
  packageNames(ecosystem: string): string[] {
    return [...(this.index.get(ecosystem)?.keys() ?? [])];
  }

  /** The affected entries recorded for a package of one ecosystem. */
  lookup(ecosystem: string, name: string): readonly IndexedAffected[] {
    return this.index.get(ecosystem)?.get(normalizePackageName(ecosystem, name))?.entries ?? NO_ENTRIES;
  }

  /**
   * The entries of a package whose ranges or `versions[]` include the version,
   * evaluated as the OSV schema's pseudocode defines it (see evaluate.ts, the
   * reference form this one is tested against).
   */
  affected(ecosystem: string, name: string, version: string): readonly IndexedAffected[] {
    const normalized = normalizePackageName(ecosystem, name);
    const pkg = this.index.get(ecosystem)?.get(normalized);
    if (pkg === undefined) return NO_ENTRIES;
    const key = `${ecosystem}\u0000${normalized}\u0000${version}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    const result = this.evaluate(pkg, version);
    this.memo.set(key, result);
    return result;
  }

  private evaluate(pkg: PackageEntries, version: string): readonly IndexedAffected[] {
    const ranked = pkg.compare === undefined ? undefined : (pkg.ranked ?? this.rank(pkg));
    let ecosystemKey: number | undefined;
    let semverKey: number | undefined;
    const listedId = this.versionIds.get(version);
    let result: IndexedAffected[] | undefined;
    for (const entry of pkg.entries) {
      let hit = false;
      for (let r = entry.rangeStart; r < entry.rangeStart + entry.rangeCount && !hit; r++) {
        const semver = this.rangeSemver.data[r] === 1;
        let key: number;
        // The reference order puts "0" before and "*" after every version, whatever the comparator says.
        if (version === '0') key = KEY_BEFORE_ALL;
        else if (version === '*') key = KEY_AFTER_ALL;
        else if (semver) key = semverKey ??= installedKey(ranked!.semver, version, compareSemverVersions);
        else key = ecosystemKey ??= installedKey(ranked!.ecosystem, version, pkg.compare!);
        hit = this.rangeIncludes(r, key);
      }
      if (!hit && listedId !== undefined && entry.versionCount > 0) hit = this.lists(entry, listedId);
      if (hit) (result ??= []).push(entry);
    }
    return result ?? NO_ENTRIES;
  }

  private lists(entry: IndexedAffected, id: number): boolean {
    const data = this.listed.data;
    let low = entry.versionStart;
    let high = entry.versionStart + entry.versionCount;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const value = data[mid]!;
      if (value === id) return true;
      if (value < id) low = mid + 1;
      else high = mid;
    }
    return false;
  }

  /**
   * The schema's `includes(v, range)` on rank keys: of the events at or below
   * v (sorted), the last one that applies decides; last_affected applies only
   * strictly below v; a limit bounds the range from above.
   */
  private rangeIncludes(range: number, key: number): boolean {
    const first = this.rangeFirst.data[range]!;
    const end = first + this.rangeCount.data[range]!;
    const keys = this.eventKey;
    const kinds = this.eventKind.data;
    let limited = false;
    let belowLimit = false;
    let low = first;
    for (let e = first; e < end; e++) {
      if (kinds[e] === EVENT_LIMIT) {
        limited = true;
        if (key < keys[e]!) belowLimit = true;
      }
      if (keys[e]! <= key) low = e + 1;
    }
    if (limited && !belowLimit) return false;
    for (let e = low - 1; e >= first; e--) {
      const kind = kinds[e];
      if (kind === EVENT_LIMIT) continue;
      if (kind === EVENT_INTRODUCED) return true;
      if (kind === EVENT_FIXED) return false;
      if (keys[e]! < key) return false;
    }
    return false;
  }

  /**
   * Ranks a package's event versions (per comparator: its ecosystem's and
   * SEMVER's), gives every event its key, and sorts each range's events by key.
   * Done once per package, on its first match: loading stays cheap, and from
   * then on a range costs integer comparisons and the installed version a
   * binary search per comparator.
   */
  private rank(pkg: PackageEntries): NonNullable<PackageEntries['ranked']> {
    const compare = pkg.compare!;
    if (this.eventKey.length < this.eventVersion.length) {
      const keys = new Int32Array(this.eventVersion.data.length);
      keys.set(this.eventKey);
      this.eventKey = keys;
    }
    const ecosystem = new Set<string>();
    const semver = new Set<string>();
    const versions = this.eventVersion.data;
    for (const entry of pkg.entries) {
      for (let r = entry.rangeStart; r < entry.rangeStart + entry.rangeCount; r++) {
        const target = this.rangeSemver.data[r] === 1 ? semver : ecosystem;
        const first = this.rangeFirst.data[r]!;
        for (let e = first; e < first + this.rangeCount.data[r]!; e++) {
          const version = this.versionStrings[versions[e]!]!;
          if (version !== '0' && version !== '*') target.add(version);
        }
      }
    }
    const ordered = (values: Set<string>, order: VersionComparator): [string[], Map<string, number>] => {
      const sorted = [...values].sort(order);
      const distinct: string[] = [];
      const rankOf = new Map<string, number>();
      for (const version of sorted) {
        if (distinct.length === 0 || order(distinct[distinct.length - 1]!, version) !== 0)
          distinct.push(version);
        rankOf.set(version, distinct.length - 1);
      }
      return [distinct, rankOf];
    };
    const [ecosystemSorted, ecosystemRank] = ordered(ecosystem, compare);
    const [semverSorted, semverRank] = ordered(semver, compareSemverVersions);
    const kinds = this.eventKind.data;
    for (const entry of pkg.entries) {
      for (let r = entry.rangeStart; r < entry.rangeStart + entry.rangeCount; r++) {
        const rankOf = this.rangeSemver.data[r] === 1 ? semverRank : ecosystemRank;
        const first = this.rangeFirst.data[r]!;
        const end = first + this.rangeCount.data[r]!;
        const events: { version: number; kind: number; key: number }[] = [];
        for (let e = first; e < end; e++) {
          const version = this.versionStrings[versions[e]!]!;
          const key =
            version === '0' ? KEY_BEFORE_ALL : version === '*' ? KEY_AFTER_ALL : 2 * rankOf.get(version)! + 1;
          events.push({ version: versions[e]!, kind: kinds[e]!, key });
        }
        // Stable: events of equal versions keep their order, as the reference evaluation's sort does.
        events.sort((a, b) => a.key - b.key);
        for (let i = 0; i < events.length; i++) {
          versions[first + i] = events[i]!.version;
          kinds[first + i] = events[i]!.kind;
          this.eventKey[first + i] = events[i]!.key;
        }
      }
    }
    pkg.ranked = { ecosystem: ecosystemSorted, semver: semverSorted };
    return pkg.ranked;
  }

  /** The facts a finding takes from an entry (computed on its first match, then kept on the entry). */
  facts(entry: IndexedAffected): EntryFacts {
    if (entry.facts !== undefined) return entry.facts;
    const { advisory } = entry;
    const { mergeIds, id, aliases } = this.idsOf(advisory);
    const facts: EntryFacts = {
      id,
      aliases,
      fixedVersions: this.fixedVersions(entry),
      severity: this.severityOf(advisory, entry.severity),
      ...(advisory.summary === undefined ? {} : { summary: advisory.summary }),
      mergeIds,
    };
    entry.facts = facts;
    return facts;
  }

  /** The one merged flaw of these entries' facts (in this order), built by `merge` when first asked. */
  mergedFlaw(facts: readonly EntryFacts[], merge: () => FlawFacts): FlawFacts {
    let key = '';
    for (const f of facts) key += `${f.mergeIds[0]}\u0000`;
    let flaw = this.mergedFlaws.get(key);
    if (flaw === undefined) {
      flaw = merge();
      this.mergedFlaws.set(key, flaw);
    }
    return flaw;
  }

  /** One Severity object per distinct (advisory severities, entry severities, database severity). */
  private severityOf(advisory: AdvisoryRecord, entrySeverity: OsvSeverity[]): Severity {
    // Severity lists are interned, so their contents identify them; the key is short in practice.
    const key = `${severityKey(entrySeverity)}\u0002${severityKey(advisory.severity)}\u0002${advisory.databaseSeverity ?? ''}`;
    let severity = this.severityValues.get(key);
    if (severity === undefined) {
      severity = severityOf(advisory, entrySeverity);
      this.severityValues.set(key, severity);
    }
    return severity;
  }

  /** The ids an advisory merges on, and its finding id and aliases; one object per advisory. */
  private idsOf(advisory: AdvisoryRecord): NonNullable<AdvisoryRecord['ids']> {
    let ids = advisory.ids;
    if (ids === undefined) {
      const mergeIds = [
        ...new Set([
          advisory.id,
          ...advisory.aliases,
          ...(advisory.upstream.length === 1 ? advisory.upstream : []),
        ]),
      ];
      const id = preferredId(mergeIds);
      const aliases = mergeIds.filter((x) => x !== id).sort();
      ids = { mergeIds, id, aliases: aliases.length === 0 ? NO_STRINGS : aliases };
      advisory.ids = ids;
    }
    return ids;
  }

  /** Every fixed version named by the entry's ranges, sorted as strings: the upgrade targets. */
  private fixedVersions(entry: IndexedAffected): string[] {
    const fixed = new Set<string>();
    for (let r = entry.rangeStart; r < entry.rangeStart + entry.rangeCount; r++) {
      const first = this.rangeFirst.data[r]!;
      for (let e = first; e < first + this.rangeCount.data[r]!; e++) {
        if (this.eventKind.data[e] === EVENT_FIXED)
          fixed.add(this.versionStrings[this.eventVersion.data[e]!]!);
      }
    }
    if (fixed.size === 0) return NO_STRINGS;
    const list = [...fixed].sort();
    const key = list.join('\u0000');
    const known = this.fixedLists.get(key);
    if (known !== undefined) return known;
    this.fixedLists.set(key, list);
    return list;
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

  /** Loads every advisory of an OSV bulk zip (`<ecosystem>/all.zip`), one entry's text alive at a time. */
  async loadZip(path: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<ZipReadError | undefined> {
    const result = await readZipJsonEntries(
      path,
      (name, text) => this.addJsonText(text, `${path}!${name}`),
      (skipped) => this.skip({ source: `${path}!${skipped.name}`, reason: skipped.reason }),
      limits,
    );
    this.trim();
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
    this.trim();
    return undefined;
  }
}

function severityKey(list: readonly OsvSeverity[]): string {
  return list.length === 0 ? '' : list.map((s) => `${s.type}\u0000${s.score}`).join('\u0001');
}

/** The smallest CVE id, else the smallest id: stable whatever order the advisories were loaded in. */
export function preferredId(ids: Iterable<string>): string {
  let best: string | undefined;
  let bestIsCve = false;
  for (const id of ids) {
    const isCve = id.startsWith('CVE-');
    if (best === undefined || (isCve && !bestIsCve) || (isCve === bestIsCve && id < best)) {
      best = id;
      bestIsCve = isCve;
    }
  }
  return best!;
}
