// Path rules of the virtual image filesystem: every path is relative to the image
// root, and `..` can never climb above it (like a chroot), whatever a layer claims.

/**
 * Longest entry name or link target accepted, in bytes: Linux's PATH_MAX. Names are
 * map keys everywhere, and V8 hashes a string longer than 16,383 characters by its
 * length alone, so thousands of long same-length names would all collide.
 */
export const PATH_MAX_BYTES = 4096;

/**
 * Normalises a tar entry name or link target to a root-relative path without a
 * leading slash: `./a//b/../c` → `a/c`, `/../../etc/passwd` → `etc/passwd`.
 * The root itself is ''.
 */
export function normalizeImagePath(name: string): string {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join('/');
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function joinImagePath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** True when `path` is `dir` itself or lies below it; '' is the root and contains everything. */
export function isAtOrBelow(path: string, dir: string): boolean {
  return dir === '' || path === dir || path.startsWith(`${dir}/`);
}

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export type WhiteoutKind =
  { kind: 'whiteout'; target: string } | { kind: 'opaque'; directory: string } | { kind: 'ignored' };

/** Classifies an OCI whiteout entry; undefined for ordinary entries. */
export function classifyWhiteout(path: string): WhiteoutKind | undefined {
  const name = baseName(path);
  if (!name.startsWith(WHITEOUT_PREFIX)) return undefined;
  const dir = parentOf(path);
  if (name === OPAQUE_MARKER) return { kind: 'opaque', directory: dir };
  // Other `.wh..wh.` names are aufs bookkeeping (hard-link dirs), not deletions.
  if (name.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return { kind: 'ignored' };
  const target = name.slice(WHITEOUT_PREFIX.length);
  if (target === '' || target === '.' || target === '..') return { kind: 'ignored' };
  return { kind: 'whiteout', target: joinImagePath(dir, target) };
}
