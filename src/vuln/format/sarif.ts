// The findings of `shipshape scan` as SARIF 2.1.0 (GitHub code scanning and
// other SARIF readers): one rule per vulnerability id, one result per affected
// package, located at the package's purl, with GitHub's `security-severity`
// (the CVSS score when known) so results are ranked like other scanners'.
import type { VulnerabilityFinding } from '../match.js';
import type { SeverityLevel } from '../severity.js';
import type { ScanReport } from './scan-report.js';
import { sortFindings } from './scan-report.js';

const LEVEL: Record<SeverityLevel, 'error' | 'warning' | 'note'> = {
  CRITICAL: 'error',
  HIGH: 'error',
  MEDIUM: 'warning',
  LOW: 'note',
  NONE: 'note',
  UNKNOWN: 'warning',
};

/** A representative score when the severity came without one (Ubuntu priorities, GitHub's labels). */
const SECURITY_SEVERITY: Record<SeverityLevel, number> = {
  CRITICAL: 9.5,
  HIGH: 8.0,
  MEDIUM: 5.5,
  LOW: 3.0,
  NONE: 0.0,
  UNKNOWN: 5.0,
};

function securitySeverity(f: VulnerabilityFinding): string {
  return (f.severity.score ?? SECURITY_SEVERITY[f.severity.level]).toFixed(1);
}

function message(f: VulnerabilityFinding, image: string): string {
  const fix =
    f.fixedVersions.length === 0 ? 'no fixed version is known' : `fixed in ${f.fixedVersions.join(', ')}`;
  return `${f.package.name} ${f.installedVersion} in ${image} is affected by ${f.id}${
    f.summary === undefined ? '' : ` (${f.summary})`
  }; ${fix}.`;
}

export function scanSarif(report: ScanReport): unknown {
  const findings = sortFindings(report.findings);
  const rules = new Map<string, VulnerabilityFinding>();
  for (const f of findings) if (!rules.has(f.id)) rules.set(f.id, f);
  const ruleIndex = new Map([...rules.keys()].map((id, i) => [id, i]));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'shipshape',
            version: report.toolVersion,
            semanticVersion: report.toolVersion,
            rules: [...rules.values()].map((f) => ({
              id: f.id,
              name: f.id.replace(/[^A-Za-z0-9]/g, ''),
              shortDescription: { text: f.summary ?? f.id },
              ...(f.aliases.length === 0
                ? {}
                : { fullDescription: { text: `Also known as ${f.aliases.join(', ')}` } }),
              help: {
                text:
                  f.fixedVersions.length === 0
                    ? 'No fixed version is known; consider a different base image or package.'
                    : `Upgrade ${f.package.name} to ${f.fixedVersions.join(' or ')}.`,
              },
              defaultConfiguration: { level: LEVEL[f.severity.level] },
              properties: {
                'security-severity': securitySeverity(f),
                tags: ['security', 'vulnerability', f.package.ecosystem],
              },
            })),
          },
        },
        properties: { image: report.image, digest: report.digest, database: report.database.version },
        results: findings.map((f) => ({
          ruleId: f.id,
          ruleIndex: ruleIndex.get(f.id),
          level: LEVEL[f.severity.level],
          message: { text: message(f, report.image) },
          locations: [
            {
              physicalLocation: { artifactLocation: { uri: f.package.purl } },
              logicalLocations: [{ name: `${f.package.name}@${f.installedVersion}`, kind: 'package' }],
            },
          ],
          partialFingerprints: { packageVulnerability: `${f.package.purl}/${f.id}` },
          properties: {
            severity: f.severity.level,
            ...(f.severity.score === undefined ? {} : { cvssScore: f.severity.score }),
            fixedVersions: f.fixedVersions,
            aliases: f.aliases,
          },
        })),
      },
    ],
  };
}
