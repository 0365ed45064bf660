// The image as a container would see it, limited to what the walk recorded: the
// per-layer records are merged bottom to top (whiteouts and opaque directories of a
// layer hide only the layers below it), and lookups follow symlinks strictly inside
// the image root with a hop limit.
import type { LayerRecord, LayerWalk } from './layer-walker.js';
import { PATH_MAX_BYTES, normalizeImagePath, parentOf } from './paths.js';

export interface VisibleRecord<R> {
  record: LayerRecord<R>;
  layerIndex: number;
  layerDigest: string;
}

export interface VisibleFile<R> {
  /** Absolute path inside the image. */
  path: string;
  value: R;
  size: number;
  mode: number;
  layerIndex: number;
  layerDigest: string;
}

export type LookupResult<R> =
  | ({ found: true } & VisibleFile<R>)
  | { found: false; reason: 'missing' | 'not-captured' | 'symlink-loop' | 'name-too-long' };

export class VirtualFilesystem<R> {
  private readonly state = new Map<string, VisibleRecord<R>>();
  /**
   * Directory → the paths directly below it that are visible or have something
   * visible below them: a path trie kept as a children index, so removing a subtree
   * (whiteout, opaque directory, a file over a directory) touches only that subtree.
   * A scan of every visible path per removal made 40,000 whiteouts over a large lower
   * layer cost 40,000 × its size.
   */
  private readonly children = new Map<string, Set<string>>();
  private removed = 0;

  constructor(
    layers: ReadonlyArray<Pick<LayerWalk<R>, 'digest' | 'records' | 'whiteouts' | 'opaqueDirs'>>,
    private readonly maxSymlinkHops = 40,
  ) {
    layers.forEach((layer, layerIndex) => this.apply(layer, layerIndex));
  }

  /** Index entries visited by whiteout and opaque-directory removals: proportional to what they removed. */
  get removalWork(): number {
    return this.removed;
  }

  private apply(
    layer: Pick<LayerWalk<R>, 'digest' | 'records' | 'whiteouts' | 'opaqueDirs'>,
    index: number,
  ): void {
    for (const dir of layer.opaqueDirs) this.removeBelow(dir, false);
    for (const path of layer.whiteouts) this.removeBelow(path, true);
    for (const record of layer.records) {
      // A non-directory replaces whatever a lower layer had under that path.
      this.removeBelow(record.path, true);
      this.set(record.path, { record, layerIndex: index, layerDigest: layer.digest });
    }
  }

  private set(path: string, visible: VisibleRecord<R>): void {
    this.state.set(path, visible);
    // Link the path into its parents until one already knew it.
    for (let child = path; child !== '';) {
      const dir = parentOf(child);
      let below = this.children.get(dir);
      if (below === undefined) {
        below = new Set();
        this.children.set(dir, below);
      }
      if (below.has(child)) break;
      below.add(child);
      child = dir;
    }
  }

  /** Unlinks a path that is neither visible nor has anything below it, and parents left empty. */
  private prune(path: string): void {
    for (let child = path; child !== '';) {
      if (this.state.has(child) || this.children.has(child)) return;
      const dir = parentOf(child);
      const below = this.children.get(dir);
      if (below === undefined) return;
      below.delete(child);
      if (below.size > 0) return;
      this.children.delete(dir);
      child = dir;
    }
  }

  private removeBelow(path: string, includeSelf: boolean): void {
    if (includeSelf) this.state.delete(path);
    const pending: string[] = [];
    const top = this.children.get(path);
    if (top !== undefined) {
      this.children.delete(path);
      for (const child of top) pending.push(child);
    }
    // Iterative, so a deep tree cannot overflow the stack.
    while (pending.length > 0) {
      const child = pending.pop() as string;
      this.removed++;
      this.state.delete(child);
      const below = this.children.get(child);
      if (below === undefined) continue;
      this.children.delete(child);
      for (const grandchild of below) pending.push(grandchild);
    }
    this.prune(path);
  }

  /** Every captured regular file that is visible in the final image, in path order. */
  files(): VisibleFile<R>[] {
    const out: VisibleFile<R>[] = [];
    for (const [path, visible] of this.state) {
      if (visible.record.kind !== 'file') continue;
      const { value, size, mode } = visible.record;
      out.push({
        path: `/${path}`,
        value,
        size,
        mode,
        layerIndex: visible.layerIndex,
        layerDigest: visible.layerDigest,
      });
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** The raw record visible at a path, without following links. */
  entry(path: string): VisibleRecord<R> | undefined {
    return this.state.get(normalizeImagePath(path));
  }

  /**
   * Resolves a path like the kernel would inside a chroot of the image: absolute
   * symlink targets start at the image root, `..` stops at it, and more than
   * maxSymlinkHops links (a loop, or a hostile chain) end the lookup.
   */
  lookup(path: string): LookupResult<R> {
    const resolved = this.resolve(path);
    if (typeof resolved !== 'string') return { found: false, reason: resolved.reason };
    const visible = this.state.get(resolved);
    if (visible === undefined) return { found: false, reason: 'missing' };
    if (visible.record.kind !== 'file') return { found: false, reason: 'not-captured' };
    const { value, size, mode } = visible.record;
    return {
      found: true,
      path: `/${resolved}`,
      value,
      size,
      mode,
      layerIndex: visible.layerIndex,
      layerDigest: visible.layerDigest,
    };
  }

  /** Root-relative path after following every symlink and hardlink. */
  resolve(path: string): string | { reason: 'symlink-loop' | 'name-too-long' } {
    // Like ENAMETOOLONG: a name or link target over PATH_MAX is refused, not walked.
    if (Buffer.byteLength(path) > PATH_MAX_BYTES) return { reason: 'name-too-long' };
    let hops = 0;
    const pending: string[] = [];
    pushReversed(pending, path.split('/'));
    const done: string[] = [];
    // prefixes[i] is done[0..i] joined: one concatenation per component, not a join of all of them.
    const prefixes: string[] = [];
    while (pending.length > 0) {
      const part = pending.pop() as string;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        done.pop();
        prefixes.pop();
        continue;
      }
      const parent = prefixes[prefixes.length - 1];
      const current = parent === undefined ? part : `${parent}/${part}`;
      done.push(part);
      prefixes.push(current);
      const record = this.state.get(current)?.record;
      if (record?.kind === 'symlink' || record?.kind === 'hardlink') {
        if (++hops > this.maxSymlinkHops) return { reason: 'symlink-loop' };
        if (Buffer.byteLength(record.target) > PATH_MAX_BYTES) return { reason: 'name-too-long' };
        done.pop();
        prefixes.pop();
        // Hardlink names are archive paths (root-relative); symlinks are relative to their directory.
        if (record.kind === 'hardlink' || record.target.startsWith('/')) {
          done.length = 0;
          prefixes.length = 0;
        }
        pushReversed(pending, record.target.split('/'));
      }
    }
    return prefixes[prefixes.length - 1] ?? '';
  }
}

/** push(...parts.reverse()) without spreading: a spread of a long array overflows the stack. */
function pushReversed(stack: string[], parts: readonly string[]): void {
  for (let i = parts.length - 1; i >= 0; i--) stack.push(parts[i] as string);
}
