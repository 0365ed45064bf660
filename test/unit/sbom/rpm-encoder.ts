// Encodes RPM header blobs in the rpmdb format (index count, data length, index
// entries, data store), for tests that need an rpmdb.sqlite without an rpm tool.
import { rmSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export type RpmTagValue = { string: string } | { int32: number };

export function encodeRpmHeader(tags: Record<number, RpmTagValue>): Buffer {
  const index: Buffer[] = [];
  const data: Buffer[] = [];
  let offset = 0;
  // A leading region tag (HEADER_IMMUTABLE, BIN) as real rpmdb blobs carry; readers must skip it.
  const entries: Array<[number, number, Buffer, number]> = [[63, 7, Buffer.alloc(16), 16]];
  for (const [tag, value] of Object.entries(tags).sort(([a], [b]) => Number(a) - Number(b))) {
    if ('string' in value) entries.push([Number(tag), 6, Buffer.from(`${value.string}\0`), 1]);
    else {
      const b = Buffer.alloc(4);
      b.writeInt32BE(value.int32);
      entries.push([Number(tag), 4, b, 1]);
    }
  }
  for (const [tag, type, bytes, count] of entries) {
    if (type === 4) {
      const pad = (4 - (offset % 4)) % 4;
      if (pad > 0) {
        data.push(Buffer.alloc(pad));
        offset += pad;
      }
    }
    const e = Buffer.alloc(16);
    e.writeUInt32BE(tag, 0);
    e.writeUInt32BE(type, 4);
    e.writeInt32BE(offset, 8);
    e.writeUInt32BE(count, 12);
    index.push(e);
    data.push(bytes);
    offset += bytes.length;
  }
  const head = Buffer.alloc(8);
  head.writeUInt32BE(entries.length, 0);
  head.writeUInt32BE(offset, 4);
  return Buffer.concat([head, ...index, ...data]);
}

/** An rpmdb.sqlite file with rpm's own Packages schema, as bytes. */
export function rpmdbSqlite(blobs: Buffer[]): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-test-rpmdb-'));
  try {
    const path = join(dir, 'rpmdb.sqlite');
    const db = new DatabaseSync(path);
    db.exec('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)');
    db.exec('CREATE TABLE Name (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL)');
    const insert = db.prepare('INSERT INTO Packages (blob) VALUES (?)');
    for (const blob of blobs) insert.run(blob);
    db.close();
    return readFileSync(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
