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
import { AnalyzerLimitError } from './analyzer.js';
import type { Analyzer, AnalyzerOutput } from './analyzer.js';
import { RPMTAG, parseRpmHeader, parseSourceRpm } from './rpm-header.js';

const PATHS = new Set(['var/lib/rpm/rpmdb.sqlite', 'usr/lib/sysimage/rpm/rpmdb.sqlite']);
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

export const rpmAnalyzer: Analyzer = {
  name: 'rpm',
  version: 4,
  packageDatabase: true,
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

/** Most rows read from Packages; a full Fedora install has a few thousand. */
export const MAX_RPM_PACKAGES = 50_000;
/** Largest header blob read; the largest real ones (file lists of big packages) are a few MiB. */
export const MAX_RPM_HEADER_BYTES = 16 * 1024 * 1024;

/**
 * The header blobs of the Packages table. The database comes from the image, and
 * SQLite executes what its schema says: a `Packages` VIEW over a recursive CTE never
 * ends, and a generated column of zeroblob(900000000) allocates on every read. So
 * only a plain table with a stored `blob` column is read, nothing but that table and
 * length() may be touched (an authorizer, which also refuses recursive queries),
 * blob sizes are checked in SQL before a blob is materialised, and rows are capped
 * by LIMIT. node:sqlite has no progress handler; with these rules the query is one
 * scan of a table in a file no larger than the walker's per-file limit.
 */
export function readRpmdbSqlite(bytes: Uint8Array): Uint8Array[] {
  const sqlite = requireBuiltin('node:sqlite') as typeof import('node:sqlite');
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-rpmdb-'));
  try {
    const dbPath = join(dir, 'rpmdb.sqlite');
    writeFileSync(dbPath, bytes, { mode: 0o600 });
    const db = new sqlite.DatabaseSync(dbPath, { readOnly: true, allowExtension: false });
    try {
      // Functions in the schema (views, generated columns, triggers) run as untrusted.
      db.exec('PRAGMA trusted_schema = OFF');
      db.enableDefensive(true);
      requirePlainPackagesTable(db);
      const { SQLITE_OK, SQLITE_DENY, SQLITE_SELECT, SQLITE_READ, SQLITE_FUNCTION } = sqlite.constants;
      db.setAuthorizer((action, first, second, _db, viaViewOrTrigger) => {
        if (viaViewOrTrigger !== null) return SQLITE_DENY;
        if (action === SQLITE_SELECT) return SQLITE_OK;
        if (action === SQLITE_READ && first === 'Packages') return SQLITE_OK;
        if (action === SQLITE_FUNCTION && second === 'length') return SQLITE_OK;
        return SQLITE_DENY;
      });
      const rows = db
        .prepare(
          'SELECT length(blob) AS bytes, CASE WHEN length(blob) <= ? THEN blob END AS blob FROM Packages LIMIT ?',
        )
        .iterate(MAX_RPM_HEADER_BYTES, MAX_RPM_PACKAGES + 1) as Iterable<{ bytes: unknown; blob: unknown }>;
      const blobs: Uint8Array[] = [];
      for (const row of rows) {
        if (blobs.length >= MAX_RPM_PACKAGES) {
          throw new AnalyzerLimitError(
            { name: 'packagesPerFile', value: MAX_RPM_PACKAGES },
            `rpmdb has more than ${MAX_RPM_PACKAGES} packages (MAX_RPM_PACKAGES)`,
          );
        }
        if (typeof row.bytes === 'number' && row.bytes > MAX_RPM_HEADER_BYTES) {
          throw new Error(
            `rpmdb holds a ${row.bytes}-byte package header, over the limit of ${MAX_RPM_HEADER_BYTES} (MAX_RPM_HEADER_BYTES)`,
          );
        }
        if (!(row.blob instanceof Uint8Array)) throw new Error('rpmdb Packages row without a header blob');
        blobs.push(row.blob);
      }
      return blobs;
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Refuses a schema in which reading Packages.blob would run anything but a table scan. */
function requirePlainPackagesTable(db: import('node:sqlite').DatabaseSync): void {
  const objects = db
    .prepare("SELECT type, name, sql FROM sqlite_schema WHERE type IN ('table', 'view', 'trigger')")
    .all() as Array<{ type: string; name: string; sql: string | null }>;
  const packages = objects.filter((o) => o.name.toLowerCase() === 'packages');
  const shown = packages.map((o) => o.type).join(', ') || 'missing';
  if (packages.length !== 1 || packages[0]?.type !== 'table') {
    throw new Error(`rpmdb Packages is not a plain table (${shown})`);
  }
  if (!/^\s*CREATE\s+TABLE\b/i.test(packages[0].sql ?? '')) {
    throw new Error('rpmdb Packages is a virtual table, not a plain table');
  }
  // rpm's own schema has neither; either could only be there to run code.
  const code = objects.find((o) => o.type === 'view' || o.type === 'trigger');
  if (code !== undefined) throw new Error(`rpmdb schema has a ${code.type} (${code.name}); rpm writes none`);
  // hidden: 0 ordinary, 2 generated on every read (VIRTUAL), 3 generated when written (STORED).
  const columns = db.prepare("SELECT name, hidden FROM pragma_table_xinfo('Packages')").all() as Array<{
    name: string;
    hidden: number;
  }>;
  const blob = columns.find((c) => c.name.toLowerCase() === 'blob');
  if (blob === undefined) throw new Error('rpmdb Packages has no blob column');
  if (blob.hidden !== 0) throw new Error('rpmdb Packages.blob is a generated column, not stored data');
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
