// Reads the `.json` entries of an OSV bulk archive (`<ecosystem>/all.zip`)
// with yauzl, under limits on entry count, per-entry and total uncompressed
// bytes, because an archive downloaded from a mirror is untrusted input (a zip
// bomb must cost a bounded amount of memory and time, not the operator).
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';

import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';

export interface ZipLimits {
  /** Most entries the central directory may list. */
  maxEntries: number;
  /** Largest uncompressed entry that is read; larger ones are skipped and reported. */
  maxEntryBytes: number;
  /** Most uncompressed bytes read from the whole archive. */
  maxTotalBytes: number;
}

export const DEFAULT_ZIP_LIMITS: Readonly<ZipLimits> = Object.freeze({
  maxEntries: 2_000_000,
  maxEntryBytes: 8 * 1024 * 1024,
  maxTotalBytes: 4 * 1024 * 1024 * 1024,
});

export interface SkippedEntry {
  name: string;
  reason: string;
}

export interface ZipReadSummary {
  entries: number;
  bytes: number;
  /** Entries handed to `onSkip` instead of `onEntry`. */
  skipped: number;
}

export interface ZipReadError {
  kind: 'ZipReadError';
  reason: 'Unreadable' | 'TooManyEntries' | 'TooManyBytes';
  message: string;
}

/** Reads `length` bytes at `offset` of the archive (fewer at its end). */
type ReadAt = (offset: number, length: number) => Promise<Buffer>;

/**
 * Archives up to this size are read into memory at once: the osv.dev bulk zips
 * are tens of MiB, and one read beats two file reads per advisory. Larger ones
 * are read entry by entry.
 */
const IN_MEMORY_ARCHIVE_BYTES = 512 * 1024 * 1024;

/**
 * Reads one entry with a positioned read and a one-shot inflate capped at
 * `maxBytes` (zlib stops at maxOutputLength, so a bomb never allocates more).
 * Streams per entry cost more than the JSON parse for archives of small files.
 */
async function readEntry(
  zip: ZipFile,
  readAt: ReadAt,
  entry: Entry,
  maxBytes: number,
): Promise<Buffer | string> {
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
    return `compression method ${entry.compressionMethod} is not supported`;
  }
  if (entry.isEncrypted()) return 'encrypted entry';
  const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
  const compressed = await readAt(fileDataStart, entry.compressedSize);
  if (compressed.length !== entry.compressedSize) return 'entry data is truncated';
  if (entry.compressionMethod === 0) {
    return compressed.length > maxBytes ? `holds more than ${maxBytes} bytes` : compressed;
  }
  try {
    const data = inflateRawSync(compressed, { maxOutputLength: maxBytes });
    return data.length === entry.uncompressedSize
      ? data
      : `inflates to ${data.length} bytes, not the ${entry.uncompressedSize} it declares`;
  } catch (err) {
    return (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE'
      ? `inflates past ${maxBytes} bytes`
      : `corrupt entry: ${(err as Error).message}`;
  }
}

/**
 * Calls `onEntry` with the text of every `.json` entry. Oversized or corrupt
 * entries go to `onSkip` instead; only an archive that cannot be opened or that
 * breaks the count or total-bytes limit is an error.
 */
export async function readZipJsonEntries(
  path: string,
  onEntry: (name: string, text: string) => void,
  onSkip: (skipped: SkippedEntry) => void,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): Promise<ZipReadSummary | ZipReadError> {
  let zip: ZipFile;
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (err) {
    return { kind: 'ZipReadError', reason: 'Unreadable', message: `cannot open ${path}: ${String(err)}` };
  }
  let readAt: ReadAt;
  try {
    const options = { lazyEntries: true, autoClose: false, strictFileNames: false };
    const { size } = await file.stat();
    if (size <= IN_MEMORY_ARCHIVE_BYTES) {
      const archive = await file.readFile();
      readAt = (offset, length) => Promise.resolve(archive.subarray(offset, offset + length));
      zip = await yauzl.fromBufferPromise(archive, options);
    } else {
      readAt = async (offset, length) => {
        const buffer = Buffer.allocUnsafe(length);
        const { bytesRead } = await file.read(buffer, 0, length, offset);
        return buffer.subarray(0, bytesRead);
      };
      // yauzl reads the central directory through its own descriptor; entry data is read through `file`.
      zip = await yauzl.openPromise(path, options);
    }
  } catch (err) {
    await file.close();
    return {
      kind: 'ZipReadError',
      reason: 'Unreadable',
      message: `cannot open ${path} as zip: ${String(err)}`,
    };
  }
  try {
    if (zip.entryCount > limits.maxEntries) {
      return {
        kind: 'ZipReadError',
        reason: 'TooManyEntries',
        message: `${path} lists ${zip.entryCount} entries, more than the limit of ${limits.maxEntries}`,
      };
    }
    const summary: ZipReadSummary = { entries: 0, bytes: 0, skipped: 0 };
    const skip = (skipped: SkippedEntry): void => {
      summary.skipped++;
      onSkip(skipped);
    };
    for await (const entry of zip.eachEntry()) {
      if (!entry.fileName.endsWith('.json')) continue;
      summary.entries++;
      if (entry.uncompressedSize > limits.maxEntryBytes) {
        skip({ name: entry.fileName, reason: `declares ${entry.uncompressedSize} bytes` });
        continue;
      }
      const remaining = limits.maxTotalBytes - summary.bytes;
      if (entry.uncompressedSize > remaining) {
        return {
          kind: 'ZipReadError',
          reason: 'TooManyBytes',
          message: `${path} inflates past the limit of ${limits.maxTotalBytes} bytes at ${entry.fileName}`,
        };
      }
      let content: Buffer | string;
      try {
        content = await readEntry(zip, readAt, entry, Math.min(limits.maxEntryBytes, remaining));
      } catch (err) {
        skip({ name: entry.fileName, reason: `corrupt entry: ${String(err)}` });
        continue;
      }
      if (typeof content === 'string') {
        skip({ name: entry.fileName, reason: content });
        continue;
      }
      summary.bytes += content.length;
      onEntry(entry.fileName, content.toString('utf8'));
    }
    return summary;
  } catch (err) {
    return { kind: 'ZipReadError', reason: 'Unreadable', message: `cannot read ${path}: ${String(err)}` };
  } finally {
    zip.close();
    await file.close();
  }
}
