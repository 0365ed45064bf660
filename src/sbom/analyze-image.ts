// Image analysis end to end: walk each layer (or take its cached result), merge
// the layers into the image's view, run the OS detection and package analyzers'
// results through it, and add the configuration facts. Failures come back as an
// ImageAnalysisError value naming the layer and limit, never as an exception.
import { DEFAULT_ANALYZERS, analyzeFile, analyzerSetVersion, selectorFor } from './analyzers/index.js';
import type { Analyzer, FileAnalysis, OsReleaseFragment } from './analyzers/index.js';
import { detectOs } from './analyzers/os-release.js';
import type { InventoryCache, LayerAnalysis } from './cache.js';
import { imageConfigFacts } from './image-config.js';
import type { ImageConfigJson } from './image-config.js';
import { walkLayer } from './layer-walker.js';
import { purlFor } from './purl.js';
import { DEFAULT_WALK_LIMITS, isImageAnalysisError } from './types.js';
import type {
  ImageAnalysisError,
  ImageInventory,
  InventoryPackage,
  LayerSource,
  WalkLimits,
} from './types.js';
import { VirtualFilesystem } from './virtual-fs.js';

export interface AnalyzeImageInput {
  /** Layers bottom (base) first, as in the manifest. */
  layers: readonly LayerSource[];
  config: ImageConfigJson;
  limits?: Partial<WalkLimits>;
  cache?: InventoryCache;
  /** Manifest digest; enables the whole-inventory cache. */
  imageDigest?: string;
  analyzers?: readonly Analyzer[];
}

export async function analyzeImage(input: AnalyzeImageInput): Promise<ImageInventory | ImageAnalysisError> {
  const analyzers = input.analyzers ?? DEFAULT_ANALYZERS;
  const limits: WalkLimits = { ...DEFAULT_WALK_LIMITS, ...input.limits };
  const analyzerVersion = analyzerSetVersion(analyzers);
  const warnings: string[] = [];
  const cache = input.cache;
  const cacheNote = (err: unknown): void => {
    warnings.push(`cache write failed: ${err instanceof Error ? err.message : String(err)}`);
  };

  if (cache !== undefined && input.imageDigest !== undefined) {
    const hit = await cache.getImage(input.imageDigest, analyzerVersion);
    if (hit !== undefined) return hit;
  }

  const selector = selectorFor(analyzers);
  const walks: LayerAnalysis[] = [];
  for (const [index, layer] of input.layers.entries()) {
    let walk = await cache?.getLayer(layer.digest, analyzerVersion);
    if (walk === undefined) {
      const result = await walkLayer<FileAnalysis>(
        layer,
        index,
        selector,
        (file) => analyzeFile(analyzers, file),
        limits,
      );
      if (isImageAnalysisError(result)) return result;
      walk = result;
      await cache?.setLayer(layer.digest, analyzerVersion, walk).catch(cacheNote);
    }
    walks.push(walk);
  }

  const vfs = new VirtualFilesystem<FileAnalysis>(walks, limits.maxSymlinkHops);
  const visible = vfs.files();
  const fragments: Array<{ path: string; fragment: OsReleaseFragment }> = [];
  for (const file of visible) {
    if (file.value.os !== undefined) fragments.push({ path: file.path, fragment: file.value.os });
    warnings.push(...(file.value.errors ?? []));
  }
  const os = detectOs(fragments);
  const packages: InventoryPackage[] = [];
  for (const file of visible) {
    for (const pkg of file.value.packages) {
      packages.push({ ...pkg, purl: purlFor(pkg, os), layerDigest: file.layerDigest });
    }
  }

  const inventory: ImageInventory = {
    kind: 'ImageInventory',
    packages,
    facts: imageConfigFacts(input.config, {
      layerCount: input.layers.length,
      compressedBytes: input.layers.reduce((sum, l) => sum + l.size, 0),
      uncompressedBytes: walks.reduce((sum, w) => sum + w.uncompressedBytes, 0),
    }),
    layers: walks.map((w) => ({
      digest: w.digest,
      uncompressedBytes: w.uncompressedBytes,
      entries: w.entries,
    })),
    analyzerVersion,
    warnings,
  };
  if (os !== undefined) inventory.os = os;
  if (cache !== undefined && input.imageDigest !== undefined) {
    await cache.setImage(input.imageDigest, analyzerVersion, inventory).catch(cacheNote);
  }
  return inventory;
}

/**
 * The image's view of the files a selector asks for, with their content: for each
 * wanted path, the topmost layer's file after whiteouts. For tools and tests; the
 * analysis itself keeps analyses, not content.
 */
export async function buildVirtualFilesystem(
  layers: readonly LayerSource[],
  wants: (path: string) => boolean,
  limits: Partial<WalkLimits> = {},
): Promise<VirtualFilesystem<Buffer> | ImageAnalysisError> {
  const full: WalkLimits = { ...DEFAULT_WALK_LIMITS, ...limits };
  const walks = [];
  for (const [index, layer] of layers.entries()) {
    const walk = await walkLayer<Buffer>(
      layer,
      index,
      { select: (path) => (wants(path) ? {} : undefined) },
      (file) => file.content,
      full,
    );
    if (isImageAnalysisError(walk)) return walk;
    walks.push(walk);
  }
  return new VirtualFilesystem(walks, full.maxSymlinkHops);
}
