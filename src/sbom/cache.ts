// Cache of analysis results: whole inventories by image digest, and per-layer
// results by layer digest so a base layer shared by many images is walked once.
// Keys include the analyzer set version, so an analyzer upgrade never reads stale
// results. Memory is an LRU bounded by entries and bytes; the optional disk tier
// writes JSON files atomically (temp file + rename) and survives restarts.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { FileAnalysis } from './analyzers/index.js';
import type { LayerWalk } from './layer-walker.js';
import type { ImageInventory } from './types.js';

export type LayerAnalysis = LayerWalk<FileAnalysis>;

export interface InventoryCache {
  getImage(imageDigest: string, analyzerVersion: string): Promise<ImageInventory | undefined>;
  setImage(imageDigest: string, analyzerVersion: string, inventory: ImageInventory): Promise<void>;
  getLayer(layerDigest: string, analyzerVersion: string): Promise<LayerAnalysis | undefined>;
  setLayer(layerDigest: string, analyzerVersion: string, layer: LayerAnalysis): Promise<void>;
}

export interface InventoryCacheOptions {
  /** Directory for the disk tier; no disk tier when absent. */
  directory?: string;
  maxMemoryEntries?: number;
  maxMemoryBytes?: number;
}

/** LRU on a Map (insertion order = recency), sized by the JSON length of each value. */
export class ByteBoundedLru<V> {
  private readonly map = new Map<string, { value: V; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get(key: string): V | undefined {
    const hit = this.map.get(key);
    if (hit === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, hit);
    return hit.value;
  }

  set(key: string, value: V, bytes: number): void {
    this.delete(key);
    // Something larger than the whole budget would only evict everything else.
    if (bytes > this.maxBytes) return;
    this.map.set(key, { value, bytes });
    this.bytes += bytes;
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.map.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const old = this.map.get(key);
    if (old === undefined) return;
    this.map.delete(key);
    this.bytes -= old.bytes;
  }

  get size(): number {
    return this.map.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }
}

export class TieredInventoryCache implements InventoryCache {
  private readonly memory: ByteBoundedLru<string>;

  constructor(private readonly options: InventoryCacheOptions = {}) {
    this.memory = new ByteBoundedLru(
      options.maxMemoryEntries ?? 1000,
      options.maxMemoryBytes ?? 256 * 1024 * 1024,
    );
  }

  getImage(imageDigest: string, analyzerVersion: string): Promise<ImageInventory | undefined> {
    return this.get<ImageInventory>('image', imageDigest, analyzerVersion);
  }

  setImage(imageDigest: string, analyzerVersion: string, inventory: ImageInventory): Promise<void> {
    return this.set('image', imageDigest, analyzerVersion, inventory);
  }

  getLayer(layerDigest: string, analyzerVersion: string): Promise<LayerAnalysis | undefined> {
    return this.get<LayerAnalysis>('layer', layerDigest, analyzerVersion);
  }

  setLayer(layerDigest: string, analyzerVersion: string, layer: LayerAnalysis): Promise<void> {
    return this.set('layer', layerDigest, analyzerVersion, layer);
  }

  private key(kind: string, digest: string, analyzerVersion: string): string {
    // Hashed so a hostile digest string can never become a path.
    return createHash('sha256').update(`${kind}\n${digest}\n${analyzerVersion}`).digest('hex');
  }

  private async get<T>(
    kind: 'image' | 'layer',
    digest: string,
    analyzerVersion: string,
  ): Promise<T | undefined> {
    const key = this.key(kind, digest, analyzerVersion);
    let json = this.memory.get(key);
    if (json === undefined && this.options.directory !== undefined) {
      try {
        json = await readFile(join(this.options.directory, kind, `${key}.json`), 'utf8');
        this.memory.set(key, json, json.length);
      } catch {
        return undefined;
      }
    }
    if (json === undefined) return undefined;
    try {
      // Parsed per read: callers get their own copy and cannot corrupt the cache.
      return JSON.parse(json) as T;
    } catch {
      this.memory.delete(key);
      return undefined;
    }
  }

  private async set(
    kind: 'image' | 'layer',
    digest: string,
    analyzerVersion: string,
    value: unknown,
  ): Promise<void> {
    const key = this.key(kind, digest, analyzerVersion);
    const json = JSON.stringify(value);
    this.memory.set(key, json, json.length);
    if (this.options.directory === undefined) return;
    const dir = join(this.options.directory, kind);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.${key}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await writeFile(tmp, json, { mode: 0o600 });
      await rename(tmp, join(dir, `${key}.json`));
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }
}
