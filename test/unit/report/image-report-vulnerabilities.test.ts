// Specification of the vulnerability part of an ImageReport: exact counts by severity with total
// and fixable, a list capped at MAX_IMAGE_VULNERABILITIES (most severe, then fixable, first) whose
// cap is stated in the object, the database version and date, and a VulnerabilitiesMatched
// condition that says when findings are unknown or the database is stale — never zero counts
// when there is no database.
import assert from 'node:assert/strict';

import { imageReportStatusSchema, MAX_IMAGE_VULNERABILITIES } from '../../../src/api/report-schema.js';
import { validateAgainstSchema } from '../../../src/api/validate.js';
import { summarizeFindings } from '../../../src/image/vulnerability-scan.js';
import { buildImageReport } from '../../../src/report/image-report.js';
import type { VulnerabilityFinding } from '../../../src/vuln/match.js';
import type { SeverityLevel } from '../../../src/vuln/severity.js';

const DIGEST = `sha256:${'e'.repeat(64)}`;
const NOW = new Date('2026-06-01T12:00:00Z');
const DB = { version: 'sha256:0123456789abcdef', loadedAt: new Date('2026-06-01T11:00:00Z') };

function finding(i: number, level: SeverityLevel, fixed: boolean): VulnerabilityFinding {
  return {
    id: `CVE-2026-${String(i).padStart(5, '0')}`,
    aliases: [`GHSA-${i}`],
    package: { name: `pkg${i}`, ecosystem: 'deb', purl: `pkg:deb/debian/pkg${i}@1` },
    installedVersion: '1',
    fixedVersions: fixed ? ['2'] : [],
    severity: { level },
    summary: `flaw ${i}`,
  };
}

function report(findings: VulnerabilityFinding[], state: 'Ready' | 'Stale' = 'Ready') {
  return buildImageReport({
    digest: DIGEST,
    references: ['registry.example.com/app:1'],
    summary: { packages: 400 },
    now: NOW,
    vulnerabilities: summarizeFindings(findings, DB, NOW.getTime()),
    database:
      state === 'Ready' ? { state } : { state, reason: 'SourceNotFound', message: 'the mirror answered 404' },
  });
}

describe('ImageReport vulnerabilities', () => {
  const many = [
    ...Array.from({ length: 150 }, (_, i) => finding(i, 'LOW', true)),
    ...Array.from({ length: 30 }, (_, i) => finding(1000 + i, 'HIGH', false)),
    ...Array.from({ length: 30 }, (_, i) => finding(2000 + i, 'HIGH', true)),
    finding(3000, 'CRITICAL', false),
    finding(3001, 'UNKNOWN', false),
  ];

  it('counts every severity exactly and caps the list, stating the cap', () => {
    const status = report(many).status!;
    assert.deepEqual(status.vulnerabilities, {
      critical: 1,
      high: 60,
      medium: 0,
      low: 150,
      info: 1,
      total: 212,
      fixable: 180,
    });
    assert.equal(status.topVulnerabilities?.length, MAX_IMAGE_VULNERABILITIES);
    assert.equal(status.topVulnerabilitiesLimit, MAX_IMAGE_VULNERABILITIES);
    assert.equal(status.topVulnerabilitiesTruncated, true);
    assert.deepEqual(validateAgainstSchema(imageReportStatusSchema, status), []);
  });

  it('lists the most severe first, and fixable before unfixed within a severity', () => {
    const top = report(many).status!.topVulnerabilities!;
    assert.equal(top[0]?.id, 'CVE-2026-03000');
    assert.deepEqual(
      top.slice(1, 31).map((v) => [v.severity, v.fixedVersion]),
      Array.from({ length: 30 }, () => ['High', '2']),
    );
    assert.equal(top[31]?.severity, 'High');
    assert.equal(top[31]?.fixedVersion, undefined);
    assert.deepEqual(top[0]?.aliases, ['GHSA-3000']);
  });

  it('names the database and says the counts were matched', () => {
    const status = report([finding(1, 'HIGH', true)]).status!;
    assert.equal(status.scanner?.databaseVersion, DB.version);
    assert.equal(status.scanner?.databaseUpdated, DB.loadedAt.toISOString());
    const condition = status.conditions?.find((c) => c.type === 'VulnerabilitiesMatched');
    assert.equal(condition?.status, 'True');
    assert.equal(condition?.reason, 'Matched');
    assert.equal(status.topVulnerabilitiesTruncated, false);
  });

  it('says when the database is stale', () => {
    const condition = report([finding(1, 'HIGH', true)], 'Stale').status!.conditions?.find(
      (c) => c.type === 'VulnerabilitiesMatched',
    );
    assert.equal(condition?.reason, 'DatabaseStale');
    assert.match(condition?.message ?? '', /stale.*404/);
  });

  it('shows no counts, and a condition saying why, while no database has loaded', () => {
    const status = buildImageReport({
      digest: DIGEST,
      references: [],
      summary: { packages: 400 },
      now: NOW,
      vulnerabilities: {
        state: 'Unknown',
        reason: 'DatabaseUnavailable',
        message: 'no vulnerability database has loaded yet',
      },
      database: { state: 'Unavailable', reason: 'NotLoaded' },
    }).status!;
    assert.equal(status.vulnerabilities, undefined);
    assert.equal(status.topVulnerabilities, undefined);
    const condition = status.conditions?.find((c) => c.type === 'VulnerabilitiesMatched');
    assert.equal(condition?.status, 'Unknown');
    assert.equal(condition?.reason, 'DatabaseUnavailable');
  });

  it('writes nothing about vulnerabilities when matching is off', () => {
    const status = buildImageReport({
      digest: DIGEST,
      references: [],
      summary: { packages: 1 },
      now: NOW,
    }).status!;
    assert.equal(status.vulnerabilities, undefined);
    assert.equal(
      status.conditions?.some((c) => c.type === 'VulnerabilitiesMatched'),
      false,
    );
  });
});
