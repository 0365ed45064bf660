// The part of an image inventory that vulnerability matching reads, in a compact
// form that crosses from an analysis worker to the operator: per package its
// ecosystem, name, version, source package name and version (Debian source, Alpine
// origin) and purl, plus the OS id and release. The full inventory (files, layers,
// licenses) stays in the worker's inventory cache. Bounded by package count and
// bytes so a hostile image's forged package database never fills the operator's
// heap: an inventory over the bound crosses as "too large" and its report says so.
// The rows are kept as one UTF-8 JSON buffer per image, decoded for each match: as
// arrays of strings a thousand images of 300 packages held ~50 MiB of small objects
// in the V8 heap (bench/vuln-rematch-operator); as buffers they are ~20 MiB outside
// it, and cross from the worker as one copy.
import type { Ecosystem, ImageInventory, InventoryPackage, OsInfo } from '../sbom/types.js';

/** [ecosystem, name, version, sourceName, sourceVersion, purl]; '' when a source field is absent. */
export type CompactPackage = readonly [Ecosystem, string, string, string, string, string];

export interface CompactInventory {
  readonly os?: Pick<OsInfo, 'id' | 'versionId'>;
  /** The CompactPackage rows as UTF-8 JSON (compactRows decodes them). */
  readonly rows: Uint8Array;
  /** How many rows. */
  readonly count: number;
  /** Bytes held: the cache's size. */
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
/** The object and the buffer's header. */
const INVENTORY_OVERHEAD_BYTES = 256;

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
  const tooLarge = (): CompactInventoryTooLarge => ({
    tooLarge: true,
    packages: inventory.packages.length,
    message:
      `the image lists ${inventory.packages.length} packages, more than vulnerability matching takes ` +
      `(${maxPackages} packages, ${Math.round(maxBytes / 1024 / 1024)} MiB)`,
  });
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
    // UTF-16 length: at least the UTF-8 bytes of ASCII, and bounds the JSON's before it is built.
    bytes += key.length + 16;
    packages.push(row);
    if (packages.length > maxPackages || bytes > maxBytes) return tooLarge();
  }
  // Its own buffer: a small Buffer.from() is a view of a shared 8 KiB slab, which keeping it would pin.
  const rows = new TextEncoder().encode(JSON.stringify(packages));
  if (rows.byteLength > maxBytes) return tooLarge();
  const os = inventory.os === undefined ? undefined : osOf(inventory.os);
  return {
    ...(os === undefined ? {} : { os }),
    rows,
    count: packages.length,
    bytes: rows.byteLength + INVENTORY_OVERHEAD_BYTES,
  };
}

/** The rows of a compact inventory, decoded (for one match; not kept). */
export function compactRows(compact: CompactInventory): CompactPackage[] {
  return JSON.parse(new TextDecoder().decode(compact.rows)) as CompactPackage[];
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
