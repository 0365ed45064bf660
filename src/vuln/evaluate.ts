// Whether a version is affected by one `affected[]` entry, exactly as the OSV
// schema's evaluation pseudocode says: ranges of type ECOSYSTEM and SEMVER walk
// their events in version order (introduced sets, fixed and last_affected
// clear, limit bounds the range), a GIT range is skipped without stopping the
// ranges after it, and `versions[]` lists affected versions outright.
import type { OsvAffected, OsvEvent, OsvRange, SortedEvent } from './osv.js';
import { compareSemverVersions } from './version/index.js';
import type { VersionComparator } from './version/index.js';

function eventOf(event: OsvEvent): SortedEvent {
  if ('introduced' in event) return { kind: 'introduced', version: event.introduced };
  if ('fixed' in event) return { kind: 'fixed', version: event.fixed };
  if ('last_affected' in event) return { kind: 'last_affected', version: event.last_affected };
  return { kind: 'limit', version: event.limit };
}

/** "0" (introduced at the beginning of time) sorts before every version; "*" (no limit) after. */
function compareEventVersions(a: string, b: string, compare: VersionComparator): number {
  if (a === b) return 0;
  if (a === '0') return -1;
  if (b === '0') return 1;
  if (a === '*') return 1;
  if (b === '*') return -1;
  return compare(a, b);
}

// Sorted once per range, on its first evaluation, and kept on the range: loading
// stays cheap and re-matching neither re-sorts nor pays a side-table lookup.
function compileRange(range: OsvRange, compare: VersionComparator): NonNullable<OsvRange['compiled']> {
  let result = range.compiled;
  if (result === undefined) {
    const events = range.events
      .map(eventOf)
      .sort((x, y) => compareEventVersions(x.version, y.version, compare));
    result = { events, limits: events.filter((e) => e.kind === 'limit').map((e) => e.version) };
    range.compiled = result;
  }
  return result;
}

/**
 * The schema's `includes(v, range)`. Walking the sorted events leaves the state
 * of the last event that applies (introduced or fixed at or below v,
 * last_affected below v), so a binary search for the events at or below v and
 * a step back over last_affected events equal to v give the same answer in
 * O(log n) comparisons.
 */
export function rangeIncludes(
  version: string,
  range: OsvRange,
  ecosystemCompare: VersionComparator,
): boolean {
  const compare = range.type === 'SEMVER' ? compareSemverVersions : ecosystemCompare;
  const { events, limits } = compileRange(range, compare);
  if (limits.length > 0 && !limits.some((limit) => compareEventVersions(version, limit, compare) < 0))
    return false;
  let low = 0;
  let high = events.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareEventVersions(events[mid]!.version, version, compare) <= 0) low = mid + 1;
    else high = mid;
  }
  for (let i = low - 1; i >= 0; i--) {
    const event = events[i]!;
    if (event.kind === 'limit') continue;
    if (event.kind === 'introduced') return true;
    if (event.kind === 'fixed') return false;
    // last_affected applies only strictly below v.
    if (compareEventVersions(event.version, version, compare) < 0) return false;
  }
  return false;
}

/** The schema's `affected(v, affected)`; without a comparator only `versions[]` can match. */
export function isAffected(
  version: string,
  affected: OsvAffected,
  compare: VersionComparator | undefined,
): boolean {
  if (compare !== undefined) {
    for (const range of affected.ranges) {
      if (range.type === 'GIT') continue;
      if (rangeIncludes(version, range, compare)) return true;
    }
  }
  const listed = affected.versions;
  if (listed.length === 0) return false;
  if (listed.length <= 8) return listed.includes(version);
  // versions[] lists run to hundreds of entries (the Go and PyPI snapshots list every release in range).
  affected.versionSet ??= new Set(listed);
  return affected.versionSet.has(version);
}

const fixedCache = new WeakMap<OsvAffected, string[]>();

/** Every fixed version named by the entry's ECOSYSTEM and SEMVER ranges: the upgrade targets. */
export function fixedVersions(affected: OsvAffected): string[] {
  const cached = fixedCache.get(affected);
  if (cached !== undefined) return cached;
  const fixed = new Set<string>();
  for (const range of affected.ranges) {
    if (range.type === 'GIT') continue;
    for (const event of range.events) if ('fixed' in event) fixed.add(event.fixed);
  }
  const result = [...fixed];
  fixedCache.set(affected, result);
  return result;
}
