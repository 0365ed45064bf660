// Image analysis end to end: walk each layer (or take its cached result), merge
// the layers into the image's view, run the OS detection and package analyzers'
// results through it, and add the configuration facts. Failures come back as an
// ImageAnalysisError value naming the layer and limit, never as an exception.
// Besides each layer's limits, the image as a whole has a layer count, a
// decompression budget, an entries budget and a budget for kept names and link targets: a tenant
// cannot spread the cost of one hostile image over many layers that each pass.
import { DEFAULT_ANALYZERS, analyzeFile, analyzerSetVersion, selectorFor } from './analyzers/index.js';
import type { Analyzer, FileAnalysis, OsReleaseFragment } from './analyzers/index.js';
import { detectOs } from './analyzers/os-release.js';
import type { InventoryCache, LayerAnalysis } from './cache.js';
import { imageConfigFacts } from './image-config.js';
import type { ImageConfigJson } from './image-config.js';
import { layerMetadataBytes, walkLayer } from './layer-walker.js';
import type { ImageBudgetLeft, LayerWalk } from './layer-walker.js';
import { purlFor } from './purl.js';
import { DEFAULT_WALK_LIMITS, isImageAnalysisError } from './types.js';
import type {
  ImageAnalysisError,
  ImageInventory,
  InventoryPackage,
  LayerSource,
  LimitName,
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

  const tooMany = layerCountError(input.layers, limits);
  if (tooMany !== undefined) return tooMany;
  const selector = selectorFor(analyzers);
  const walks: LayerAnalysis[] = [];
  const budget = new ImageBudget(limits);
  for (const [index, layer] of input.layers.entries()) {
    let walk = await cache?.getLayer(layer.digest, analyzerVersion);
    if (walk === undefined) {
      const result = await walkLayer<FileAnalysis>(
        layer,
        index,
        selector,
        (file) => analyzeFile(analyzers, file),
        limits,
        budget.left(),
      );
      if (isImageAnalysisError(result)) return result;
      walk = result;
      await cache?.setLayer(layer.digest, analyzerVersion, walk).catch(cacheNote);
    }
    // A cached layer was walked for another image: it still counts against this one.
    const over = budget.spend(walk, index);
    if (over !== undefined) return over;
    walks.push(walk);
  }

  const vfs = new VirtualFilesystem<FileAnalysis>(walks, limits.maxSymlinkHops);
  const visible = vfs.files();
  const fragments: Array<{ path: string; fragment: OsReleaseFragment }> = [];
  /** The image's error for one visible file, naming its layer and path. */
  const fileError = (
    file: (typeof visible)[number],
    reason: 'LimitExceeded' | 'UnreadablePackageDatabase',
    message: string,
  ): ImageAnalysisError => ({
    kind: 'ImageAnalysisError',
    reason,
    message: `layer ${file.layerIndex} (${file.layerDigest}): ${message}`,
    layer: { index: file.layerIndex, digest: file.layerDigest },
    path: file.path,
  });
  for (const file of visible) {
    const over = file.value.limit;
    if (over !== undefined) {
      return {
        ...fileError(file, 'LimitExceeded', over.message),
        limit: { name: over.name, value: over.value },
      };
    }
    const unreadable = file.value.unreadable;
    if (unreadable !== undefined) {
      return fileError(
        file,
        'UnreadablePackageDatabase',
        `${unreadable.message}; the package inventory is unknown, so the image is not analysed`,
      );
    }
    if (file.value.os !== undefined) fragments.push({ path: file.path, fragment: file.value.os });
    // A loop, not push(...errors): a spread of a long array overflows the stack.
    for (const error of file.value.errors ?? []) warnings.push(error);
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
  const tooMany = layerCountError(layers, full);
  if (tooMany !== undefined) return tooMany;
  const walks = [];
  const budget = new ImageBudget(full);
  for (const [index, layer] of layers.entries()) {
    const walk = await walkLayer<Buffer>(
      layer,
      index,
      { select: (path) => (wants(path) ? {} : undefined) },
      (file) => file.content,
      full,
      budget.left(),
    );
    if (isImageAnalysisError(walk)) return walk;
    const over = budget.spend(walk, index);
    if (over !== undefined) return over;
    walks.push(walk);
  }
  return new VirtualFilesystem(walks, full.maxSymlinkHops);
}

function layerCountError(
  layers: readonly LayerSource[],
  limits: Pick<WalkLimits, 'maxLayers'>,
): ImageAnalysisError | undefined {
  if (layers.length <= limits.maxLayers) return undefined;
  return {
    kind: 'ImageAnalysisError',
    reason: 'LimitExceeded',
    message: `image has ${layers.length} layers, over the limit of ${limits.maxLayers} (maxLayers); no layer was read`,
    limit: { name: 'layers', value: limits.maxLayers },
  };
}

/** The image-wide decompression and metadata budgets, spent layer by layer. */
class ImageBudget {
  private bytes = 0;
  private metadataBytes = 0;
  private entries = 0;

  constructor(private readonly limits: WalkLimits) {}

  left(): ImageBudgetLeft {
    return {
      bytes: this.limits.maxImageBytes - this.bytes,
      metadataBytes: this.limits.maxImageMetadataBytes - this.metadataBytes,
      entries: this.limits.maxImageEntries - this.entries,
    };
  }

  spend(
    walk: Pick<
      LayerWalk<unknown>,
      'digest' | 'uncompressedBytes' | 'entries' | 'records' | 'whiteouts' | 'opaqueDirs'
    >,
    index: number,
  ): ImageAnalysisError | undefined {
    this.bytes += walk.uncompressedBytes;
    this.entries += walk.entries;
    this.metadataBytes += layerMetadataBytes(walk);
    const layer = { index, digest: walk.digest };
    const over = (name: LimitName, value: number, what: string): ImageAnalysisError => ({
      kind: 'ImageAnalysisError',
      reason: 'LimitExceeded',
      message: `layer ${index} (${walk.digest}): the image's layers ${what}, over the limit of ${value} (${name})`,
      layer,
      limit: { name, value },
    });
    if (this.bytes > this.limits.maxImageBytes) {
      return over('imageBytes', this.limits.maxImageBytes, `inflate to ${this.bytes} bytes`);
    }
    if (this.entries > this.limits.maxImageEntries) {
      return over('imageEntries', this.limits.maxImageEntries, `hold ${this.entries} entries`);
    }
    if (this.metadataBytes > this.limits.maxImageMetadataBytes) {
      return over(
        'imageMetadataBytes',
        this.limits.maxImageMetadataBytes,
        `keep ${this.metadataBytes} bytes of names and link targets`,
      );
    }
    return undefined;
  }
}
