// RPM packages from the SQLite rpmdb (var/lib/rpm/rpmdb.sqlite, and the
// usr/lib/sysimage/rpm location of newer Fedora/SUSE). node:sqlite cannot open a
// database from memory in Node 24 (no deserialize), so the bytes go to a private
// temp file that is removed as soon as the rows are read: the one I/O in an
// otherwise pure analyzer. BerkeleyDB (CentOS 7/8 `Packages`) and NDB
// (`Packages.db`) databases are not read.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { DetectedPackage } from '../types.js';
import type { Analyzer, AnalyzerOutput } from './analyzer.js';
import { RPMTAG, parseRpmHeader, parseSourceRpm } from './rpm-header.js';

const PATHS = new Set(['var/lib/rpm/rpmdb.sqlite', 'usr/lib/sysimage/rpm/rpmdb.sqlite']);
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

export const rpmAnalyzer: Analyzer = {
  name: 'rpm',
  version: 1,
  wants: (path) => PATHS.has(path),
  analyze(file): AnalyzerOutput {
    if (!file.content.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) {
      throw new Error('not an SQLite database (BerkeleyDB and NDB rpmdbs are not read)');
    }
    const packages = readRpmdbSqlite(file.content).map((blob) => rpmPackageFromHeader(blob, file.path));
    // Imported signing keys are stored as pseudo-packages; they are not software.
    return { packages: packages.filter((p) => p.name !== 'gpg-pubkey') };
  },
};

// node:sqlite is loaded only when an image has an rpmdb: loading it prints an
// ExperimentalWarning, which would otherwise land on every CLI's stderr.
const requireBuiltin = createRequire(import.meta.url);

/** The header blobs of the Packages table. */
export function readRpmdbSqlite(bytes: Uint8Array): Uint8Array[] {
  const { DatabaseSync } = requireBuiltin('node:sqlite') as typeof import('node:sqlite');
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-rpmdb-'));
  try {
    const dbPath = join(dir, 'rpmdb.sqlite');
    writeFileSync(dbPath, bytes, { mode: 0o600 });
    const db = new DatabaseSync(dbPath, { readOnly: true });
    try {
      const rows = db.prepare('SELECT blob FROM Packages').all() as Array<{ blob: Uint8Array }>;
      return rows.map((r) => r.blob);
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function rpmPackageFromHeader(blob: Uint8Array, location: string): DetectedPackage {
  const h = parseRpmHeader(blob);
  const name = h.string(RPMTAG.NAME);
  const version = h.string(RPMTAG.VERSION);
  const release = h.string(RPMTAG.RELEASE);
  if (name === undefined || version === undefined) throw new Error('rpm header without NAME or VERSION');
  const pkg: DetectedPackage = {
    name,
    version: release === undefined ? version : `${version}-${release}`,
    ecosystem: 'rpm',
    location,
  };
  const epoch = h.int32(RPMTAG.EPOCH);
  if (epoch !== undefined && epoch > 0) pkg.epoch = epoch;
  const arch = h.string(RPMTAG.ARCH);
  if (arch !== undefined) pkg.arch = arch;
  const license = h.string(RPMTAG.LICENSE);
  if (license !== undefined && license !== '') pkg.license = license;
  const source = parseSourceRpm(h.string(RPMTAG.SOURCERPM) ?? '');
  if (source !== undefined) {
    pkg.sourceName = source.name;
    pkg.sourceVersion = `${source.version}-${source.release}`;
  }
  return pkg;
}
