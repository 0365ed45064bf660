// Shared vocabulary of the image inventory: packages, OS facts, limits, and the
// error values that image analysis returns instead of throwing.
import type { Readable } from 'node:stream';

import { PATH_MAX_BYTES } from './paths.js';

/** Package ecosystems, named as their package-url types. */
export type Ecosystem = 'deb' | 'apk' | 'rpm' | 'npm' | 'pypi' | 'golang' | 'maven';

/** What an analyzer found in one file, before the image-wide facts (the distro) are known. */
export interface DetectedPackage {
  name: string;
  version: string;
  ecosystem: Ecosystem;
  /** CPU architecture as the package database spells it (amd64, x86_64, noarch, ...). */
  arch?: string;
  /** RPM epoch, kept apart from the version as the rpm purl expects. */
  epoch?: number;
  /** Source package (deb Source:, apk origin, rpm SOURCERPM name). */
  sourceName?: string;
  sourceVersion?: string;
  license?: string;
  /** Absolute path, inside the image, of the file the package was read from. */
  location: string;
}

/** A package of the final inventory: what was detected, its purl, and the layer that holds its file. */
export interface InventoryPackage extends DetectedPackage {
  purl: string;
  layerDigest: string;
}

/** Operating system of the image, from os-release or the distro's version files. */
export interface OsInfo {
  /** os-release ID (debian, ubuntu, alpine, rhel, ...). */
  id: string;
  versionId?: string;
  versionCodename?: string;
  prettyName?: string;
  /** Absolute path of the file the facts came from. */
  source: string;
}

/** Facts read from the image configuration JSON, plus sizes measured while walking. */
export interface ImageConfigFacts {
  user: string;
  runsAsRoot: boolean;
  healthcheck?: { test: string[] };
  exposedPorts: string[];
  /** Keys of env entries whose key or value looks like a secret. Values are never kept. */
  secretEnvKeys: string[];
  layerCount: number;
  compressedBytes: number;
  uncompressedBytes: number;
  created?: string;
  architecture?: string;
  os?: string;
  baseImage: { name?: string; digest?: string; hints: string[] };
}

export interface LayerSummary {
  digest: string;
  uncompressedBytes: number;
  entries: number;
}

export interface ImageInventory {
  kind: 'ImageInventory';
  os?: OsInfo;
  packages: InventoryPackage[];
  facts: ImageConfigFacts;
  layers: LayerSummary[];
  /** Identifies the analyzer set; inventories from another analyzer version are not comparable. */
  analyzerVersion: string;
  /** Files an analyzer could not read (corrupt database, ...): the inventory is partial for them. */
  warnings: string[];
}

export type LimitName =
  | 'fileBytes'
  | 'entriesPerLayer'
  | 'layerBytes'
  | 'headerBytes'
  | 'pathBytes'
  | 'layerMetadataBytes'
  | 'imageMetadataBytes'
  | 'imageBytes'
  | 'imageEntries'
  | 'packagesPerFile'
  | 'layers';

export interface WalkLimits {
  /** Largest file whose content an analyzer may read. */
  maxFileBytes: number;
  /** Most tar entries in one layer. */
  maxEntriesPerLayer: number;
  /** Most uncompressed bytes in one layer. */
  maxLayerBytes: number;
  /** Largest PAX / GNU long-name header body. */
  maxHeaderBytes: number;
  /** Most symlinks followed while resolving one path. */
  maxSymlinkHops: number;
  /** Longest entry name or link target, in bytes (PATH_MAX). */
  maxPathBytes: number;
  /**
   * Most bytes of names and link targets one layer's walk keeps (symlinks, hardlinks,
   * whiteouts, opaque directories, captured files): a layer of 500,000 symlinks with
   * 4 KiB targets would otherwise hold 2 GiB.
   */
  maxLayerMetadataBytes: number;
  /** The same, summed over every layer of an image (cached layers included). */
  maxImageMetadataBytes: number;
  /** Most uncompressed tar bytes over all layers of an image: the decompression budget. */
  maxImageBytes: number;
  /**
   * Most tar entries over all layers of an image: without it 128 layers of 500,000
   * empty files each (a few MB compressed) make one image walk 64 million entries.
   */
  maxImageEntries: number;
  /** Most layers in one image. overlayfs mounts at most 128 lower layers, so no runnable image has more. */
  maxLayers: number;
}

export const DEFAULT_WALK_LIMITS: Readonly<WalkLimits> = Object.freeze({
  maxFileBytes: 64 * 1024 * 1024,
  maxEntriesPerLayer: 500_000,
  maxLayerBytes: 8 * 1024 * 1024 * 1024,
  maxHeaderBytes: 1024 * 1024,
  maxSymlinkHops: 40,
  maxPathBytes: PATH_MAX_BYTES,
  maxLayerMetadataBytes: 32 * 1024 * 1024,
  maxImageMetadataBytes: 128 * 1024 * 1024,
  maxImageBytes: 32 * 1024 * 1024 * 1024,
  maxImageEntries: 2_000_000,
  maxLayers: 128,
});

export type ImageAnalysisErrorReason =
  | 'LimitExceeded'
  | 'CorruptLayer'
  | 'UnsupportedMediaType'
  | 'LayerUnavailable'
  /** An OS package database is in the image but was refused or could not be read. */
  | 'UnreadablePackageDatabase';

/** Why an image could not be analysed, with the layer (and limit) to act on. Returned, never thrown. */
export interface ImageAnalysisError {
  kind: 'ImageAnalysisError';
  reason: ImageAnalysisErrorReason;
  message: string;
  layer?: { index: number; digest: string };
  limit?: { name: LimitName; value: number };
  path?: string;
}

export function isImageAnalysisError(value: unknown): value is ImageAnalysisError {
  return (
    typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'ImageAnalysisError'
  );
}

/** One layer blob as the registry client hands it over. */
export interface LayerSource {
  digest: string;
  mediaType: string;
  /** Compressed size from the manifest. */
  size: number;
  open(): Promise<Readable>;
}
