// Turns a layer blob stream into a stream of tar bytes. The compression is read
// from the first bytes (gzip 1f8b, zstd 28b52ffd) rather than trusted from the
// media type, because registries and old tools mislabel layers; the media type
// only decides whether the blob is a filesystem layer at all.
// Node's zstd decompressor ends a frame and drops the rest of that write: a blob of
// several zstd frames (zstd:chunked layers, pzstd, `cat a.zst b.zst`) would read as
// its first frame only. So zstd input is cut at frame boundaries before it is written
// (ZstdFrameCutter), which reads frame and block headers only, never block contents.
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
    const input = compression === 'zstd' ? zstdFrames(raw()) : raw();
    const output = pipeline(Readable.from(input, { objectMode: false }), decompressor, () => {
      // Errors reach the consumer through the decompressor's iterator.
    });
    for await (const chunk of output) yield chunk as Buffer;
  } finally {
    source.destroy();
  }
}

/** The same bytes, with every chunk that spans the end of a zstd frame split there. */
async function* zstdFrames(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const cutter = new ZstdFrameCutter();
  for await (const chunk of chunks) yield* cutter.split(chunk);
}

const ZSTD_FRAME_MAGIC = 0xfd2fb528;
/** Skippable frames have magics 0x184D2A50 to 0x184D2A5F. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

type FrameStep = 'magic' | 'descriptor' | 'headerRest' | 'block' | 'skippableSize';

/**
 * Finds the frame boundaries of a zstd stream (RFC 8878 §3.1) as it arrives: each
 * frame's header, then each block header, whose size says how many bytes to pass
 * over. State is a few header bytes, whatever the chunking. Input that is not zstd
 * framing is passed on uncut, for the decompressor to refuse.
 */
export class ZstdFrameCutter {
  private step: FrameStep = 'magic';
  /** Header bytes of the current step gathered so far (a header can span chunks). */
  private header: number[] = [];
  /** Bytes to pass over before the next header: a block's content, a skippable frame. */
  private skip = 0;
  /** Set after the last block: the frame ends once `skip` is passed. */
  private frameEndsAfterSkip = false;
  private checksum = false;
  /** The current frame's header descriptor byte. */
  private descriptor = 0;
  private passThrough = false;

  split(chunk: Buffer): Buffer[] {
    if (this.passThrough) return [chunk];
    const out: Buffer[] = [];
    let start = 0;
    let at = 0;
    while (at < chunk.length && !this.passThrough) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        at += n;
        this.skip -= n;
        if (this.skip === 0 && this.frameEndsAfterSkip) {
          out.push(chunk.subarray(start, at));
          start = at;
          this.frameEndsAfterSkip = false;
          this.step = 'magic';
        }
        continue;
      }
      this.header.push(chunk[at]!);
      at++;
      if (this.header.length < this.headerLength()) continue;
      const h = this.header;
      this.header = [];
      this.advance(h);
      if (this.skip === 0 && this.frameEndsAfterSkip) {
        // A frame that ends on a header (an empty last block without checksum).
        out.push(chunk.subarray(start, at));
        start = at;
        this.frameEndsAfterSkip = false;
        this.step = 'magic';
      }
    }
    if (start < chunk.length) out.push(chunk.subarray(start));
    return out;
  }

  private headerLength(): number {
    switch (this.step) {
      case 'magic':
      case 'skippableSize':
        return 4;
      case 'descriptor':
        return 1;
      case 'block':
        return 3;
      case 'headerRest': {
        const d = this.descriptor;
        const singleSegment = (d & 0x20) !== 0;
        const fcs = [singleSegment ? 1 : 0, 2, 4, 8][d >> 6]!;
        const dictionaryId = [0, 1, 2, 4][d & 0x03]!;
        return (singleSegment ? 0 : 1) + dictionaryId + fcs;
      }
    }
  }

  private advance(h: number[]): void {
    const le = (): number => h.reduce((v, b, i) => v + b * 2 ** (8 * i), 0);
    switch (this.step) {
      case 'magic': {
        const magic = le();
        if (magic === ZSTD_FRAME_MAGIC) this.step = 'descriptor';
        else if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) this.step = 'skippableSize';
        else this.passThrough = true;
        return;
      }
      case 'descriptor':
        this.descriptor = h[0]!;
        this.checksum = (this.descriptor & 0x04) !== 0;
        this.step = this.headerLength() > 0 ? 'headerRest' : 'block';
        return;
      case 'headerRest':
        this.step = 'block';
        return;
      case 'block': {
        const value = le();
        const last = (value & 1) !== 0;
        const type = (value >> 1) & 0x03;
        const size = value >>> 3;
        // Raw and compressed blocks carry `size` bytes; an RLE block one byte repeated.
        this.skip = type === 1 ? 1 : size;
        if (last) {
          this.skip += this.checksum ? 4 : 0;
          this.frameEndsAfterSkip = true;
        }
        return;
      }
      case 'skippableSize':
        this.skip = le();
        this.frameEndsAfterSkip = true;
        return;
    }
  }
}
