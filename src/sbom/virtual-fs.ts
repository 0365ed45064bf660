// The image as a container would see it, limited to what the walk recorded: the
// per-layer records are merged bottom to top (whiteouts and opaque directories of a
// layer hide only the layers below it), and lookups follow symlinks strictly inside
// the image root with a hop limit.
import type { LayerRecord, LayerWalk } from './layer-walker.js';
import { isAtOrBelow, normalizeImagePath, parentOf } from './paths.js';

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
  ({ found: true } & VisibleFile<R>) | { found: false; reason: 'missing' | 'not-captured' | 'symlink-loop' };

export class VirtualFilesystem<R> {
  private readonly state = new Map<string, VisibleRecord<R>>();
  /** How many visible records lie below each directory, so most removals skip the scan. */
  private readonly below = new Map<string, number>();

  constructor(
    layers: ReadonlyArray<Pick<LayerWalk<R>, 'digest' | 'records' | 'whiteouts' | 'opaqueDirs'>>,
    private readonly maxSymlinkHops = 40,
  ) {
    layers.forEach((layer, layerIndex) => this.apply(layer, layerIndex));
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
    if (!this.state.has(path)) {
      for (let dir = parentOf(path); ; dir = parentOf(dir)) {
        this.below.set(dir, (this.below.get(dir) ?? 0) + 1);
        if (dir === '') break;
      }
    }
    this.state.set(path, visible);
  }

  private delete(path: string): void {
    if (!this.state.delete(path)) return;
    for (let dir = parentOf(path); ; dir = parentOf(dir)) {
      const left = (this.below.get(dir) ?? 1) - 1;
      if (left === 0) this.below.delete(dir);
      else this.below.set(dir, left);
      if (dir === '') break;
    }
  }

  private removeBelow(path: string, includeSelf: boolean): void {
    if (includeSelf) this.delete(path);
    if ((this.below.get(path) ?? 0) === 0) return;
    for (const key of [...this.state.keys()]) {
      if (key !== path && isAtOrBelow(key, path)) this.delete(key);
    }
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
  resolve(path: string): string | { reason: 'symlink-loop' } {
    let hops = 0;
    const pending = path.split('/').reverse();
    const done: string[] = [];
    while (pending.length > 0) {
      const part = pending.pop() as string;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        done.pop();
        continue;
      }
      done.push(part);
      const record = this.state.get(done.join('/'))?.record;
      if (record?.kind === 'symlink' || record?.kind === 'hardlink') {
        if (++hops > this.maxSymlinkHops) return { reason: 'symlink-loop' };
        done.pop();
        // Hardlink names are archive paths (root-relative); symlinks are relative to their directory.
        if (record.kind === 'hardlink' || record.target.startsWith('/')) done.length = 0;
        pending.push(...record.target.split('/').reverse());
      }
    }
    return done.join('/');
  }
}
