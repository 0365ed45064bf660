// The findings of `shipshape scan` as Shipshape's own JSON: the image, the
// database (version, size, age), counts by severity and the sorted findings.
import type { ScanReport } from './scan-report.js';
import { countBySeverity, sortFindings } from './scan-report.js';

export function scanJson(report: ScanReport): string {
  const db = report.database;
  return `${JSON.stringify(
    {
      image: report.image,
      digest: report.digest,
      os: report.inventory.os ?? null,
      packages: report.inventory.packages.length,
      database: {
        version: db.version,
        advisories: db.advisories,
        skipped: db.skipped,
        ...(db.dataUpdatedAt === undefined ? {} : { updatedAt: db.dataUpdatedAt.toISOString() }),
      },
      counts: countBySeverity(report.findings),
      findings: sortFindings(report.findings),
    },
    null,
    2,
  )}\n`;
}
