// Decoder for the RPM header blobs stored in the rpmdb (one per installed package):
// a big-endian index count and data length, 16-byte index entries (tag, type,
// offset, count), then the data store. Every offset is bounds-checked: the blob
// comes from an untrusted image.

export const RPMTAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  LICENSE: 1014,
  ARCH: 1022,
  SOURCERPM: 1044,
} as const;

const TYPE_INT32 = 4;
const TYPE_STRING = 6;
const TYPE_STRING_ARRAY = 8;
const TYPE_I18NSTRING = 9;

export class RpmHeaderError extends Error {}

export interface RpmHeader {
  string(tag: number): string | undefined;
  int32(tag: number): number | undefined;
}

export function parseRpmHeader(blob: Uint8Array): RpmHeader {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (buf.length < 8) throw new RpmHeaderError('rpm header blob shorter than 8 bytes');
  const indexCount = buf.readUInt32BE(0);
  const dataLength = buf.readUInt32BE(4);
  const storeStart = 8 + indexCount * 16;
  if (indexCount > 0xffff || storeStart + dataLength > buf.length) {
    throw new RpmHeaderError(
      `rpm header claims ${indexCount} entries and ${dataLength} data bytes, blob has ${buf.length}`,
    );
  }
  const entries = new Map<number, { type: number; offset: number; count: number }>();
  for (let i = 0; i < indexCount; i++) {
    const at = 8 + i * 16;
    const tag = buf.readUInt32BE(at);
    if (!entries.has(tag)) {
      entries.set(tag, {
        type: buf.readUInt32BE(at + 4),
        offset: buf.readInt32BE(at + 8),
        count: buf.readUInt32BE(at + 12),
      });
    }
  }
  const store = buf.subarray(storeStart, storeStart + dataLength);
  return {
    string(tag) {
      const e = entries.get(tag);
      if (e === undefined) return undefined;
      if (e.type !== TYPE_STRING && e.type !== TYPE_STRING_ARRAY && e.type !== TYPE_I18NSTRING)
        return undefined;
      if (e.offset < 0 || e.offset >= store.length)
        throw new RpmHeaderError(`tag ${tag} points outside the data`);
      const end = store.indexOf(0, e.offset);
      if (end < 0) throw new RpmHeaderError(`tag ${tag} string is not terminated`);
      return store.toString('utf8', e.offset, end);
    },
    int32(tag) {
      const e = entries.get(tag);
      if (e === undefined || e.type !== TYPE_INT32 || e.count < 1) return undefined;
      if (e.offset < 0 || e.offset + 4 > store.length)
        throw new RpmHeaderError(`tag ${tag} points outside the data`);
      return store.readInt32BE(e.offset);
    },
  };
}

/** "glibc-2.34-60.el9.src.rpm" → { name: 'glibc', version: '2.34', release: '60.el9' }. */
export function parseSourceRpm(
  sourceRpm: string,
): { name: string; version: string; release: string } | undefined {
  const m = /^(.+)-([^-]+)-([^-]+)\.(?:no)?src\.rpm$/.exec(sourceRpm);
  if (m === null) return undefined;
  return { name: m[1] ?? '', version: m[2] ?? '', release: m[3] ?? '' };
}
