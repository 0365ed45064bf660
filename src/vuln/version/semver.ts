// SemVer 2.0 order (npm, crates.io, Go modules) through the `semver` package,
// plus the Go toolchain's own spellings ("1.21", "1.22rc1") turned into SemVer
// so that the Go `stdlib` package can be matched.
import { LRUCache } from 'lru-cache';
import semver from 'semver';

/** Turns a Go toolchain version (go1.22rc1, 1.21, 1.21.5) into SemVer, or undefined. */
export function goToolchainToSemver(version: string): string | undefined {
  const m = /^(?:go)?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(rc|beta)(\d+))?$/.exec(version);
  if (m === null) return undefined;
  const [, major, minor = '0', patch = '0', pre, preNumber] = m;
  return `${major}.${minor}.${patch}${pre === undefined ? '' : `-${pre}.${preNumber}`}`;
}

// The matcher compares one installed version with many range events: parse once per string.
const parsed = new LRUCache<string, { version: semver.SemVer | null }>({ max: 100_000 });

function toSemver(version: string): semver.SemVer | null {
  let entry = parsed.get(version);
  if (entry === undefined) {
    entry = { version: parseSemver(version) };
    parsed.set(version, entry);
  }
  return entry.version;
}

function parseSemver(version: string): semver.SemVer | null {
  const direct = semver.parse(version);
  if (direct !== null) return direct;
  const go = goToolchainToSemver(version);
  return go === undefined ? null : semver.parse(go);
}

export function isSemverVersion(version: string): boolean {
  return toSemver(version) !== null;
}

/** Compares two SemVer versions; a string that is not SemVer sorts before every version (NaN is never returned). */
export function compareSemverVersions(a: string, b: string): number {
  const va = toSemver(a);
  const vb = toSemver(b);
  if (va !== null && vb !== null) return va.compare(vb);
  if (va === null && vb === null) return a < b ? -1 : a > b ? 1 : 0;
  return va === null ? -1 : 1;
}
