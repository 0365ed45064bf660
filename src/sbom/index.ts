// Public surface of the image inventory (SBOM) module.
export { analyzeImage, buildVirtualFilesystem } from './analyze-image.js';
export type { AnalyzeImageInput } from './analyze-image.js';
export { DEFAULT_ANALYZERS, analyzerSetVersion } from './analyzers/index.js';
export type { Analyzer, FileAnalysis } from './analyzers/index.js';
export { TieredInventoryCache } from './cache.js';
export type { InventoryCache, InventoryCacheOptions, LayerAnalysis } from './cache.js';
export { toCycloneDx } from './format/cyclonedx.js';
export type { CycloneDxBom, CycloneDxOptions } from './format/cyclonedx.js';
export { toJson } from './format/json.js';
export { toTable } from './format/table.js';
export { imageConfigFacts, isRootUser, secretEnvKeys } from './image-config.js';
export type { ImageConfigJson } from './image-config.js';
export { purlFor } from './purl.js';
export { DEFAULT_WALK_LIMITS, isImageAnalysisError } from './types.js';
export type {
  DetectedPackage,
  Ecosystem,
  ImageAnalysisError,
  ImageConfigFacts,
  ImageInventory,
  InventoryPackage,
  LayerSource,
  LayerSummary,
  LimitName,
  OsInfo,
  WalkLimits,
} from './types.js';
export { VirtualFilesystem } from './virtual-fs.js';
