// Walks one layer blob without extracting it: decompresses, parses the tar as it
// streams, records whiteouts, opaque directories and links, and hands the content
// of the files a selector asks for to a sink. What the sink returns (content, or an
// analysis of it) is what the layer keeps, so memory holds one wanted file at a time.
// Everything else the layer keeps (names, link targets, whiteouts) is counted against
// a byte budget, names are capped at PATH_MAX, and reading stops at the tar's
// end-of-archive marker: what a blob inflates to after it is never decompressed.
import type { Readable } from 'node:stream';

import { isLayerMediaType, tarChunks } from './decompress.js';
import { classifyWhiteout, normalizeImagePath } from './paths.js';
import { TarFormatError, TarLimitError, TarParser } from './tar-parser.js';
import type { TarContentReader, TarEntry } from './tar-parser.js';
import type { ImageAnalysisError, LimitName, WalkLimits } from './types.js';
import { errorText } from '../runtime/text.js';

export interface EntryInfo {
  size: number;
  mode: number;
}

export interface ContentRequest {
  /** The content must start with these bytes, else the file is dropped after the sniff. */
  magic?: Uint8Array;
}

/** Decides from the header alone whether a regular file's content is needed. */
export interface FileSelector {
  select(path: string, info: EntryInfo): ContentRequest | undefined;
}

export interface CapturedFile {
  /** Root-relative path without a leading slash. */
  path: string;
  size: number;
  mode: number;
  content: Buffer;
}

/** Turns a captured file into what the layer keeps; undefined keeps nothing. */
export type FileSink<R> = (file: CapturedFile) => R | undefined;

export type LayerRecord<R> =
  | { path: string; kind: 'file'; size: number; mode: number; value: R }
  | { path: string; kind: 'symlink'; target: string }
  | { path: string; kind: 'hardlink'; target: string }
  /** A file whose content is not kept (sparse, or not what the sniff wanted): it still hides lower layers. */
  | { path: string; kind: 'unreadable'; reason: string };

/**
 * What one layer contributes, independent of the layers below it, so it can be
 * cached by layer digest and merged later: its wanted files, every link, and its
 * deletions (whiteouts and opaque directories apply to lower layers only).
 */
export interface LayerWalk<R> {
  digest: string;
  uncompressedBytes: number;
  entries: number;
  records: LayerRecord<R>[];
  whiteouts: string[];
  opaqueDirs: string[];
}

/** What is left of the image-wide budgets when this layer is walked (see analyzeImage). */
export interface ImageBudgetLeft {
  /** Uncompressed bytes the image's decompression budget (maxImageBytes) still allows. */
  bytes: number;
  /** Bytes of names and link targets the image's metadata budget (maxImageMetadataBytes) still allows. */
  metadataBytes: number;
  /** Tar entries the image's entries budget (maxImageEntries) still allows. */
  entries: number;
}

export interface LayerToWalk {
  digest: string;
  mediaType: string;
  open(): Promise<Readable>;
}

export async function walkLayer<R>(
  layer: LayerToWalk,
  index: number,
  selector: FileSelector,
  sink: FileSink<R>,
  limits: WalkLimits,
  imageLeft?: ImageBudgetLeft,
): Promise<LayerWalk<R> | ImageAnalysisError> {
  const where = { index, digest: layer.digest };
  const layerName = `layer ${index} (${layer.digest})`;
  if (!isLayerMediaType(layer.mediaType)) {
    return {
      kind: 'ImageAnalysisError',
      reason: 'UnsupportedMediaType',
      message: `layer ${index} (${layer.digest}) has media type ${layer.mediaType}, not a filesystem layer`,
      layer: where,
    };
  }
  let stream: Readable;
  try {
    stream = await layer.open();
  } catch (err) {
    return {
      kind: 'ImageAnalysisError',
      reason: 'LayerUnavailable',
      message: `layer ${index} (${layer.digest}) could not be opened: ${errorText(err)}`,
      layer: where,
    };
  }

  // The layer's own limits, or less when the image-wide budgets have less left.
  const imageBytesBind = imageLeft !== undefined && imageLeft.bytes < limits.maxLayerBytes;
  const imageEntriesBind = imageLeft !== undefined && imageLeft.entries < limits.maxEntriesPerLayer;
  const metadataCap: MetadataCap =
    imageLeft !== undefined && imageLeft.metadataBytes < limits.maxLayerMetadataBytes
      ? { name: 'imageMetadataBytes', value: limits.maxImageMetadataBytes, left: imageLeft.metadataBytes }
      : {
          name: 'layerMetadataBytes',
          value: limits.maxLayerMetadataBytes,
          left: limits.maxLayerMetadataBytes,
        };
  const collector = new LayerCollector(selector, sink, limits, metadataCap);
  const parser = new TarParser(collector, {
    maxEntries: imageEntriesBind ? Math.max(0, imageLeft.entries) : limits.maxEntriesPerLayer,
    maxBytes: imageBytesBind ? Math.max(0, imageLeft.bytes) : limits.maxLayerBytes,
    maxHeaderBytes: limits.maxHeaderBytes,
  });
  try {
    for await (const chunk of tarChunks(stream, layer.mediaType)) {
      parser.write(chunk);
      // Past the two zero blocks nothing belongs to the archive: stop inflating.
      if (collector.failure !== undefined || parser.finished) break;
    }
    if (collector.failure === undefined) parser.end();
  } catch (err) {
    stream.destroy();
    if (err instanceof TarLimitError) {
      if (err.limit === 'bytes' && imageBytesBind) {
        return limitError(
          where,
          'imageBytes',
          limits.maxImageBytes,
          `${layerName}: the image's layers inflate to more than ${limits.maxImageBytes} bytes (maxImageBytes): ${err.message}`,
        );
      }
      if (err.limit === 'entries' && imageEntriesBind) {
        return limitError(
          where,
          'imageEntries',
          limits.maxImageEntries,
          `${layerName}: the image's layers hold more than ${limits.maxImageEntries} entries (maxImageEntries): ${err.message}`,
        );
      }
      const name: LimitName =
        err.limit === 'entries' ? 'entriesPerLayer' : err.limit === 'bytes' ? 'layerBytes' : 'headerBytes';
      return limitError(where, name, err.value, `${layerName}: ${err.message}`);
    }
    const what = err instanceof TarFormatError ? 'is not a valid tar' : 'could not be read';
    return {
      kind: 'ImageAnalysisError',
      reason: 'CorruptLayer',
      message: `layer ${index} (${layer.digest}) ${what}: ${errorText(err)}`,
      layer: where,
    };
  }
  if (collector.failure !== undefined) {
    const { name, value, message, path } = collector.failure;
    return { ...limitError(where, name, value, `${layerName}: ${message}`), path: `/${path}` };
  }
  return {
    digest: layer.digest,
    uncompressedBytes: parser.bytes,
    entries: parser.entries,
    records: [...collector.records.values()],
    whiteouts: collector.whiteouts,
    opaqueDirs: collector.opaqueDirs,
  };
}

function limitError(
  layer: { index: number; digest: string },
  name: LimitName,
  value: number,
  message: string,
): ImageAnalysisError {
  return { kind: 'ImageAnalysisError', reason: 'LimitExceeded', message, layer, limit: { name, value } };
}

/**
 * Bytes of names and link targets a walk keeps: what limits maxLayerMetadataBytes and
 * maxImageMetadataBytes count. Computed from the records, so cached walks are counted too.
 */
export function layerMetadataBytes(
  walk: Pick<LayerWalk<unknown>, 'records' | 'whiteouts' | 'opaqueDirs'>,
): number {
  let bytes = 0;
  for (const record of walk.records) bytes += recordBytes(record);
  for (const path of walk.whiteouts) bytes += Buffer.byteLength(path);
  for (const dir of walk.opaqueDirs) bytes += Buffer.byteLength(dir);
  return bytes;
}

function recordBytes(record: LayerRecord<unknown>): number {
  const target = record.kind === 'symlink' || record.kind === 'hardlink' ? record.target : '';
  return Buffer.byteLength(record.path) + Buffer.byteLength(target);
}

/** Shown instead of a name over PATH_MAX: the error names the entry without repeating 4 KiB of it. */
function shortName(name: string): string {
  return name.length <= 120 ? name : `${name.slice(0, 120)}… (${Buffer.byteLength(name)} bytes)`;
}

interface MetadataCap {
  name: 'layerMetadataBytes' | 'imageMetadataBytes';
  /** The configured limit, for the error. */
  value: number;
  /** What this layer may keep under it. */
  left: number;
}

interface CollectorFailure {
  name: LimitName;
  value: number;
  message: string;
  /** Root-relative path of the entry. */
  path: string;
}

/** Tar visitor that keeps what the image view needs from one layer. */
class LayerCollector<R> {
  readonly records = new Map<string, LayerRecord<R>>();
  readonly whiteouts: string[] = [];
  readonly opaqueDirs: string[] = [];
  failure: CollectorFailure | undefined;
  private metadataBytes = 0;

  constructor(
    private readonly selector: FileSelector,
    private readonly sink: FileSink<R>,
    private readonly limits: Pick<WalkLimits, 'maxFileBytes' | 'maxPathBytes'>,
    private readonly metadataCap: MetadataCap,
  ) {}

  entry(entry: TarEntry): TarContentReader | undefined {
    if (this.failure !== undefined) return undefined;
    // Checked before the name is split or used as a key, so an over-long name costs one pass.
    for (const [what, name] of [
      ['name', entry.name],
      ['link target', entry.linkName],
    ] as const) {
      const bytes = Buffer.byteLength(name);
      if (bytes > this.limits.maxPathBytes) {
        this.failure = {
          name: 'pathBytes',
          value: this.limits.maxPathBytes,
          message: `entry ${JSON.stringify(shortName(entry.name))} has a ${bytes}-byte ${what}, over the limit of ${this.limits.maxPathBytes} bytes (PATH_MAX)`,
          path: normalizeImagePath(shortName(entry.name)),
        };
        return undefined;
      }
    }
    const path = normalizeImagePath(entry.name);
    if (path === '') return undefined;
    const whiteout = classifyWhiteout(path);
    if (whiteout !== undefined) {
      if (whiteout.kind === 'whiteout') {
        if (this.keep(path, Buffer.byteLength(whiteout.target))) this.whiteouts.push(whiteout.target);
      } else if (whiteout.kind === 'opaque') {
        if (this.keep(path, Buffer.byteLength(whiteout.directory))) this.opaqueDirs.push(whiteout.directory);
      }
      return undefined;
    }
    // A later entry for the same path in the same layer replaces the earlier one.
    const replaced = this.records.get(path);
    if (replaced !== undefined) {
      this.records.delete(path);
      this.metadataBytes -= recordBytes(replaced);
    }
    switch (entry.type) {
      case 'symlink':
        // Kept verbatim: resolution against the merged image happens later, inside the root.
        this.record({ path, kind: 'symlink', target: entry.linkName });
        return undefined;
      case 'hardlink':
        return this.hardlink(path, normalizeImagePath(entry.linkName));
      case 'file':
        return this.file(path, entry);
      case 'sparse': {
        // The "real size" of a sparse file is a claim, not data: never reconstructed.
        if (this.selector.select(path, { size: entry.size, mode: entry.mode }) !== undefined) {
          this.record({ path, kind: 'unreadable', reason: 'sparse file' });
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }

  private hardlink(path: string, target: string): undefined {
    const linked = this.records.get(target);
    if (linked?.kind === 'file' && this.selector.select(path, linked) !== undefined) {
      // Same inode, same content: reuse what the sink made of the target.
      this.record({ ...linked, path });
    } else {
      this.record({ path, kind: 'hardlink', target });
    }
    return undefined;
  }

  private file(path: string, entry: TarEntry): TarContentReader | undefined {
    const request = this.selector.select(path, { size: entry.size, mode: entry.mode });
    if (request === undefined) return undefined;
    if (entry.size > this.limits.maxFileBytes) {
      this.failure = {
        name: 'fileBytes',
        value: this.limits.maxFileBytes,
        message: `/${path} is ${entry.size} bytes, over the per-file limit of ${this.limits.maxFileBytes}`,
        path,
      };
      return undefined;
    }
    const magic = request.magic;
    // One buffer of the declared size (bounded by maxFileBytes above), filled in place:
    // the stream's chunks are copied once, not kept and concatenated. It is allocated
    // only once the magic bytes (if any) matched, so sniffed-out files cost a few bytes.
    let content: Buffer | undefined;
    let received = 0;
    let head = magic === undefined ? undefined : Buffer.alloc(0);
    const notKept = (reason: string): void => {
      this.record({ path, kind: 'unreadable', reason });
    };
    const append = (chunk: Buffer): void => {
      content ??= Buffer.allocUnsafe(entry.size);
      // A tar entry never carries more than its declared size; guard anyway.
      received += chunk.copy(content, received);
    };
    return {
      data: (chunk) => {
        if (head === undefined || magic === undefined) {
          append(chunk);
          return true;
        }
        const start = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
        if (start.length < magic.length) {
          // Too short to tell yet: keep a copy of the few bytes, the chunk's memory is not ours.
          head = Buffer.from(start);
          return true;
        }
        head = undefined;
        if (!start.subarray(0, magic.length).equals(magic)) {
          notKept('content does not start with the wanted magic bytes');
          return false;
        }
        append(start);
        return true;
      },
      end: () => {
        if (head !== undefined) return notKept('file shorter than the wanted magic bytes');
        const captured = content === undefined ? Buffer.alloc(0) : content.subarray(0, received);
        if (this.failure !== undefined) return;
        const value = this.sink({ path, size: entry.size, mode: entry.mode, content: captured });
        if (value === undefined) return notKept('no analyzer kept anything');
        this.record({ path, kind: 'file', size: entry.size, mode: entry.mode, value });
      },
    };
  }

  private record(record: LayerRecord<R>): void {
    const previous = this.records.get(record.path);
    if (previous !== undefined) this.metadataBytes -= recordBytes(previous);
    if (this.keep(record.path, recordBytes(record))) this.records.set(record.path, record);
  }

  /** Counts bytes the layer keeps; false (and a failure) once the metadata budget is spent. */
  private keep(path: string, bytes: number): boolean {
    this.metadataBytes += bytes;
    if (this.metadataBytes <= this.metadataCap.left) return true;
    const { name, value } = this.metadataCap;
    const scope = name === 'layerMetadataBytes' ? 'this layer' : "the image's layers";
    this.failure = {
      name,
      value,
      message: `names and link targets kept from ${scope} exceed ${value} bytes (${name}) at /${path}`,
      path,
    };
    return false;
  }
}
