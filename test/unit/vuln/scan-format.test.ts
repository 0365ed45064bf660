// The outputs of `shipshape scan`, written from real matching (an advisory set
// loaded into the database, an inventory matched against it): the table, the
// JSON, SARIF 2.1.0's required shape, and CycloneDX VEX validated by the
// CycloneDX 1.6 JSON schema shipped in @cyclonedx/cyclonedx-library.
import assert from 'node:assert/strict';

import { Spec, Validation } from '@cyclonedx/cyclonedx-library';

import type { ImageInventory, InventoryPackage } from '../../../src/sbom/types.js';
import { VulnerabilityDatabase } from '../../../src/vuln/database.js';
import { scanCycloneDxVex } from '../../../src/vuln/format/cyclonedx-vex.js';
import { scanJson } from '../../../src/vuln/format/json.js';
import { scanSarif } from '../../../src/vuln/format/sarif.js';
import type { ScanReport } from '../../../src/vuln/format/scan-report.js';
import { scanTable } from '../../../src/vuln/format/table.js';
import { matchInventory } from '../../../src/vuln/match.js';

const LAYER = `sha256:${'a'.repeat(64)}`;
const DIGEST = `sha256:${'b'.repeat(64)}`;

function pkg(
  p: Partial<InventoryPackage> & Pick<InventoryPackage, 'name' | 'version' | 'purl'>,
): InventoryPackage {
  return { ecosystem: 'deb', location: '/var/lib/dpkg/status', layerDigest: LAYER, ...p };
}

const inventory: ImageInventory = {
  kind: 'ImageInventory',
  os: { id: 'debian', versionId: '12', source: '/etc/os-release' },
  packages: [
    pkg({
      name: 'libssl3',
      version: '3.0.11-1~deb12u2',
      purl: 'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12',
      sourceName: 'openssl',
    }),
    pkg({
      name: 'zlib1g',
      version: '1:1.2.13.dfsg-1',
      purl: 'pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12',
      sourceName: 'zlib',
    }),
    pkg({
      name: 'lodash',
      version: '4.17.20',
      ecosystem: 'npm',
      purl: 'pkg:npm/lodash@4.17.20',
      location: '/app/node_modules/lodash/package.json',
    }),
  ],
  facts: {
    user: '0',
    runsAsRoot: true,
    exposedPorts: [],
    secretEnvKeys: [],
    layerCount: 1,
    compressedBytes: 1,
    uncompressedBytes: 1,
    baseImage: { hints: [] },
  },
  layers: [{ digest: LAYER, uncompressedBytes: 1, entries: 3 }],
  analyzerVersion: 'test',
  warnings: [],
};

function database(): VulnerabilityDatabase {
  const db = new VulnerabilityDatabase();
  db.addDocument(
    {
      id: 'DEBIAN-CVE-2024-0727',
      aliases: ['CVE-2024-0727'],
      summary: 'openssl: denial of service via null dereference',
      severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
      affected: [
        {
          package: { ecosystem: 'Debian:12', name: 'openssl' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.13-1~deb12u1' }] }],
        },
      ],
    },
    'test',
  );
  db.addDocument(
    {
      id: 'GHSA-35jh-r3h4-6jhm',
      aliases: ['CVE-2021-23337'],
      summary: 'Command Injection in lodash',
      database_specific: { severity: 'HIGH' },
      affected: [
        {
          package: { ecosystem: 'npm', name: 'lodash' },
          ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '4.17.21' }] }],
        },
      ],
    },
    'test',
  );
  db.addDocument(
    {
      id: 'DEBIAN-CVE-2023-45853',
      aliases: ['CVE-2023-45853'],
      affected: [{ package: { ecosystem: 'Debian:12', name: 'zlib' }, versions: ['1:1.2.13.dfsg-1'] }],
    },
    'test',
  );
  return db;
}

function report(): ScanReport {
  const db = database();
  return {
    image: 'registry.local/team/app:1.0',
    digest: DIGEST,
    inventory,
    database: {
      version: 'test-db',
      advisories: db.size,
      skipped: 0,
      dataUpdatedAt: new Date('2024-05-01T00:00:00Z'),
    },
    findings: matchInventory(inventory, db),
    toolVersion: '0.1.0',
  };
}

describe('shipshape scan output', () => {
  it('matches the fixture database into three findings, one per flaw', () => {
    const ids = report()
      .findings.map((f) => f.id)
      .sort();
    assert.deepEqual(ids, ['CVE-2021-23337', 'CVE-2023-45853', 'CVE-2024-0727']);
  });

  it('prints a table, most severe first, with counts and "(no fix)" for unfixed flaws', () => {
    const text = scanTable(report());
    assert.match(text, /^Image: registry\.local\/team\/app:1\.0@sha256:b{64}$/m);
    assert.match(text, /^Vulnerabilities: 3 \(CRITICAL 1, HIGH 1, UNKNOWN 1\)$/m);
    const rows = text.split('\n').filter((l) => /^(CRITICAL|HIGH|UNKNOWN) /.test(l));
    assert.deepEqual(
      rows.map((r) => r.split(/\s+/)[1]),
      ['CVE-2024-0727', 'CVE-2021-23337', 'CVE-2023-45853'],
    );
    assert.match(rows[2]!, /\(no fix\)/);
    assert.match(rows[0]!, /openssl\s+3\.0\.11-1~deb12u2\s+3\.0\.13-1~deb12u1\s+deb$/);
  });

  it('writes JSON with the database, counts by severity and the findings', () => {
    const json = JSON.parse(scanJson(report())) as {
      database: { version: string; advisories: number; updatedAt: string };
      counts: Record<string, number>;
      findings: { id: string; fixedVersions: string[] }[];
    };
    assert.deepEqual(json.database, {
      version: 'test-db',
      advisories: 3,
      skipped: 0,
      updatedAt: '2024-05-01T00:00:00.000Z',
    });
    assert.equal(json.counts.CRITICAL, 1);
    assert.equal(json.counts.HIGH, 1);
    assert.equal(json.counts.UNKNOWN, 1);
    assert.deepEqual(json.findings[1]?.fixedVersions, ['4.17.21']);
  });

  it('writes SARIF 2.1.0: a rule per id, results pointing at their rule, levels and security-severity', () => {
    const sarif = scanSarif(report()) as {
      version: string;
      $schema: string;
      runs: {
        tool: {
          driver: {
            name: string;
            rules: { id: string; shortDescription: { text: string }; properties: Record<string, unknown> }[];
          };
        };
        results: {
          ruleId: string;
          ruleIndex: number;
          level: string;
          message: { text: string };
          locations: { physicalLocation: { artifactLocation: { uri: string } } }[];
        }[];
      }[];
    };
    assert.equal(sarif.version, '2.1.0');
    assert.match(sarif.$schema, /sarif-2\.1\.0/);
    assert.equal(sarif.runs.length, 1);
    const run = sarif.runs[0]!;
    assert.equal(run.tool.driver.name, 'shipshape');
    assert.equal(run.results.length, 3);
    for (const result of run.results) {
      assert.ok(['error', 'warning', 'note'].includes(result.level));
      assert.equal(run.tool.driver.rules[result.ruleIndex]?.id, result.ruleId);
      assert.ok(result.message.text.length > 0);
      assert.match(result.locations[0]!.physicalLocation.artifactLocation.uri, /^pkg:/);
    }
    const critical = run.results.find((r) => r.ruleId === 'CVE-2024-0727')!;
    assert.equal(critical.level, 'error');
    assert.match(critical.message.text, /fixed in 3\.0\.13-1~deb12u1/);
    const rule = run.tool.driver.rules.find((r) => r.id === 'CVE-2024-0727')!;
    assert.equal(rule.properties['security-severity'], '9.8');
    assert.equal(run.results.find((r) => r.ruleId === 'CVE-2023-45853')?.level, 'warning');
  });

  it('writes CycloneDX 1.6 VEX that the CycloneDX JSON schema accepts, affecting the matched components', async () => {
    const bom = scanCycloneDxVex(report(), {
      timestamp: new Date('2024-01-01T00:00:00Z'),
      serialNumber: 'urn:uuid:8d0b0b55-3d4f-4a52-9d0b-3e0c5c1e0a11',
    });
    const text = JSON.stringify(bom);
    const errors = await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(text);
    assert.equal(errors, null, JSON.stringify(errors));
    const parsed = JSON.parse(text) as {
      components: { 'bom-ref': string }[];
      vulnerabilities: {
        id: string;
        ratings: { severity: string; score?: number }[];
        affects: { ref: string; versions: { version: string; status: string }[] }[];
        analysis: { state: string };
      }[];
    };
    assert.equal(parsed.vulnerabilities.length, 3);
    const refs = new Set(parsed.components.map((c) => c['bom-ref']));
    for (const v of parsed.vulnerabilities) {
      assert.equal(v.analysis.state, 'in_triage');
      for (const a of v.affects)
        assert.ok(refs.has(a.ref), `${v.id} affects ${a.ref}, a component of the BOM`);
    }
    const openssl = parsed.vulnerabilities.find((v) => v.id === 'CVE-2024-0727')!;
    assert.equal(openssl.ratings[0]?.severity, 'critical');
    assert.equal(openssl.ratings[0]?.score, 9.8);
    assert.deepEqual(openssl.affects[0]?.versions, [{ version: '3.0.11-1~deb12u2', status: 'affected' }]);
  });
});
