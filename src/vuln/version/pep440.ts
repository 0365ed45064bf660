// Python version order: PEP 440 through @renovatebot/pep440 (a maintained port
// of `packaging`), with the LegacyVersion key of setuptools/packaging < 22 as
// the fallback for strings that are not PEP 440 (old PyPI uploads such as
// "0.3.post-1" or "2004d"). As in old pip, every legacy version sorts before
// every PEP 440 version. The library parses both strings on every compare; the
// matcher compares one installed version with many range events, so the sort
// key (the library's own calculateKey, restated over its parse()) is cached per
// version string.
import { parse as parsePep440 } from '@renovatebot/pep440';
import { LRUCache } from 'lru-cache';

const LEGACY_COMPONENT = /(\d+|[a-z]+|\.|-)/;
const LEGACY_REPLACEMENTS: Record<string, string> = {
  pre: 'c',
  preview: 'c',
  '-': 'final-',
  rc: 'c',
  dev: '@',
};

function legacyParts(version: string): string[] {
  const components: string[] = [];
  for (const raw of version.toLowerCase().split(LEGACY_COMPONENT)) {
    const piece = LEGACY_REPLACEMENTS[raw] ?? raw;
    if (piece === '' || piece === '.') continue;
    components.push(piece[0]! >= '0' && piece[0]! <= '9' ? piece.padStart(8, '0') : `*${piece}`);
  }
  components.push('*final');
  const parts: string[] = [];
  for (const part of components) {
    if (part.startsWith('*')) {
      if (part < '*final') while (parts.at(-1) === '*final-') parts.pop();
      while (parts.at(-1) === '00000000') parts.pop();
    }
    parts.push(part);
  }
  return parts;
}

function compareLegacy(a: string, b: string): number {
  const pa = legacyParts(a);
  const pb = legacyParts(b);
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
  }
  return Math.sign(pa.length - pb.length);
}

type KeyPart = number | string | KeyPart[];

/** packaging's _cmpkey: epoch, release without trailing zeros, pre, post, dev, local. */
function sortKey(version: string): KeyPart[] | null {
  const v = parsePep440(version);
  if (v === null) return null;
  const release = [...v.release];
  while (release.length > 0 && release.at(-1) === 0) release.pop();
  const hasPre = v.pre !== null && v.pre.length > 0;
  const hasPost = v.post !== null && v.post.length > 0;
  const hasDev = v.dev !== null && v.dev.length > 0;
  // 1.0.dev0 sorts before 1.0a0: a dev release without pre or post takes the lowest pre.
  const pre: KeyPart = hasPre ? v.pre : !hasPost && hasDev ? -Infinity : Infinity;
  const post: KeyPart = hasPost ? v.post : -Infinity;
  const dev: KeyPart = hasDev ? v.dev : Infinity;
  const local: KeyPart =
    v.local === null
      ? -Infinity
      : (v.local as unknown as (string | number)[]).map((part): KeyPart =>
          Number.isNaN(Number(part)) ? [-Infinity, String(part)] : [Number(part), ''],
        );
  return [v.epoch, release, pre, post, dev, local];
}

/** Python's tuple order, as the library's pyCompare applies it to sort keys. */
function compareKeys(a: KeyPart, b: KeyPart): number {
  if (a === b) return 0;
  if (Array.isArray(a) !== Array.isArray(b)) {
    return compareKeys(Array.isArray(a) ? a : [a], Array.isArray(b) ? b : [b]);
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const r = compareKeys(a[i]!, b[i]!);
      if (r !== 0) return r;
    }
    return Math.sign(a.length - b.length);
  }
  if (a === -Infinity || b === Infinity) return -1;
  if (a === Infinity || b === -Infinity) return 1;
  return a < b ? -1 : 1;
}

const keys = new LRUCache<string, { key: KeyPart[] | null }>({ max: 100_000 });

function cachedKey(version: string): KeyPart[] | null {
  let entry = keys.get(version);
  if (entry === undefined) {
    entry = { key: sortKey(version) };
    keys.set(version, entry);
  }
  return entry.key;
}

export function isPep440Version(version: string): boolean {
  return cachedKey(version) !== null;
}

/** Compares two Python versions: negative, zero or positive like a sort comparator. */
export function comparePythonVersions(a: string, b: string): number {
  const ka = cachedKey(a);
  const kb = cachedKey(b);
  if (ka !== null && kb !== null) return compareKeys(ka, kb);
  if ((ka === null) !== (kb === null)) return ka !== null ? 1 : -1;
  return compareLegacy(a, b);
}
