// Files built to make an analyzer spin, allocate or backtrack: an ELF section table,
// an rpmdb that SQLite would execute, env values for the secret patterns.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import { MAX_ELF_SECTIONS, elfSection, goBinaryAnalyzer } from '../../../src/sbom/analyzers/go-binary.js';
import { analyzeFile } from '../../../src/sbom/analyzers/index.js';
import { MAX_RPM_HEADER_BYTES, MAX_RPM_PACKAGES, rpmAnalyzer } from '../../../src/sbom/analyzers/rpm.js';
import { secretEnvKeys } from '../../../src/sbom/image-config.js';
import { RPMTAG } from '../../../src/sbom/analyzers/rpm-header.js';
import { encodeRpmHeader } from './rpm-encoder.js';

function cpuMs<T>(run: () => T): { value: T; ms: number } {
  const start = process.cpuUsage();
  const value = run();
  const used = process.cpuUsage(start);
  return { value, ms: (used.user + used.system) / 1000 };
}

/**
 * A 64-bit little-endian ELF whose section table has `sections` headers of
 * `entrySize` bytes, every name pointing into `tail` bytes of 'A' with no NUL:
 * a name lookup that searches for the terminator scans the whole tail each time.
 * With entrySize 0 every index reads the one header written.
 */
function hostileElf(sections: number, entrySize: number, tail: number): Buffer {
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

function analyzeElf(content: Buffer): { packages: number; errors: string[] } {
  const out = analyzeFile([goBinaryAnalyzer], {
    path: 'usr/bin/tool',
    size: content.length,
    mode: 0o755,
    content,
  });
  return { packages: out.packages.length, errors: out.errors ?? [] };
}

describe('hostile ELF section tables', () => {
  it('refuses 65,535 sections quickly, naming the limit', () => {
    const elf = hostileElf(65_535, 64, 4 * 1024 * 1024);
    const { value, ms } = cpuMs(() => analyzeElf(elf));
    assert.equal(value.packages, 0);
    assert.equal(value.errors.length, 1);
    assert.match(value.errors[0] ?? '', /65535 sections, over the limit of 4096 \(MAX_ELF_SECTIONS\)/);
    assert.ok(ms < 500, `took ${ms} ms of CPU`);
  });

  it(`reads a table of ${MAX_ELF_SECTIONS} sections once, without rescanning the file per section`, () => {
    const elf = hostileElf(MAX_ELF_SECTIONS, 64, 32 * 1024 * 1024);
    const { value, ms } = cpuMs(() => elfSection(elf, '.go.buildinfo'));
    assert.equal(value, undefined);
    assert.ok(ms < 500, `took ${ms} ms of CPU`);
  });

  it('refuses a section header size below the 64 bytes of a section header', () => {
    const elf = hostileElf(60_000, 0, 64 * 1024 * 1024);
    const { value, ms } = cpuMs(() => analyzeElf(elf));
    assert.match(value.errors[0] ?? '', /e_shentsize=0 is below the 64 bytes of a section header/);
    assert.ok(ms < 500, `took ${ms} ms of CPU`);
  });
});

/** An rpmdb.sqlite written by `build`, as bytes. */
function rpmdb(build: (db: DatabaseSync) => void): Buffer {
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

function analyzeRpmdb(content: Buffer): { packages: string[]; errors: string[] } {
  const out = analyzeFile([rpmAnalyzer], {
    path: 'var/lib/rpm/rpmdb.sqlite',
    size: content.length,
    mode: 0o644,
    content,
  });
  return { packages: out.packages.map((p) => p.name), errors: out.errors ?? [] };
}

const bash = encodeRpmHeader({
  [RPMTAG.NAME]: { string: 'bash' },
  [RPMTAG.VERSION]: { string: '5.1.8' },
  [RPMTAG.RELEASE]: { string: '6.el9' },
});

describe('hostile rpmdb.sqlite', () => {
  it('refuses a Packages view over a recursive CTE at once', () => {
    const db = rpmdb((d) =>
      d.exec(`CREATE VIEW Packages AS
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
        SELECT i AS hnum, zeroblob(1000) AS blob FROM n WHERE i < 0`),
    );
    const { value, ms } = cpuMs(() => analyzeRpmdb(db));
    assert.deepEqual(value.packages, []);
    assert.match(
      value.errors[0] ?? '',
      /^rpm: \/var\/lib\/rpm\/rpmdb.sqlite: rpmdb Packages is not a plain table \(view\)/,
    );
    assert.ok(ms < 500, `took ${ms} ms of CPU`);
  });

  it('refuses a blob column generated as zeroblob(900000000) without allocating it', () => {
    const db = rpmdb((d) => {
      d.exec(
        'CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB GENERATED ALWAYS AS (zeroblob(900000000)) VIRTUAL)',
      );
      d.exec('INSERT INTO Packages (hnum) VALUES (1), (2), (3), (4)');
    });
    const { value, ms } = cpuMs(() => analyzeRpmdb(db));
    assert.match(value.errors[0] ?? '', /Packages.blob is a generated column/);
    assert.ok(ms < 500, `took ${ms} ms of CPU`);
  });

  it('refuses a stored zeroblob header over the size limit, checked before it is read', () => {
    const db = rpmdb((d) => {
      d.exec('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)');
      d.prepare('INSERT INTO Packages (blob) VALUES (?)').run(bash);
      d.exec(`INSERT INTO Packages (blob) VALUES (zeroblob(${MAX_RPM_HEADER_BYTES + 1}))`);
    });
    const { errors } = analyzeRpmdb(db);
    assert.match(
      errors[0] ?? '',
      /16777217-byte package header, over the limit of 16777216 \(MAX_RPM_HEADER_BYTES\)/,
    );
  });

  it(`refuses more than ${MAX_RPM_PACKAGES} rows`, () => {
    const db = rpmdb((d) => {
      d.exec('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)');
      d.exec(`INSERT INTO Packages (blob)
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT ${MAX_RPM_PACKAGES + 10})
        SELECT zeroblob(8) FROM n`);
    });
    const { errors } = analyzeRpmdb(db);
    assert.match(errors[0] ?? '', /more than 50000 packages \(MAX_RPM_PACKAGES\)/);
  });

  it('refuses a trigger in the schema, which rpm never writes', () => {
    const db = rpmdb((d) => {
      d.exec('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)');
      d.exec('CREATE TABLE Log (x)');
      d.exec('CREATE TRIGGER t AFTER INSERT ON Packages BEGIN INSERT INTO Log VALUES (1); END');
    });
    assert.match(analyzeRpmdb(db).errors[0] ?? '', /schema has a trigger \(t\)/);
  });

  it('still reads the plain table rpm writes', () => {
    const db = rpmdb((d) => {
      d.exec(
        "CREATE TABLE IF NOT EXISTS 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL)",
      );
      d.exec(
        "CREATE TABLE IF NOT EXISTS 'Name' (key 'TEXT' NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum))",
      );
      d.exec("CREATE INDEX 'Name_key_idx' ON 'Name'(key ASC)");
      d.prepare('INSERT INTO Packages (blob) VALUES (?)').run(bash);
    });
    assert.deepEqual(analyzeRpmdb(db), { packages: ['bash'], errors: [] });
  });
});

describe('secret patterns over hostile env values', () => {
  const shapes: Record<string, string> = {
    letters: 'a'.repeat(120_000),
    'JWT prefixes': 'eyJ'.repeat(40_000),
    'JWT segments': 'eyJaaaaaaaaaaaa.eyJ.'.repeat(6_000),
    'URL schemes': 'a://b:'.repeat(20_000),
    'key headers': '-----BEGIN '.repeat(11_000),
    'token prefixes': 'ghp_'.repeat(30_000),
  };
  for (const [shape, value] of Object.entries(shapes)) {
    it(`analyses a 120 KB value of ${shape} in milliseconds`, () => {
      const { value: keys, ms } = cpuMs(() => secretEnvKeys([`HARMLESS=${value}`]));
      assert.deepEqual(keys, []);
      assert.ok(ms < 100, `took ${ms} ms of CPU`);
    });
  }

  it('still finds credentials at the start of a long value', () => {
    const jwt = `eyJ${'a'.repeat(20)}.eyJ${'b'.repeat(20)}.${'c'.repeat(20)}`;
    assert.deepEqual(
      secretEnvKeys([`A=${jwt} ${'x'.repeat(120_000)}`, `B=https://u:p@h/ ${'y'.repeat(120_000)}`]),
      ['A', 'B'],
    );
  });
});
