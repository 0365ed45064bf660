// What `shipshape scan` found, in one value every output format is written from:
// the image, the database it was matched against, and the findings ordered most
// severe first (then by id and package, so output is stable between runs).
import type { ImageInventory } from '../../sbom/types.js';
import type { VulnerabilityFinding } from '../match.js';
import { severityRank } from '../severity.js';
import type { SeverityLevel } from '../severity.js';

export interface ScanReport {
  image: string;
  digest: string;
  inventory: ImageInventory;
  database: {
    version: string;
    advisories: number;
    /** Advisories the load skipped as malformed. */
    skipped: number;
    dataUpdatedAt?: Date;
  };
  findings: VulnerabilityFinding[];
  toolVersion: string;
}

export function sortFindings(findings: readonly VulnerabilityFinding[]): VulnerabilityFinding[] {
  return [...findings].sort(
    (a, b) =>
      severityRank(b.severity.level) - severityRank(a.severity.level) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) ||
      a.package.name.localeCompare(b.package.name) ||
      a.installedVersion.localeCompare(b.installedVersion),
  );
}

export const SEVERITY_LEVELS: readonly SeverityLevel[] = [
  'CRITICAL',
  'HIGH',
  'MEDIUM',
  'LOW',
  'NONE',
  'UNKNOWN',
];

/** Findings per severity level, every level present (0 when none). */
export function countBySeverity(findings: readonly VulnerabilityFinding[]): Record<SeverityLevel, number> {
  const counts = Object.fromEntries(SEVERITY_LEVELS.map((l) => [l, 0])) as Record<SeverityLevel, number>;
  for (const f of findings) counts[f.severity.level]++;
  return counts;
}
