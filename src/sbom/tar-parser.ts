// Streaming tar reader: chunks in, entry headers and (only when asked) content out.
// It never buffers more than one header block or one metadata body, so a layer of
// any size is walked in bounded memory. Understands ustar, GNU long names ('L'/'K')
// and old sparse headers, and PAX headers ('x'/'g') with path/linkpath/size overrides.
// Sizes are checked against the limits before any data is read, so a header that
// claims a 10 GB (or sparse "real size") file costs nothing.

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'directory' | 'sparse' | 'other';

export interface TarEntry {
  /** Name as stored (after PAX / GNU long-name overrides), not yet normalised. */
  name: string;
  linkName: string;
  type: TarEntryType;
  mode: number;
  /** Bytes of data stored in the archive for this entry. */
  size: number;
}

/** Receives the content of an entry the visitor asked for. */
export interface TarContentReader {
  /** Returns false when no more content is wanted (the rest is skipped). */
  data(chunk: Buffer): boolean;
  end(): void;
}

export interface TarVisitor {
  /** Called once per real entry; return a reader to receive its content. */
  entry(entry: TarEntry): TarContentReader | undefined;
}

export interface TarParserLimits {
  maxEntries: number;
  maxBytes: number;
  maxHeaderBytes: number;
}

export type TarLimit = 'entries' | 'bytes' | 'headerBytes';

/** Thrown inside the parser, turned into an error value by the layer walker. */
export class TarLimitError extends Error {
  constructor(
    readonly limit: TarLimit,
    readonly value: number,
    message: string,
  ) {
    super(message);
  }
}

export class TarFormatError extends Error {}

const BLOCK = 512;
const HEADER_ONLY_TYPES = new Set(['1', '2', '3', '4', '5', '6']);

type State = 'header' | 'data' | 'padding' | 'meta' | 'sparseExt' | 'done';

interface PaxOverrides {
  path?: string;
  linkpath?: string;
  size?: number;
  sparse?: boolean;
}

export class TarParser {
  private state: State = 'header';
  private readonly block = Buffer.alloc(BLOCK);
  private blockFill = 0;
  private remaining = 0;
  private padding = 0;
  private reader: TarContentReader | undefined;
  private metaType = '';
  private metaChunks: Buffer[] = [];
  private zeroBlocks = 0;
  private longName: string | undefined;
  private longLink: string | undefined;
  private pax: PaxOverrides = {};
  private globalPax: PaxOverrides = {};
  private pendingEntry: TarEntry | undefined;
  /** Bytes of tar stream consumed so far, up to and including the end-of-archive marker (the uncompressed layer size). */
  bytes = 0;
  entries = 0;

  constructor(
    private readonly visitor: TarVisitor,
    private readonly limits: TarParserLimits,
  ) {}

  get finished(): boolean {
    return this.state === 'done';
  }

  write(chunk: Buffer): void {
    this.bytes += chunk.length;
    // Entry sizes are checked against maxBytes from their headers, so a chunk can
    // overshoot the limit only by itself: it is parsed, and the limit checked after.
    this.consume(chunk);
    if (this.bytes > this.limits.maxBytes) {
      throw new TarLimitError('bytes', this.limits.maxBytes, `layer exceeds ${this.limits.maxBytes} bytes`);
    }
  }

  private consume(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      switch (this.state) {
        case 'done':
          // Whatever follows the end-of-archive marker (a blocking factor's zero
          // padding, or anything else) is not part of the layer: not counted, not read.
          this.bytes -= chunk.length - offset;
          return;
        case 'header':
        case 'sparseExt': {
          let header: Buffer;
          if (this.blockFill === 0 && chunk.length - offset >= BLOCK) {
            header = chunk.subarray(offset, offset + BLOCK);
            offset += BLOCK;
          } else {
            const n = Math.min(BLOCK - this.blockFill, chunk.length - offset);
            chunk.copy(this.block, this.blockFill, offset, offset + n);
            this.blockFill += n;
            offset += n;
            if (this.blockFill < BLOCK) break;
            this.blockFill = 0;
            header = this.block;
          }
          if (this.state === 'header') this.onHeader(header);
          else this.onSparseExtension(header);
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, chunk.length - offset);
          if (this.reader !== undefined && !this.reader.data(chunk.subarray(offset, offset + n))) {
            this.reader = undefined;
          }
          offset += n;
          this.remaining -= n;
          if (this.remaining === 0) this.finishData();
          break;
        }
        case 'meta': {
          const n = Math.min(this.remaining, chunk.length - offset);
          this.metaChunks.push(Buffer.from(chunk.subarray(offset, offset + n)));
          offset += n;
          this.remaining -= n;
          if (this.remaining === 0) this.finishMeta();
          break;
        }
        case 'padding': {
          const n = Math.min(this.padding, chunk.length - offset);
          offset += n;
          this.padding -= n;
          if (this.padding === 0) this.state = 'header';
          break;
        }
      }
    }
  }

  /** Declares the end of input; throws TarFormatError when it stops mid-entry. */
  end(): void {
    if (this.state === 'done') return;
    if (this.state === 'header' && this.blockFill === 0) {
      // An archive without the two zero blocks, cut at an entry boundary, is
      // still complete (Go's archive/tar accepts it too).
      this.state = 'done';
      return;
    }
    throw new TarFormatError(`tar stream ends inside an entry (after ${this.bytes} bytes)`);
  }

  private onHeader(header: Buffer): void {
    if (isZeroBlock(header)) {
      this.zeroBlocks++;
      if (this.zeroBlocks >= 2) this.state = 'done';
      return;
    }
    this.zeroBlocks = 0;
    verifyChecksum(header, this.bytes);
    const typeflag = header[156] === 0 ? '0' : String.fromCharCode(header[156] ?? 0);
    const size = parseNumeric(header, 124, 12, 'size');
    if (typeflag === 'L' || typeflag === 'K' || typeflag === 'x' || typeflag === 'g') {
      if (size > this.limits.maxHeaderBytes) {
        throw new TarLimitError(
          'headerBytes',
          this.limits.maxHeaderBytes,
          `tar metadata header of ${size} bytes exceeds ${this.limits.maxHeaderBytes}`,
        );
      }
      this.metaType = typeflag;
      this.metaChunks = [];
      this.remaining = size;
      this.padding = padOf(size);
      this.state = 'meta';
      if (size === 0) this.finishMeta();
      return;
    }

    const magic = header.toString('latin1', 257, 263);
    const isUstar = magic === 'ustar\0';
    const isGnu = magic === 'ustar ';
    let name = cString(header, 0, 100);
    if (isUstar) {
      const prefix = cString(header, 345, 155);
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    let linkName = cString(header, 157, 100);
    const overrides: PaxOverrides = { ...this.globalPax, ...this.pax };
    if (this.longName !== undefined) name = this.longName;
    if (this.longLink !== undefined) linkName = this.longLink;
    if (overrides.path !== undefined) name = overrides.path;
    if (overrides.linkpath !== undefined) linkName = overrides.linkpath;
    let dataSize = overrides.size ?? size;
    this.longName = undefined;
    this.longLink = undefined;
    this.pax = {};

    let type: TarEntryType;
    switch (typeflag) {
      case '0':
      case '7':
        type = overrides.sparse === true ? 'sparse' : 'file';
        break;
      case '1':
        type = 'hardlink';
        break;
      case '2':
        type = 'symlink';
        break;
      case '5':
        type = 'directory';
        break;
      case 'S':
        type = 'sparse';
        break;
      default:
        type = 'other';
    }
    if (HEADER_ONLY_TYPES.has(typeflag)) dataSize = 0;

    this.entries++;
    if (this.entries > this.limits.maxEntries) {
      throw new TarLimitError(
        'entries',
        this.limits.maxEntries,
        `layer has more than ${this.limits.maxEntries} entries`,
      );
    }
    // Refuse a claimed size before reading a byte of it: a lying header must not
    // make us wait for, or allocate, data that the limit would refuse anyway.
    if (this.bytes + dataSize + padOf(dataSize) > this.limits.maxBytes) {
      throw new TarLimitError(
        'bytes',
        this.limits.maxBytes,
        `entry ${JSON.stringify(name)} claims ${dataSize} bytes, beyond the layer limit of ${this.limits.maxBytes}`,
      );
    }
    const mode = parseNumeric(header, 100, 8, 'mode');
    const entry: TarEntry = { name, linkName, type, mode, size: dataSize };
    if (typeflag === 'S' && isGnu && header[482] === 1) {
      // Old GNU sparse: extension blocks with more sparse descriptors come before the data.
      this.pendingEntry = entry;
      this.state = 'sparseExt';
      return;
    }
    this.startEntry(entry);
  }

  private onSparseExtension(block: Buffer): void {
    if (block[504] === 1) return;
    const entry = this.pendingEntry;
    this.pendingEntry = undefined;
    if (entry === undefined) throw new TarFormatError('sparse extension without an entry');
    this.startEntry(entry);
  }

  private startEntry(entry: TarEntry): void {
    this.reader = this.visitor.entry(entry);
    this.remaining = entry.size;
    this.padding = padOf(entry.size);
    this.state = 'data';
    if (entry.size === 0) this.finishData();
  }

  private finishData(): void {
    const reader = this.reader;
    this.reader = undefined;
    reader?.end();
    this.state = this.padding > 0 ? 'padding' : 'header';
  }

  private finishMeta(): void {
    const body = Buffer.concat(this.metaChunks);
    this.metaChunks = [];
    switch (this.metaType) {
      case 'L':
        this.longName = cString(body, 0, body.length);
        break;
      case 'K':
        this.longLink = cString(body, 0, body.length);
        break;
      case 'x':
        this.pax = { ...this.pax, ...parsePax(body) };
        break;
      case 'g':
        this.globalPax = { ...this.globalPax, ...parsePax(body) };
        break;
    }
    this.state = this.padding > 0 ? 'padding' : 'header';
  }
}

function padOf(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

function cString(buf: Buffer, offset: number, length: number): string {
  const end = buf.indexOf(0, offset);
  const stop = end < 0 || end > offset + length ? offset + length : end;
  return buf.toString('utf8', offset, stop);
}

function verifyChecksum(header: Buffer, at: number): void {
  const stored = parseNumeric(header, 148, 8, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  // Some old writers summed signed bytes; both are accepted, like GNU tar does.
  if (stored !== unsigned && stored !== signed) {
    throw new TarFormatError(`tar header checksum mismatch near byte ${at}`);
  }
}

/** Octal (space/NUL padded) or GNU base-256 numbers. */
export function parseNumeric(buf: Buffer, offset: number, length: number, field: string): number {
  const first = buf[offset] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) throw new TarFormatError(`negative ${field} in tar header`);
    let value = first & 0x7f;
    for (let i = 1; i < length; i++) {
      value = value * 256 + (buf[offset + i] ?? 0);
      if (value > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`${field} too large in tar header`);
    }
    return value;
  }
  let value = 0;
  let i = offset;
  const end = offset + length;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0)) i++;
  for (; i < end; i++) {
    const b = buf[i] ?? 0;
    if (b === 0x20 || b === 0) break;
    if (b < 0x30 || b > 0x37) throw new TarFormatError(`invalid octal ${field} in tar header`);
    value = value * 8 + (b - 0x30);
  }
  return value;
}

/** PAX records: "<len> <key>=<value>\n", len counting the whole record in bytes. */
export function parsePax(body: Buffer): PaxOverrides {
  const out: PaxOverrides = {};
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) break;
    const space = body.indexOf(0x20, pos);
    if (space < 0) throw new TarFormatError('malformed PAX record');
    const len = Number(body.toString('latin1', pos, space));
    if (!Number.isSafeInteger(len) || len <= space - pos + 1 || pos + len > body.length) {
      throw new TarFormatError('malformed PAX record length');
    }
    const record = body.subarray(space + 1, pos + len - 1);
    if (body[pos + len - 1] !== 0x0a) throw new TarFormatError('PAX record does not end in a newline');
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw new TarFormatError('PAX record without "="');
    const key = record.toString('utf8', 0, eq);
    const value = record.toString('utf8', eq + 1);
    if (key === 'path') out.path = value;
    else if (key === 'linkpath') out.linkpath = value;
    else if (key === 'size') {
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
        throw new TarFormatError(`invalid PAX size ${JSON.stringify(value)}`);
      }
      out.size = Number(value);
    } else if (key === 'GNU.sparse.name') {
      out.path = value;
      out.sparse = true;
    } else if (key.startsWith('GNU.sparse.')) out.sparse = true;
    pos += len;
  }
  return out;
}
