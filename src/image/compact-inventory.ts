// The part of an image inventory that vulnerability matching reads, in a compact
// form that crosses from an analysis worker to the operator: per package its
// ecosystem, name, version, source package name and version (Debian source, Alpine
// origin) and purl, plus the OS id and release. The full inventory (files, layers,
// licenses) stays in the worker's inventory cache. Bounded by package count and
// bytes so a hostile image's forged package database never fills the operator's
// heap: an inventory over the bound crosses as "too large" and its report says so.
import type { Ecosystem, ImageInventory, InventoryPackage, OsInfo } from '../sbom/types.js';

/** [ecosystem, name, version, sourceName, sourceVersion, purl]; '' when a source field is absent. */
export type CompactPackage = readonly [Ecosystem, string, string, string, string, string];

export interface CompactInventory {
  readonly os?: Pick<OsInfo, 'id' | 'versionId'>;
  readonly packages: readonly CompactPackage[];
  /** Estimated heap bytes (strings as UTF-16 plus per-row overhead): the cache's size. */
  readonly bytes: number;
}

/** What crosses instead when the inventory is bigger than the bound. */
export interface CompactInventoryTooLarge {
  readonly tooLarge: true;
  readonly packages: number;
  readonly message: string;
}

export const MAX_COMPACT_PACKAGES = 100_000;
export const MAX_COMPACT_BYTES = 32 * 1024 * 1024;
/** Array of six slots, object header, and the row's entry in the packages array. */
const ROW_OVERHEAD_BYTES = 96;

export function isCompactInventoryTooLarge(
  value: CompactInventory | CompactInventoryTooLarge | undefined,
): value is CompactInventoryTooLarge {
  return value !== undefined && 'tooLarge' in value;
}

/** The matching input of an inventory, duplicates dropped; `tooLarge` over the bounds. Pure. */
export function compactInventoryOf(
  inventory: ImageInventory,
  limits: { maxPackages?: number; maxBytes?: number } = {},
): CompactInventory | CompactInventoryTooLarge {
  const maxPackages = limits.maxPackages ?? MAX_COMPACT_PACKAGES;
  const maxBytes = limits.maxBytes ?? MAX_COMPACT_BYTES;
  const seen = new Set<string>();
  const packages: CompactPackage[] = [];
  let bytes = 0;
  for (const p of inventory.packages) {
    const row: CompactPackage = [
      p.ecosystem,
      p.name,
      p.version,
      p.sourceName ?? '',
      p.sourceVersion ?? '',
      p.purl,
    ];
    const key = row.join('\u0000');
    if (seen.has(key)) continue;
    seen.add(key);
    bytes += ROW_OVERHEAD_BYTES + 2 * (key.length - 5);
    packages.push(row);
    if (packages.length > maxPackages || bytes > maxBytes) {
      return {
        tooLarge: true,
        packages: inventory.packages.length,
        message:
          `the image lists ${inventory.packages.length} packages, more than vulnerability matching takes ` +
          `(${maxPackages} packages, ${Math.round(maxBytes / 1024 / 1024)} MiB)`,
      };
    }
  }
  const os = inventory.os === undefined ? undefined : osOf(inventory.os);
  return { ...(os === undefined ? {} : { os }), packages, bytes: bytes + 256 };
}

function osOf(os: OsInfo): Pick<OsInfo, 'id' | 'versionId'> {
  return os.versionId === undefined ? { id: os.id } : { id: os.id, versionId: os.versionId };
}

/**
 * An ImageInventory holding `rows` of a compact inventory, for matchInventory: only
 * the fields the matcher reads are real (the rest are empty). Pure.
 */
export function inventoryForMatching(
  compact: CompactInventory,
  rows: readonly CompactPackage[],
): ImageInventory {
  return {
    kind: 'ImageInventory',
    ...(compact.os === undefined ? {} : { os: { ...compact.os, source: '' } }),
    packages: rows.map(packageOf),
    facts: {
      user: '',
      runsAsRoot: false,
      exposedPorts: [],
      secretEnvKeys: [],
      layerCount: 0,
      compressedBytes: 0,
      uncompressedBytes: 0,
      baseImage: { hints: [] },
    },
    layers: [],
    analyzerVersion: '',
    warnings: [],
  };
}

function packageOf(row: CompactPackage): InventoryPackage {
  const [ecosystem, name, version, sourceName, sourceVersion, purl] = row;
  return {
    ecosystem,
    name,
    version,
    ...(sourceName === '' ? {} : { sourceName }),
    ...(sourceVersion === '' ? {} : { sourceVersion }),
    purl,
    location: '',
    layerDigest: '',
  };
}
