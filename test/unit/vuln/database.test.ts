// Loading OSV data (directories, the real Go and PyPI bulk zips, hostile zips)
// and matching inventories against it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';

import type { ImageInventory, InventoryPackage, OsInfo } from '../../../src/sbom/types.js';
import { VulnerabilityDatabase, normalizePackageName } from '../../../src/vuln/database.js';
import { matchInventory } from '../../../src/vuln/match.js';
import { REPO_ROOT, osvSnapshotDir } from './reference-tools.js';

const OSV = osvSnapshotDir();
const FIXTURES = join(REPO_ROOT, 'test/fixtures/vuln/advisories');

function inventory(os: OsInfo | undefined, packages: Partial<InventoryPackage>[]): ImageInventory {
  return {
    kind: 'ImageInventory',
    ...(os !== undefined ? { os } : {}),
    packages: packages.map((p) => ({
      name: 'x',
      version: '0',
      ecosystem: 'npm',
      location: '/x',
      purl: `pkg:${p.ecosystem ?? 'npm'}/${p.name ?? 'x'}@${p.version ?? '0'}`,
      layerDigest: 'sha256:0',
      ...p,
    })) as InventoryPackage[],
    facts: {} as ImageInventory['facts'],
    layers: [],
    analyzerVersion: 'test',
    warnings: [],
  };
}

/** A minimal stored-entry zip writer, enough to build hostile archives. */
function zipOf(entries: { name: string; data: Buffer; declaredSize?: number }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const compressed = deflateRawSync(e.data);
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(0, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(e.declaredSize ?? e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(0, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(e.declaredSize ?? e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += 30 + name.length + compressed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

describe('vulnerability database', function () {
  this.timeout(30_000);

  it('normalises PyPI names by PEP 503 and leaves Go module paths as written', () => {
    assert.equal(normalizePackageName('PyPI', 'Zope.Interface__x'), 'zope-interface-x');
    assert.equal(normalizePackageName('Go', 'github.com/BurntSushi/toml'), 'github.com/BurntSushi/toml');
  });

  it('loads a directory, skipping and counting malformed advisories and dropping withdrawn ones', async () => {
    const db = new VulnerabilityDatabase();
    assert.equal(await db.loadDirectory(FIXTURES), undefined);
    assert.equal(db.summary.loaded, 5);
    assert.equal(db.summary.withdrawn, 1);
    assert.equal(db.summary.skippedCount, 2);
    assert.deepEqual(db.summary.skipped.map((s) => s.source.split('/').pop()).sort(), [
      'BROKEN-1.json',
      'TRUNCATED.json',
    ]);
    assert.match(
      db.summary.skipped.find((s) => s.source.endsWith('BROKEN-1.json'))!.reason,
      /BROKEN-1: affected\[0\]\.package needs ecosystem and name/,
    );
  });

  it('loads the real Go and PyPI bulk zips and matches old requests, a Go module and the Go stdlib', async function () {
    const db = new VulnerabilityDatabase();
    const goError = await db.loadZip(join(OSV, 'Go/all.zip'));
    const pypiError = await db.loadZip(join(OSV, 'PyPI/all.zip'));
    assert.equal(goError, undefined);
    assert.equal(pypiError, undefined);
    console.log(
      `      loaded ${db.summary.loaded}, withdrawn ${db.summary.withdrawn}, skipped ${db.summary.skipped.length}`,
    );
    assert.equal(
      db.summary.withdrawn,
      17 + 10,
      'withdrawn: 17 in the Go snapshot, 10 in PyPI (counted with python zipfile)',
    );
    assert.equal(db.summary.loaded + db.summary.withdrawn + db.summary.skippedCount, 4291 + 2661);
    const findings = matchInventory(
      inventory(undefined, [
        { name: 'Requests', version: '2.19.0', ecosystem: 'pypi' },
        { name: 'stdlib', version: '1.16', ecosystem: 'golang' },
        { name: 'golang.org/x/net', version: 'v0.0.0-20200202094626-16171245cfb2', ecosystem: 'golang' },
        { name: 'requests', version: '2.32.3', ecosystem: 'pypi' },
      ]),
      db,
    );
    const requests = findings
      .filter((f) => f.package.name === 'Requests')
      .map((f) => f.id)
      .sort();
    assert.ok(requests.includes('CVE-2018-18074'), requests.join(','));
    assert.ok(requests.includes('CVE-2023-32681'));
    assert.ok(!requests.includes('CVE-2014-1829'), 'fixed in 2.3.0');
    const cve2018 = findings.find((f) => f.id === 'CVE-2018-18074')!;
    assert.ok(cve2018.aliases.includes('PYSEC-2018-28') && cve2018.aliases.includes('GHSA-x84v-xcm2-53pg'));
    assert.deepEqual(cve2018.fixedVersions, ['2.20.0']);
    assert.equal(
      findings.filter((f) => f.id === 'CVE-2018-18074').length,
      1,
      'PYSEC and GHSA of one flaw are one finding',
    );
    assert.ok(findings.some((f) => f.package.name === 'stdlib' && f.aliases.includes('GO-2021-0067')));
    assert.ok(findings.some((f) => f.package.name === 'golang.org/x/net'));
    assert.ok(!findings.some((f) => f.installedVersion === '2.32.3' && f.id === 'CVE-2023-32681'));
  });

  it('matches distro packages by source package under the release from the OS', async () => {
    const db = new VulnerabilityDatabase();
    await db.loadDirectory(FIXTURES);
    const debian = matchInventory(
      inventory({ id: 'debian', versionId: '12', source: '/etc/os-release' }, [
        {
          name: 'libssl3',
          sourceName: 'openssl',
          version: '3.0.11-1~deb12u1',
          sourceVersion: '3.0.11-1~deb12u1',
          ecosystem: 'deb',
        },
        { name: 'openssl', version: '3.0.11-1~deb12u2', ecosystem: 'deb' },
      ]),
      db,
    );
    assert.deepEqual(
      debian.map((f) => [f.package.name, f.id, f.severity.level]),
      [
        ['openssl', 'CVE-2023-0001', 'CRITICAL'],
        ['openssl', 'DSA-5500-1', 'UNKNOWN'],
      ],
    );
    assert.ok(debian[0]!.aliases.includes('DEBIAN-CVE-2023-0001'));
    const point = matchInventory(
      inventory({ id: 'debian', versionId: '12.5', source: '/etc/debian_version' }, [
        { name: 'openssl', version: '3.0.11-1~deb12u1', ecosystem: 'deb' },
      ]),
      db,
    );
    assert.equal(point.length, 2, 'a point release 12.5 looks advisories up under Debian:12');
    const sid = matchInventory(
      inventory({ id: 'debian', versionId: 'trixie/sid', source: '/etc/debian_version' }, [
        { name: 'openssl', version: '3.0.11-1~deb12u1', ecosystem: 'deb' },
      ]),
      db,
    );
    assert.deepEqual(sid, [], 'testing has no numbered release');
    const ubuntu = matchInventory(
      inventory({ id: 'ubuntu', versionId: '22.04', source: '/etc/os-release' }, [
        { name: 'zlib1g', sourceName: 'zlib', version: '1:1.2.11.dfsg-2ubuntu9.2', ecosystem: 'deb' },
      ]),
      db,
    );
    assert.deepEqual(
      ubuntu.map((f) => [f.id, f.severity.level, f.severity.source]),
      [['CVE-2024-0002', 'MEDIUM', 'Ubuntu']],
    );
    const alpine = matchInventory(
      inventory({ id: 'alpine', versionId: '3.20.3', source: '/etc/os-release' }, [
        { name: 'ssl_client', sourceName: 'busybox', version: '1.36.1-r28', ecosystem: 'apk' },
        { name: 'busybox', version: '1.36.1-r29', ecosystem: 'apk' },
      ]),
      db,
    );
    assert.deepEqual(
      alpine.map((f) => [f.package.name, f.installedVersion, f.id]),
      [['busybox', '1.36.1-r28', 'CVE-2024-0003']],
    );
    const npm = matchInventory(
      inventory(undefined, [{ name: 'lodash', version: '4.17.20', ecosystem: 'npm' }]),
      db,
    );
    assert.deepEqual(
      npm.map((f) => [f.id, f.severity.level]),
      [['CVE-2024-0004', 'HIGH']],
    );
  });

  it('merges advisories into one finding when a later one links them through aliases', () => {
    const db = new VulnerabilityDatabase();
    const affected = [
      {
        package: { ecosystem: 'npm', name: 'left-pad' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '2.0.0' }] }],
      },
    ];
    db.addDocument({ id: 'GHSA-1', aliases: ['CVE-2024-1'], affected }, 'a');
    db.addDocument(
      {
        id: 'OSV-2',
        aliases: ['GHSA-9'],
        affected,
        severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
      },
      'b',
    );
    db.addDocument({ id: 'PYSEC-3', aliases: ['CVE-2024-1', 'GHSA-9'], affected }, 'c');
    db.addDocument({ id: 'GHSA-4', aliases: ['CVE-2024-4'], affected }, 'd');
    const findings = matchInventory(
      inventory(undefined, [{ name: 'left-pad', version: '1.0.0', ecosystem: 'npm' }]),
      db,
    );
    assert.deepEqual(
      findings.map((f) => [f.id, f.aliases, f.severity.level]),
      [
        ['CVE-2024-1', ['GHSA-1', 'GHSA-9', 'OSV-2', 'PYSEC-3'], 'CRITICAL'],
        ['CVE-2024-4', ['GHSA-4'], 'UNKNOWN'],
      ],
    );
  });

  it('refuses a zip listing more entries than allowed and skips an entry that inflates past its limit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'osv-zip-'));
    try {
      const many = join(dir, 'many.zip');
      writeFileSync(
        many,
        zipOf(Array.from({ length: 5 }, (_, i) => ({ name: `A-${i}.json`, data: Buffer.from('{}') }))),
      );
      const db = new VulnerabilityDatabase();
      const error = await db.loadZip(many, { maxEntries: 4, maxEntryBytes: 1024, maxTotalBytes: 1 << 20 });
      assert.equal(error?.reason, 'TooManyEntries');
      const notZip = join(dir, 'not.zip');
      writeFileSync(notZip, 'PK but not really a zip archive');
      const error3 = await new VulnerabilityDatabase().loadZip(notZip);
      assert.equal(error3?.reason, 'Unreadable');
      assert.match(error3.message, /not\.zip as zip/);
      const bomb = join(dir, 'bomb.zip');
      const good = Buffer.from(JSON.stringify({ id: 'GOOD-1', affected: [] }));
      // Declares 10 bytes but inflates to 50 MB of zeros: must stop at the limit, not allocate it all.
      writeFileSync(
        bomb,
        zipOf([
          { name: 'BOMB.json', data: Buffer.alloc(50 * 1024 * 1024), declaredSize: 10 },
          { name: 'GOOD-1.json', data: good },
        ]),
      );
      const db2 = new VulnerabilityDatabase();
      const error2 = await db2.loadZip(bomb, {
        maxEntries: 10,
        maxEntryBytes: 1024 * 1024,
        maxTotalBytes: 1 << 30,
      });
      assert.equal(error2, undefined);
      assert.equal(db2.summary.loaded, 1);
      assert.equal(db2.summary.skipped.length, 1);
      assert.match(db2.summary.skipped[0]!.reason, /inflates past 1048576 bytes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
