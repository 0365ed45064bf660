// Builders of hostile image content, in one place for the unit tests of the walker
// and analyzers and for the e2e suites that push the same content to a registry:
// layers that inflate, whiteout or name their way into super-linear work, files
// that make an analyzer spin (an ELF section table, an rpmdb SQLite would execute,
// a forged dpkg database), env values built to make a regex backtrack, a sparse
// file that claims gigabytes and a layer of a million empty entries. Each
// builder streams or sizes its output so that the test process itself stays small.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Readable } from 'node:stream';
import { createGzip, zstdCompressSync } from 'node:zlib';

import { entryBlocks, header as tarHeader, type TestEntry } from '../unit/sbom/tar-writer.js';

const MiB = 1024 * 1024;

/** The gzip of a stream of tar blocks, never holding the uncompressed tar. */
export async function gzipStream(blocks: Iterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(blocks).pipe(createGzip())) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

/** A tar of one file of `bytes` zeros (a multiple of 1 MiB): about 1/1000 of that gzipped. */
export function* inflationBomb(bytes = 1024 * MiB): Generator<Buffer> {
  yield tarHeader({ name: 'zeros', typeflag: '0', size: bytes });
  const zeros = Buffer.alloc(MiB);
  for (let i = 0; i < bytes / MiB; i++) yield zeros;
  yield Buffer.alloc(1024);
}

/**
 * A zstd layer of `files` files of `fileBytes` zeros each (2 GiB by default) in about
 * 70 KB: concatenated zstd frames are one stream, so one compressed frame of zeros is
 * repeated instead of compressing gigabytes. Many files, not one, so the walker has to
 * inflate up to its budget instead of refusing one header's claimed size.
 */
export function zstdBomb(files = 32, fileBytes = 64 * MiB): Buffer {
  const zeros = zstdCompressSync(Buffer.alloc(fileBytes));
  const frames: Buffer[] = [];
  for (let i = 0; i < files; i++) {
    frames.push(zstdCompressSync(tarHeader({ name: `zeros-${i}`, typeflag: '0', size: fileBytes })), zeros);
  }
  frames.push(zstdCompressSync(Buffer.alloc(1024)));
  return Buffer.concat(frames);
}

/** `count` symlinks whose PAX linkpath is `targetBytes` long. */
export function* longSymlinks(count = 450, targetBytes = MiB): Generator<Buffer> {
  const target = 'x'.repeat(targetBytes);
  for (let i = 0; i < count; i++) {
    yield* entryBlocks({ name: `l${i}`, type: 'symlink', linkName: 'x', pax: { linkpath: target } });
  }
  yield Buffer.alloc(1024);
}

/**
 * The two layers of a whiteout bomb: a lower layer of `dirs` directories holding two
 * symlinks each (symlinks are kept by every walk, unlike unwanted files), and an upper
 * layer whiting out every directory. A removal that rescans every visible path per
 * whiteout does dirs × 2·dirs work.
 */
export function whiteoutBomb(dirs = 40_000): { lower: TestEntry[]; upper: TestEntry[] } {
  const lower: TestEntry[] = [{ name: 'keep/me', type: 'symlink', linkName: 'x' }];
  for (let i = 0; i < dirs; i++) {
    lower.push(
      { name: `d${i}/a`, type: 'symlink', linkName: 'x' },
      { name: `d${i}/b`, type: 'symlink', linkName: 'x' },
    );
  }
  const upper = Array.from({ length: dirs }, (_, i): TestEntry => ({ name: `.wh.d${i}`, content: '' }));
  return { lower, upper };
}

/**
 * `count` entries with PAX names of exactly `bytes` bytes that differ only at the end:
 * long keys that V8 hashes poorly. Symlinks by default, so every walk keeps the names.
 */
export function longSameLengthNames(
  count = 2000,
  bytes = 4096,
  type: 'symlink' | 'file' = 'symlink',
): TestEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `${'n'.repeat(bytes - 6)}${String(i).padStart(6, '0')}`,
    longName: 'pax' as const,
    ...(type === 'symlink' ? { type: 'symlink' as const, linkName: 'x' } : { content: 'x' }),
  }));
}

/**
 * A 64-bit little-endian ELF whose section table has `sections` headers of
 * `entrySize` bytes, every name pointing into `tail` bytes of 'A' with no NUL:
 * a name lookup that searches for the terminator scans the whole tail each time.
 * With entrySize 0 every index reads the one header written.
 */
export function hostileElf(sections = 65_535, entrySize = 64, tail = 4 * MiB): Buffer {
  const written = entrySize === 0 ? 1 : sections;
  const tableBytes = written * Math.max(entrySize, 64);
  const elf = Buffer.alloc(64 + tableBytes + tail, 0);
  elf.write('\x7fELF', 0, 'latin1');
  elf[4] = 2;
  elf[5] = 1;
  elf[6] = 1;
  elf.writeBigUInt64LE(64n, 0x28);
  elf.writeUInt16LE(entrySize, 0x3a);
  elf.writeUInt16LE(sections, 0x3c);
  elf.writeUInt16LE(0, 0x3e);
  const tailStart = 64 + tableBytes;
  elf.fill(0x41, tailStart);
  for (let i = 0; i < written; i++) {
    const at = 64 + i * Math.max(entrySize, 64);
    elf.writeUInt32LE(i % 1000, at); // sh_name
    elf.writeBigUInt64LE(BigInt(tailStart), at + 0x18); // sh_offset
    elf.writeBigUInt64LE(BigInt(tail), at + 0x20); // sh_size
  }
  return elf;
}

/** An SQLite database written by `build`, as bytes (what an image ships as rpmdb.sqlite). */
export function sqliteFile(build: (db: DatabaseSync) => void): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-test-rpmdb-'));
  try {
    const path = join(dir, 'rpmdb.sqlite');
    const db = new DatabaseSync(path);
    build(db);
    db.close();
    return readFileSync(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An rpmdb whose Packages is a view over a recursive CTE: SQLite would count forever. */
export function recursiveViewRpmdb(): Buffer {
  return sqliteFile((d) =>
    d.exec(`CREATE VIEW Packages AS
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
      SELECT i AS hnum, zeroblob(1000) AS blob FROM n WHERE i < 0`),
  );
}

/** An rpmdb whose blob column is generated as zeroblob(900000000): 900 MB allocated per row read. */
export function zeroblobRpmdb(rows = 4): Buffer {
  return sqliteFile((d) => {
    d.exec(
      'CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB GENERATED ALWAYS AS (zeroblob(900000000)) VIRTUAL)',
    );
    d.exec(
      `INSERT INTO Packages (hnum) VALUES ${Array.from({ length: rows }, (_, i) => `(${i + 1})`).join(', ')}`,
    );
  });
}

/** A dpkg status file of at least `minBytes`: about 20,000 installed packages per MiB. */
export function forgedDpkgStatus(minBytes = 60 * MiB): Buffer {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < minBytes; i++) {
    const entry = `Package: p${i}\nStatus: install ok installed\nVersion: 1\n\n`;
    parts.push(entry);
    size += entry.length;
  }
  return Buffer.from(parts.join(''));
}

/**
 * 120 KB env values shaped after the secret patterns' prefixes: a backtracking
 * matcher over any of them takes seconds to hours.
 */
export const BACKTRACKING_ENV_VALUES: Readonly<Record<string, string>> = Object.freeze({
  letters: 'a'.repeat(120_000),
  'JWT prefixes': 'eyJ'.repeat(40_000),
  'JWT segments': 'eyJaaaaaaaaaaaa.eyJ.'.repeat(6_000),
  'URL schemes': 'a://b:'.repeat(20_000),
  'key headers': '-----BEGIN '.repeat(11_000),
  'token prefixes': 'ghp_'.repeat(30_000),
});

/** A GNU sparse header ('S') whose real size claims `realSize` bytes while storing `stored`. */
export function sparseEntry(name: string, realSize: number, stored: Buffer): Buffer {
  const h = tarHeader({ name, typeflag: 'S', size: stored.length, gnu: true });
  // First sparse map entry (offset, numbytes) at 386, real size at 483: 11 octal digits + NUL
  // do not fit 10 GB, so GNU base-256 is used for the real size.
  h.write(`${(realSize - stored.length).toString(8).padStart(11, '0')}\0`, 386, 'latin1');
  h.write(`${stored.length.toString(8).padStart(11, '0')}\0`, 398, 'latin1');
  h.fill(0, 483, 495);
  h[483] = 0x80;
  let v = BigInt(realSize);
  for (let i = 494; i > 483; i--) {
    h[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const pad = Buffer.alloc((512 - (stored.length % 512)) % 512);
  return Buffer.concat([h, stored, pad]);
}

/** A gzip (level 1) tar of `count` empty files, generated as a stream: never held uncompressed. */
export async function manyEntriesLayer(count: number): Promise<Buffer> {
  const template = tarHeader({ name: 'f/0000000', typeflag: '0', size: 0 });
  template.fill(0x20, 148, 156);
  let base = 0;
  for (const b of template) base += b;
  const digitsBase = 7 * 0x30;
  function* blocks(): Generator<Buffer> {
    const perChunk = 2048;
    for (let start = 0; start < count; start += perChunk) {
      const n = Math.min(perChunk, count - start);
      const chunk = Buffer.alloc(n * 512);
      for (let i = 0; i < n; i++) {
        const h = chunk.subarray(i * 512, (i + 1) * 512);
        template.copy(h);
        const digits = String(start + i).padStart(7, '0');
        h.write(digits, 2, 'latin1');
        let sum = base - digitsBase;
        for (let d = 0; d < 7; d++) sum += digits.charCodeAt(d);
        h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
      }
      yield chunk;
    }
    yield Buffer.alloc(1024);
  }
  const gzip = Readable.from(blocks()).pipe(createGzip({ level: 1 }));
  const out: Buffer[] = [];
  for await (const c of gzip) out.push(c as Buffer);
  return Buffer.concat(out);
}
