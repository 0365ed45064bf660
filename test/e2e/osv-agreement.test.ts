// Vulnerability agreement with osv-scanner (pinned in hack/tools/osv-scanner),
// the OSV project's own matcher, run offline on the same inputs: each test
// image's CycloneDX SBOM from `shipshape sbom`, and one local database in
// osv-scanner's layout (`<dir>/osv-scalibr/<ecosystem>/all.zip`) that
// Shipshape loads too. Go and PyPI use the real advisories of ../shared/osv
// (the Python and Go images pin versions they affect); Debian, Alpine and npm
// use fixtures written here against the installed versions, covering
// last_affected, limit, withdrawn, aliases and an unfixed entry. Flaws compare
// per image and ecosystem as both / only Shipshape / only osv-scanner; a
// disagreement not listed in KNOWN_DISAGREEMENTS (with its reason) fails.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { ZipWriter } from '../../bench/vuln-zip.js';
import { runSbom } from '../../src/cli/sbom.js';
import { ImageAnalyzer } from '../../src/image/image-analyzer.js';
import { RegistryClient } from '../../src/registry/client.js';
import { TieredInventoryCache } from '../../src/sbom/cache.js';
import type { ImageInventory, InventoryPackage } from '../../src/sbom/types.js';
import { VulnerabilityDatabase } from '../../src/vuln/database.js';
import { matchInventory } from '../../src/vuln/match.js';
import { toolPath } from '../cluster/local-cluster.js';
import { pushImageWith } from '../support/oci-push.js';
import { alpineFixtureImage, debianImage, nodeAppImage, type TestImage } from '../support/images/index.js';
import { cachedDir, layerFromDir, run } from '../support/images/cache.js';
import { manifestMediaType } from '../support/images/expected.js';
import { tar } from '../support/tar.js';
import { osvSnapshotDir } from '../unit/vuln/reference-tools.js';
import { registryHost } from './harness.js';

type Side = 'shipshape' | 'osv-scanner';

interface KnownDisagreement {
  image: string;
  ecosystem: string;
  /** An advisory id of the flaw. */
  id: RegExp;
  reportedBy: Side;
  why: string;
}

/** osv-scanner's local matcher (osv-scalibr enricher/vulnmatch/osvlocal, rangeContainsVersion) acts on these. */
const OSV_SCANNER_LIMIT =
  'osv-scanner evaluates introduced, fixed and last_affected but never looks at a limit event, so a range ' +
  "whose limit lies below the installed version still affects it there; the schema's evaluation (and " +
  'Shipshape) stop the range at its limit';
const OSV_SCANNER_GIT_FIRST =
  'osv-scanner stops at the first GIT range of an entry (rangeAffectsVersion returns false there); the ' +
  'schema says a GIT range is skipped and the ranges after it are still evaluated, as Shipshape does';

const KNOWN_DISAGREEMENTS: KnownDisagreement[] = [
  ...(['debian', 'alpine', 'node app'] as const).flatMap((image): KnownDisagreement[] => {
    const ecosystem = { debian: 'deb', alpine: 'apk', 'node app': 'npm' }[image];
    return [
      { image, ecosystem, id: /-LIMIT-BELOW$/, reportedBy: 'osv-scanner', why: OSV_SCANNER_LIMIT },
      { image, ecosystem, id: /-GIT-FIRST$/, reportedBy: 'shipshape', why: OSV_SCANNER_GIT_FIRST },
    ];
  }),
  {
    image: 'debian',
    ecosystem: 'deb',
    id: /^DEBIAN-SOURCE-/,
    reportedBy: 'shipshape',
    why:
      'the advisory names the source package (Debian advisories do); a CycloneDX SBOM names the binary ' +
      'package in its purl, which is all osv-scanner reads of it, so only a scanner that read the dpkg ' +
      'database (Shipshape) knows the source',
  },
  {
    image: 'alpine',
    ecosystem: 'apk',
    id: /^ALPINE-SOURCE-/,
    reportedBy: 'shipshape',
    why:
      'the advisory names the origin package (Alpine secdb does); the SBOM purl names the subpackage, ' +
      'and osv-scanner matches what the purl names',
  },
];

/** A flaw one side reports: its advisory ids (and aliases, for Shipshape). */
interface Flaw {
  ecosystem: string;
  ids: string[];
}

interface Agreement {
  image: string;
  ecosystem: string;
  both: string[];
  onlyShipshape: string[];
  onlyOsvScanner: string[];
}

/** OSV ecosystem families as the inventory names them. */
const FAMILY: Record<string, string> = {
  Debian: 'deb',
  Ubuntu: 'deb',
  Alpine: 'apk',
  npm: 'npm',
  PyPI: 'pypi',
  Go: 'golang',
  Maven: 'maven',
};

// Requests 2.19.0 and urllib3 1.23 carry several PyPA advisories (CVE-2018-18074, CVE-2023-32681, ...).
const PYTHON_REQUIREMENTS = [
  'requests==2.19.0',
  'urllib3==1.23',
  'idna==2.7',
  'chardet==3.0.4',
  'certifi==2018.4.16',
];
// golang.org/x/text v0.3.7 is affected by GO-2022-1059 (language tag parsing), fixed in v0.3.8.
const GO_MODULE = { path: 'golang.org/x/text', version: 'v0.3.7' };
const SITE = 'usr/local/lib/python3.11/site-packages';

async function vulnerablePythonImage(registry: string): Promise<TestImage> {
  const root = await cachedDir(
    `python-vulnerable-${PYTHON_REQUIREMENTS.join('-').replaceAll('==', '-')}`,
    (dir) =>
      run('pip', [
        'install',
        '--quiet',
        '--no-deps',
        '--no-compile',
        '--only-binary=:all:',
        '--python-version=3.11',
        '--implementation=cp',
        '--abi=cp311',
        '--platform=manylinux2014_x86_64',
        `--target=${join(dir, SITE)}`,
        ...PYTHON_REQUIREMENTS,
      ]).then(() => undefined),
  );
  const pushed = await pushImageWith(registry, 'test/osv-python', 'requests-2.19.0', [
    await layerFromDir(root, ['usr']),
  ]);
  return image(pushed);
}

async function vulnerableGoImage(registry: string): Promise<TestImage> {
  const goEnv = {
    ...process.env,
    GOFLAGS: '-mod=mod',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    GOOS: 'linux',
    GOARCH: 'amd64',
  };
  const toolchain = (await run('go', ['env', 'GOVERSION'])).trim();
  const dir = await cachedDir(`go-osv-${GO_MODULE.version}-${toolchain}`, async (dir) => {
    writeFileSync(join(dir, 'go.mod'), 'module shipshape.dev/osvapp\n\ngo 1.22\n');
    writeFileSync(
      join(dir, 'main.go'),
      'package main\n\nimport (\n\t"fmt"\n\n\t"golang.org/x/text/language"\n)\n\nfunc main() { fmt.Println(language.English) }\n',
    );
    await run('go', ['get', `${GO_MODULE.path}@${GO_MODULE.version}`], { cwd: dir, env: goEnv });
    await run('go', ['build', '-trimpath', '-o', 'app', '.'], { cwd: dir, env: goEnv });
  });
  const layer = tar([
    { path: 'usr/', type: 'dir' },
    { path: 'usr/local/', type: 'dir' },
    { path: 'usr/local/bin/', type: 'dir' },
    { path: 'usr/local/bin/app', content: await readFile(join(dir, 'app')), mode: 0o755 },
  ]);
  return image(await pushImageWith(registry, 'test/osv-go', `text-${GO_MODULE.version}`, [layer]));
}

function image(pushed: Awaited<ReturnType<typeof pushImageWith>>): TestImage {
  return {
    reference: pushed.reference,
    digest: pushed.digest,
    mediaType: manifestMediaType(pushed.manifest),
    expected: { packages: [], absent: [], files: [] },
  };
}

const IMAGES: { label: string; build: (registry: string) => Promise<TestImage> }[] = [
  { label: 'debian', build: (registry) => debianImage(registry) },
  { label: 'alpine', build: (registry) => alpineFixtureImage(registry) },
  { label: 'node app', build: (registry) => nodeAppImage(registry) },
  { label: 'python', build: vulnerablePythonImage },
  { label: 'go binary', build: vulnerableGoImage },
];

/** Per ecosystem, the version strings that sort below and above every installed version. */
const BOUNDS: Record<string, { low: string; high: string; type: 'ECOSYSTEM' | 'SEMVER'; cve: string }> = {
  deb: { low: '0.0.1', high: '99:0', type: 'ECOSYSTEM', cve: 'CVE-2099-1001' },
  apk: { low: '0.0.1-r0', high: '999.0-r0', type: 'ECOSYSTEM', cve: 'CVE-2099-2001' },
  npm: { low: '0.0.1', high: '99.0.0', type: 'SEMVER', cve: 'CVE-2099-3001' },
};

/**
 * Fixture advisories for one package (OSV coordinates: source or origin name
 * for distros): which cases each side must report is asserted after the run.
 */
function fixtures(
  prefix: string,
  ecosystem: string,
  name: string,
  version: string,
  family: string,
): object[] {
  const { low, high, type, cve } = BOUNDS[family]!;
  const entry = (events: object[]): object[] => [
    { package: { ecosystem, name }, ranges: [{ type, events }] },
  ];
  const doc = (id: string, events: object[], extra: object = {}): object => ({
    schema_version: '1.6.0',
    id: `${prefix}-${id}`,
    modified: '2026-01-01T00:00:00Z',
    summary: `fixture ${id} for ${name}`,
    affected: entry(events),
    ...extra,
  });
  return [
    doc('FIXED', [{ introduced: '0' }, { fixed: high }], { aliases: [cve] }),
    // Same CVE through aliases: one flaw (Shipshape merges it into the FIXED finding).
    doc('ALIAS', [{ introduced: '0' }, { fixed: high }], { aliases: [cve] }),
    doc('LAST-AFFECTED', [{ introduced: '0' }, { last_affected: version }]),
    doc('LAST-AFFECTED-BELOW', [{ introduced: '0' }, { last_affected: low }]),
    doc('LIMIT-BELOW', [{ introduced: '0' }, { limit: low }]),
    doc('UNFIXED', [{ introduced: '0' }]),
    doc('WITHDRAWN', [{ introduced: '0' }], { withdrawn: '2026-01-02T00:00:00Z' }),
    {
      ...(doc('GIT-FIRST', []) as Record<string, unknown>),
      affected: [
        {
          package: { ecosystem, name },
          ranges: [
            {
              type: 'GIT',
              repo: 'https://git.example/fixture',
              events: [{ introduced: '0' }, { fixed: 'a'.repeat(40) }],
            },
            { type, events: [{ introduced: '0' }] },
          ],
        },
      ],
    },
  ];
}

/** Advisory ids each side must (or must not) report for the fixture prefixes. */
const BOTH_MATCH = ['FIXED', 'ALIAS', 'LAST-AFFECTED', 'UNFIXED'];
const NEITHER_MATCHES = ['LAST-AFFECTED-BELOW', 'WITHDRAWN'];
/** What the schema's evaluation decides where osv-scanner differs (see KNOWN_DISAGREEMENTS). */
const ONLY_SHIPSHAPE_MATCHES = ['GIT-FIRST'];
const ONLY_OSV_SCANNER_MATCHES = ['LIMIT-BELOW'];

function writeZip(path: string, documents: object[]): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const zip = new ZipWriter(path);
  for (const document of documents) {
    zip.add(`${(document as { id: string }).id}.json`, Buffer.from(JSON.stringify(document)));
  }
  zip.close();
}

function osvCoordinates(pkg: InventoryPackage): { name: string; version: string } {
  return { name: pkg.sourceName ?? pkg.name, version: pkg.sourceVersion ?? pkg.version };
}

/** The fixture advisories of a distro or npm inventory: one package named as written, one by its source. */
function fixturesFor(
  label: string,
  inventory: ImageInventory,
): { zip: string; documents: object[] } | undefined {
  const os = inventory.os;
  if (label === 'debian') {
    const major = /^(\d+)/.exec(os?.versionId ?? '')?.[1];
    assert.ok(major !== undefined, `the Debian image has a numbered release (${os?.versionId})`);
    const same = inventory.packages.find(
      (p) =>
        p.ecosystem === 'deb' &&
        (p.sourceName ?? p.name) === p.name &&
        (p.sourceVersion ?? p.version) === p.version,
    )!;
    // A source no binary package is named after (util-linux is both): only the source name can match it.
    const binaries = new Set(inventory.packages.map((p) => p.name));
    const other = inventory.packages.find(
      (p) =>
        p.ecosystem === 'deb' &&
        p.sourceName !== undefined &&
        p.sourceName !== p.name &&
        !binaries.has(p.sourceName),
    )!;
    const eco = `Debian:${major}`;
    console.log(
      `      fixtures: ${eco} ${same.name} ${same.version}; by source ${other.sourceName} (binary ${other.name})`,
    );
    return {
      zip: 'Debian/all.zip',
      documents: [
        ...fixtures('DEBIAN', eco, same.name, same.version, 'deb'),
        {
          id: 'DEBIAN-SOURCE-1',
          summary: `fixture by source package ${other.sourceName}`,
          affected: [
            {
              package: { ecosystem: eco, name: osvCoordinates(other).name },
              ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '99:0' }] }],
            },
          ],
        },
      ],
    };
  }
  if (label === 'alpine') {
    const m = /^(\d+)\.(\d+)/.exec(os?.versionId ?? '');
    assert.ok(m !== null, `the Alpine image has a release (${os?.versionId})`);
    const eco = `Alpine:v${m[1]}.${m[2]}`;
    const same = inventory.packages.find(
      (p) => p.ecosystem === 'apk' && (p.sourceName ?? p.name) === p.name,
    )!;
    const other = inventory.packages.find(
      (p) => p.ecosystem === 'apk' && p.sourceName !== undefined && p.sourceName !== p.name,
    );
    return {
      zip: 'Alpine/all.zip',
      documents: [
        ...fixtures('ALPINE', eco, same.name, same.version, 'apk'),
        ...(other === undefined
          ? []
          : [
              {
                id: 'ALPINE-SOURCE-1',
                affected: [
                  {
                    package: { ecosystem: eco, name: other.sourceName },
                    ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '999.0-r0' }] }],
                  },
                ],
              },
            ]),
      ],
    };
  }
  if (label === 'node app') {
    const express = inventory.packages.find((p) => p.ecosystem === 'npm' && p.name === 'express')!;
    return {
      zip: 'npm/all.zip',
      documents: fixtures('GHSA-NPM', 'npm', express.name, express.version, 'npm'),
    };
  }
  return undefined;
}

/** osv-scanner's JSON output: the advisory ids it reports, per ecosystem family. */
function osvScannerFlaws(output: string): Flaw[] {
  const report = JSON.parse(output) as {
    results?: {
      packages?: { package: { ecosystem: string }; vulnerabilities?: { id: string; aliases?: string[] }[] }[];
    }[];
  };
  const flaws: Flaw[] = [];
  for (const result of report.results ?? []) {
    for (const pkg of result.packages ?? []) {
      const family = FAMILY[pkg.package.ecosystem.split(':')[0]!] ?? pkg.package.ecosystem;
      for (const vuln of pkg.vulnerabilities ?? []) flaws.push({ ecosystem: family, ids: [vuln.id] });
    }
  }
  return flaws;
}

function compare(image: string, ours: Flaw[], theirs: Flaw[]): Agreement[] {
  const ecosystems = [...new Set([...ours, ...theirs].map((f) => f.ecosystem))].sort();
  return ecosystems.map((ecosystem) => {
    const mine = ours.filter((f) => f.ecosystem === ecosystem);
    const reported = new Set(theirs.filter((f) => f.ecosystem === ecosystem).flatMap((f) => f.ids));
    const both: string[] = [];
    const onlyShipshape: string[] = [];
    const covered = new Set<string>();
    for (const flaw of mine) {
      const shared = flaw.ids.filter((id) => reported.has(id));
      if (shared.length > 0) {
        both.push(flaw.ids[0]!);
        for (const id of shared) covered.add(id);
      } else onlyShipshape.push(flaw.ids.find((id) => !id.startsWith('CVE-')) ?? flaw.ids[0]!);
    }
    const onlyOsvScanner = [...reported].filter((id) => !covered.has(id)).sort();
    return { image, ecosystem, both: both.sort(), onlyShipshape: onlyShipshape.sort(), onlyOsvScanner };
  });
}

async function execute(
  command: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function cycloneDx(reference: string): Promise<string> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const flags = ['--allow-registry', '127.0.0.1:*', '--plain-http', registryHost()];
  const code = await runSbom([reference, '--format', 'cyclonedx', ...flags], {
    stdout: out,
    stderr: err,
    stdin: new PassThrough(),
  });
  assert.equal(code, 0, stderr);
  return stdout;
}

describe('vulnerability agreement with osv-scanner', function () {
  // The first run builds the Debian rootfs, the pip install and the Go binary; osv-scanner takes seconds per image.
  this.timeout(900_000);
  let scratch: string | undefined;
  let dbRoot: string;
  const rows: Agreement[] = [];
  const seen = new Set<KnownDisagreement>();
  const inventories = new Map<string, { image: TestImage; inventory: ImageInventory }>();
  let client: RegistryClient | undefined;
  let db: VulnerabilityDatabase;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'shipshape-osv-agreement-'));
    dbRoot = join(scratch, 'db');
    // osv-scanner's local database layout: <local-db-path>/osv-scalibr/<ecosystem>/all.zip.
    const osvDir = join(dbRoot, 'osv-scalibr');
    client = new RegistryClient({
      config: { policy: { allow: ['127.0.0.1:*'] }, hosts: { [registryHost()]: { plainHttp: true } } },
    });
    const analyzer = new ImageAnalyzer({ registry: client, cache: new TieredInventoryCache() });
    const snapshots = osvSnapshotDir();
    for (const ecosystem of ['Go', 'PyPI']) {
      mkdirSync(join(osvDir, ecosystem), { recursive: true });
      copyFileSync(join(snapshots, ecosystem, 'all.zip'), join(osvDir, ecosystem, 'all.zip'));
    }
    for (const { label, build } of IMAGES) {
      const image = await build(registryHost());
      const analysis = await analyzer.analyze(image.reference);
      if (!analysis.ok) assert.fail(`${label}: ${analysis.reason}: ${analysis.message}`);
      inventories.set(label, { image, inventory: analysis.inventory });
      const written = fixturesFor(label, analysis.inventory);
      if (written !== undefined) writeZip(join(osvDir, written.zip), written.documents);
    }
    db = new VulnerabilityDatabase();
    assert.equal(await db.loadDirectory(osvDir), undefined);
  });

  after(() => {
    client?.close();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
    const line = (cells: string[]): string => cells.map((c) => c.padEnd(16)).join('');
    console.log(`\n      ${line(['image', 'ecosystem', 'both', 'only shipshape', 'only osv-scanner'])}`);
    for (const row of rows) {
      console.log(
        `      ${line([row.image, row.ecosystem, String(row.both.length), String(row.onlyShipshape.length), String(row.onlyOsvScanner.length)])}`,
      );
    }
    for (const row of rows) {
      console.log(`      ${row.image}/${row.ecosystem}: both ${row.both.join(' ')}`);
      if (row.onlyShipshape.length > 0) console.log(`        only shipshape ${row.onlyShipshape.join(' ')}`);
      if (row.onlyOsvScanner.length > 0)
        console.log(`        only osv-scanner ${row.onlyOsvScanner.join(' ')}`);
    }
  });

  for (const { label } of IMAGES) {
    it(`agrees with osv-scanner on the ${label} image, up to the known disagreements`, async () => {
      const { image, inventory } = inventories.get(label)!;
      const sbomPath = join(scratch!, `${label.replaceAll(' ', '-')}.cdx.json`);
      writeFileSync(sbomPath, await cycloneDx(image.reference));
      const result = await execute(toolPath('osv-scanner'), [
        'scan',
        'source',
        '--offline',
        '--local-db-path',
        dbRoot,
        '--all-vulns',
        '--format',
        'json',
        '-L',
        sbomPath,
      ]);
      // 0: nothing found, 1: vulnerabilities found; anything else is a failed run.
      assert.ok(
        result.code === 0 || result.code === 1,
        `osv-scanner exited ${result.code}: ${result.stderr}`,
      );
      const theirs = osvScannerFlaws(result.stdout);
      const ours: Flaw[] = matchInventory(inventory, db).map((f) => ({
        ecosystem: f.package.ecosystem,
        ids: [f.id, ...f.aliases],
      }));
      const unexplained: string[] = [];
      for (const agreement of compare(label, ours, theirs)) {
        rows.push(agreement);
        const sides: [Side, string[]][] = [
          ['shipshape', agreement.onlyShipshape],
          ['osv-scanner', agreement.onlyOsvScanner],
        ];
        for (const [side, ids] of sides) {
          for (const id of ids) {
            const known = KNOWN_DISAGREEMENTS.find(
              (k) =>
                k.image === label &&
                k.ecosystem === agreement.ecosystem &&
                k.reportedBy === side &&
                k.id.test(id),
            );
            if (known !== undefined) seen.add(known);
            else unexplained.push(`only ${side}: ${agreement.ecosystem} ${id}`);
          }
        }
      }
      assert.deepEqual(unexplained, [], `unexplained disagreements on ${label}`);
      // Each fixture case was decided by both, the way the schema says.
      const prefix = { debian: 'DEBIAN', alpine: 'ALPINE', 'node app': 'GHSA-NPM' }[label];
      if (prefix !== undefined) {
        const reported = new Set(theirs.flatMap((f) => f.ids));
        const ourIds = new Set(ours.flatMap((f) => f.ids));
        const decided = (id: string): string =>
          `${prefix}-${id}: osv-scanner ${reported.has(`${prefix}-${id}`)}, shipshape ${ourIds.has(`${prefix}-${id}`)}`;
        for (const id of BOTH_MATCH)
          assert.equal(decided(id), `${prefix}-${id}: osv-scanner true, shipshape true`);
        for (const id of NEITHER_MATCHES)
          assert.equal(decided(id), `${prefix}-${id}: osv-scanner false, shipshape false`);
        for (const id of ONLY_SHIPSHAPE_MATCHES)
          assert.equal(decided(id), `${prefix}-${id}: osv-scanner false, shipshape true`);
        for (const id of ONLY_OSV_SCANNER_MATCHES)
          assert.equal(decided(id), `${prefix}-${id}: osv-scanner true, shipshape false`);
        const merged = ours.find((f) => f.ids.includes(`${prefix}-FIXED`))!;
        assert.ok(
          merged.ids.includes(`${prefix}-ALIAS`),
          'advisories sharing a CVE alias are one Shipshape finding',
        );
      }
      if (label === 'python')
        assert.ok(
          ours.some((f) => f.ids.includes('CVE-2018-18074')),
          'requests 2.19.0 is affected',
        );
      if (label === 'go binary')
        assert.ok(
          ours.some((f) => f.ids.includes('GO-2022-1059')),
          'x/text v0.3.7 is affected',
        );
    });
  }

  it('has no stale known disagreements: each one was seen on its image', function () {
    if (rows.length === 0) this.skip();
    const compared = new Set(rows.map((row) => row.image));
    const stale = KNOWN_DISAGREEMENTS.filter((k) => compared.has(k.image) && !seen.has(k));
    assert.deepEqual(
      stale.map((k) => `${k.image}: ${k.ecosystem} ${String(k.id)} (${k.reportedBy})`),
      [],
    );
  });
});
