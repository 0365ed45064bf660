// Turns a layer blob stream into a stream of tar bytes. The compression is read
// from the first bytes (gzip 1f8b, zstd 28b52ffd) rather than trusted from the
// media type, because registries and old tools mislabel layers; the media type
// only decides whether the blob is a filesystem layer at all.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/**
 * Output chunk size of the decompressors. zlib's default (16 KiB) costs one callback,
 * one Buffer and one async-iterator step per 16 KiB of tar: on a 120 MB layer that
 * per-chunk overhead (and the garbage it makes) took as long as inflating itself.
 */
export const DECOMPRESS_CHUNK_BYTES = 256 * 1024;

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** Media types that carry a filesystem layer (OCI and Docker, distributable or not). */
export function isLayerMediaType(mediaType: string): boolean {
  if (mediaType === '') return true;
  return (
    /^application\/vnd\.oci\.image\.layer\.(nondistributable\.)?v1\.tar(\+gzip|\+zstd)?$/.test(mediaType) ||
    /^application\/vnd\.docker\.image\.rootfs\.(foreign\.)?diff\.tar(\.gzip|\.zstd)?$/.test(mediaType)
  );
}

export function detectCompression(head: Uint8Array, mediaType: string): LayerCompression {
  if (startsWith(head, GZIP_MAGIC)) return 'gzip';
  if (startsWith(head, ZSTD_MAGIC)) return 'zstd';
  // Too short to tell: let the media type decide (an empty blob is an empty tar).
  if (head.length < 4 && head.length > 0) {
    if (mediaType.endsWith('gzip')) return 'gzip';
    if (mediaType.endsWith('zstd')) return 'zstd';
  }
  return 'none';
}

function startsWith(head: Uint8Array, magic: number[]): boolean {
  return head.length >= magic.length && magic.every((b, i) => head[i] === b);
}

/** Yields decompressed tar chunks; errors (truncated gzip, source failure) surface as rejections. */
export async function* tarChunks(source: Readable, mediaType: string): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const head: Buffer[] = [];
  let headBytes = 0;
  let sourceDone = false;
  while (headBytes < ZSTD_MAGIC.length) {
    const next = await iterator.next();
    if (next.done === true) {
      sourceDone = true;
      break;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    head.push(chunk);
    headBytes += chunk.length;
  }
  const compression = detectCompression(Buffer.concat(head), mediaType);
  async function* raw(): AsyncGenerator<Buffer> {
    yield* head;
    if (sourceDone) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return;
      yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    }
  }
  try {
    if (compression === 'none') {
      yield* raw();
      return;
    }
    const options = { chunkSize: DECOMPRESS_CHUNK_BYTES };
    const decompressor = compression === 'gzip' ? createGunzip(options) : createZstdDecompress(options);
    const output = pipeline(Readable.from(raw(), { objectMode: false }), decompressor, () => {
      // Errors reach the consumer through the decompressor's iterator.
    });
    for await (const chunk of output) yield chunk as Buffer;
  } finally {
    source.destroy();
  }
}
