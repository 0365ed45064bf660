// Minimal tar writer for tests: ustar headers, GNU long names, PAX records, and
// entries that lie about their size, so layers can be built in memory.
import { Readable } from 'node:stream';
import { gzipSync, zstdCompressSync } from 'node:zlib';

export interface TestEntry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'gnu-sparse';
  content?: string | Buffer;
  mode?: number;
  linkName?: string;
  /** Size written into the header, when it must differ from the content. */
  claimedSize?: number;
  /** Emit the name through a GNU 'L' record or a PAX 'x' record. */
  longName?: 'gnu' | 'pax';
  pax?: Record<string, string>;
}

const TYPEFLAG = { file: '0', dir: '5', symlink: '2', hardlink: '1', 'gnu-sparse': 'S' } as const;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

export function header(fields: {
  name: string;
  typeflag: string;
  size: number;
  mode?: number;
  linkName?: string;
  gnu?: boolean;
}): Buffer {
  const h = Buffer.alloc(512);
  h.write(fields.name.slice(0, 100), 0, 'utf8');
  h.write(octal(fields.mode ?? 0o644, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  if (fields.size > 0o77777777777) {
    // GNU base-256 for sizes that do not fit 11 octal digits.
    h[124] = 0x80;
    let v = BigInt(fields.size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  } else h.write(octal(fields.size, 12), 124, 'latin1');
  h.write(octal(0, 12), 136, 'latin1');
  h.write(fields.typeflag, 156, 'latin1');
  h.write((fields.linkName ?? '').slice(0, 100), 157, 'utf8');
  if (fields.gnu === true) h.write('ustar  \0', 257, 'latin1');
  else h.write('ustar\x0000', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function padded(data: Buffer): Buffer[] {
  const pad = (512 - (data.length % 512)) % 512;
  return pad === 0 ? [data] : [data, Buffer.alloc(pad)];
}

function paxBody(records: Record<string, string>): Buffer {
  let out = '';
  for (const [key, value] of Object.entries(records)) {
    const body = ` ${key}=${value}\n`;
    const bodyLength = Buffer.byteLength(body);
    // The length counts its own digits.
    let len = bodyLength + 1;
    while (len !== bodyLength + String(len).length) len = bodyLength + String(len).length;
    out += `${len}${body}`;
  }
  return Buffer.from(out, 'utf8');
}

export function* entryBlocks(entry: TestEntry): Generator<Buffer> {
  const content =
    typeof entry.content === 'string' ? Buffer.from(entry.content) : (entry.content ?? Buffer.alloc(0));
  const type = entry.type ?? 'file';
  const pax: Record<string, string> = { ...(entry.pax ?? {}) };
  let name = entry.name;
  if (entry.longName === 'gnu') {
    const body = Buffer.from(`${entry.name}\0`);
    yield header({ name: '././@LongLink', typeflag: 'L', size: body.length, gnu: true });
    yield* padded(body);
    name = entry.name.slice(0, 99);
  } else if (entry.longName === 'pax') {
    pax.path = entry.name;
    name = entry.name.slice(0, 99);
  }
  if (Object.keys(pax).length > 0) {
    const body = paxBody(pax);
    yield header({ name: 'PaxHeaders/x', typeflag: 'x', size: body.length });
    yield* padded(body);
  }
  const hasData = type === 'file' || type === 'gnu-sparse';
  yield header({
    name,
    typeflag: TYPEFLAG[type],
    size: entry.claimedSize ?? (hasData ? content.length : 0),
    mode: entry.mode ?? (type === 'dir' ? 0o755 : 0o644),
    linkName: entry.linkName,
    gnu: type === 'gnu-sparse',
  });
  if (hasData && content.length > 0) yield* padded(content);
}

export function tar(entries: TestEntry[], { end = true }: { end?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) blocks.push(...entryBlocks(e));
  if (end) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export type Compression = 'gzip' | 'zstd' | 'none';

export function compress(data: Buffer, compression: Compression): Buffer {
  if (compression === 'gzip') return gzipSync(data);
  if (compression === 'zstd') return zstdCompressSync(data);
  return data;
}

export const MEDIA_TYPE: Record<Compression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

let counter = 0;

/** A layer source over an in-memory blob, split into small chunks to exercise chunk boundaries. */
export function layerOf(
  entries: TestEntry[],
  compression: Compression = 'gzip',
  chunkSize = 777,
): { digest: string; mediaType: string; size: number; open(): Promise<Readable>; opened: () => number } {
  const blob = compress(tar(entries), compression);
  return blobLayer(blob, MEDIA_TYPE[compression], chunkSize);
}

export function blobLayer(
  blob: Buffer,
  mediaType: string,
  chunkSize = 777,
): { digest: string; mediaType: string; size: number; open(): Promise<Readable>; opened: () => number } {
  let opens = 0;
  counter++;
  return {
    digest: `sha256:${counter.toString(16).padStart(64, '0')}`,
    mediaType,
    size: blob.length,
    opened: () => opens,
    open: () => {
      opens++;
      return Promise.resolve(Readable.from(chunks(blob, chunkSize), { objectMode: false }));
    },
  };
}

function* chunks(blob: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < blob.length; i += size) yield blob.subarray(i, i + size);
}
