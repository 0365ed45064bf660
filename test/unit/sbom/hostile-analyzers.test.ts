// Files built to make an analyzer spin, allocate or backtrack: an ELF section table,
// an rpmdb that SQLite would execute, env values for the secret patterns.
import assert from 'node:assert/strict';

import { MAX_ELF_SECTIONS, elfSection, goBinaryAnalyzer } from '../../../src/sbom/analyzers/go-binary.js';
import { analyzeFile } from '../../../src/sbom/analyzers/index.js';
import { MAX_RPM_HEADER_BYTES, MAX_RPM_PACKAGES, rpmAnalyzer } from '../../../src/sbom/analyzers/rpm.js';
import { secretEnvKeys } from '../../../src/sbom/image-config.js';
import { RPMTAG } from '../../../src/sbom/analyzers/rpm-header.js';
import { apkAnalyzer, MAX_APK_PACKAGES } from '../../../src/sbom/analyzers/apk.js';
import { dpkgAnalyzer, MAX_DPKG_PACKAGES } from '../../../src/sbom/analyzers/dpkg.js';
import {
  BACKTRACKING_ENV_VALUES,
  forgedDpkgStatus,
  hostileElf,
  recursiveViewRpmdb,
  sqliteFile as rpmdb,
  zeroblobRpmdb,
} from '../../support/hostile-layers.js';
import { analyzeImage } from '../../../src/sbom/analyze-image.js';
import { isImageAnalysisError } from '../../../src/sbom/types.js';
import { encodeRpmHeader } from './rpm-encoder.js';
import { layerOf } from './tar-writer.js';

function cpuMs<T>(run: () => T): { value: T; ms: number } {
  const start = process.cpuUsage();
  const value = run();
  const used = process.cpuUsage(start);
  return { value, ms: (used.user + used.system) / 1000 };
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
    const db = recursiveViewRpmdb();
    const { value, ms } = cpuMs(() => analyzeRpmdb(db));
    assert.deepEqual(value.packages, []);
    assert.match(
      value.errors[0] ?? '',
      /^rpm: \/var\/lib\/rpm\/rpmdb.sqlite: rpmdb Packages is not a plain table \(view\)/,
    );
    assert.ok(ms < 500, `took ${ms} ms of CPU`);
  });

  it('refuses a blob column generated as zeroblob(900000000) without allocating it', () => {
    const db = zeroblobRpmdb();
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

  it('fails the image on a refused rpmdb, naming the file and the rule, instead of 0 packages', async () => {
    const layers = [
      layerOf([{ name: 'var/lib/rpm/rpmdb.sqlite', content: recursiveViewRpmdb() }], 'none'),
      layerOf([{ name: 'usr/bin/tool', content: '#!/bin/sh\n', mode: 0o755 }], 'none'),
    ];
    const result = await analyzeImage({ layers, config: { architecture: 'amd64', os: 'linux' } });
    if (!isImageAnalysisError(result)) assert.fail(`analysed with ${result.packages.length} packages`);
    assert.equal(result.reason, 'UnreadablePackageDatabase');
    assert.equal(result.path, '/var/lib/rpm/rpmdb.sqlite');
    assert.equal(result.layer?.index, 0);
    assert.match(
      result.message,
      /rpm: \/var\/lib\/rpm\/rpmdb.sqlite: rpmdb Packages is not a plain table \(view\)/,
    );
    assert.match(result.message, /package inventory is unknown/);
  });

  it('does not fail the image on a refused rpmdb a later layer deleted', async () => {
    const layers = [
      layerOf([{ name: 'var/lib/rpm/rpmdb.sqlite', content: zeroblobRpmdb() }], 'none'),
      layerOf([{ name: 'var/lib/rpm/.wh.rpmdb.sqlite' }], 'none'),
    ];
    const result = await analyzeImage({ layers, config: { architecture: 'amd64', os: 'linux' } });
    assert.ok(!isImageAnalysisError(result), isImageAnalysisError(result) ? result.message : '');
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
  for (const [shape, value] of Object.entries(BACKTRACKING_ENV_VALUES)) {
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

describe('a forged dpkg database', () => {
  function analyzeStatus(content: Buffer): ReturnType<typeof analyzeFile> {
    return analyzeFile([dpkgAnalyzer], {
      path: 'var/lib/dpkg/status',
      size: content.length,
      mode: 0o644,
      content,
    });
  }

  it(`stops after ${MAX_DPKG_PACKAGES} packages with a limit, not a smaller inventory`, () => {
    // 150,000 stanzas in about 7 MiB: well inside the per-file limit, over the package cap.
    const status = forgedDpkgStatus(150_000 * 45);
    const { value, ms } = cpuMs(() => analyzeStatus(status));
    assert.deepEqual(value.packages, []);
    assert.deepEqual(
      { name: value.limit?.name, value: value.limit?.value },
      { name: 'packagesPerFile', value: MAX_DPKG_PACKAGES },
    );
    assert.match(
      value.limit?.message ?? '',
      /dpkg: \/var\/lib\/dpkg\/status: .*more than 100000 packages \(MAX_DPKG_PACKAGES\)/,
    );
    assert.ok(ms < 2000, `took ${ms} ms of CPU`);
  });

  it('still reads every package of a status file under the cap', () => {
    const status = forgedDpkgStatus(2 * 1024 * 1024);
    const stanzas = status.toString().split('Package: ').length - 1;
    const { packages, limit } = analyzeStatus(status);
    assert.equal(limit, undefined);
    assert.ok(stanzas > 30_000 && stanzas < MAX_DPKG_PACKAGES, `${stanzas}`);
    assert.equal(packages.length, stanzas);
    assert.deepEqual(packages[0], {
      name: 'p0',
      version: '1',
      ecosystem: 'deb',
      location: '/var/lib/dpkg/status',
      sourceName: 'p0',
      sourceVersion: '1',
    });
  });
});

describe('a forged apk database', () => {
  const installed = (records: number): Buffer =>
    Buffer.from(
      Array.from({ length: records }, (_, i) => `P:p${i}\nV:1-r0\nA:x86_64\nF:usr/bin\nR:p${i}\n`).join('\n'),
    );
  const analyzeApk = (content: Buffer): ReturnType<typeof analyzeFile> =>
    analyzeFile([apkAnalyzer], { path: 'lib/apk/db/installed', size: content.length, mode: 0o644, content });

  it(`stops after ${MAX_APK_PACKAGES} packages with a limit, not a smaller inventory`, () => {
    const { value, ms } = cpuMs(() => analyzeApk(installed(MAX_APK_PACKAGES + 1)));
    assert.deepEqual(value.packages, []);
    assert.deepEqual(
      { name: value.limit?.name, value: value.limit?.value },
      { name: 'packagesPerFile', value: MAX_APK_PACKAGES },
    );
    assert.match(value.limit?.message ?? '', /apk: \/lib\/apk\/db\/installed: .*\(MAX_APK_PACKAGES\)/);
    assert.ok(ms < 2000, `took ${ms} ms of CPU`);
  });

  it('reads every package of a database at the cap', () => {
    const { packages, limit } = analyzeApk(installed(MAX_APK_PACKAGES));
    assert.equal(limit, undefined);
    assert.equal(packages.length, MAX_APK_PACKAGES);
    assert.deepEqual(packages.at(-1), {
      name: `p${MAX_APK_PACKAGES - 1}`,
      version: '1-r0',
      ecosystem: 'apk',
      arch: 'x86_64',
      location: '/lib/apk/db/installed',
      sourceName: `p${MAX_APK_PACKAGES - 1}`,
      sourceVersion: '1-r0',
    });
  });
});
