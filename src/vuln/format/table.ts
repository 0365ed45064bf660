// The findings of `shipshape scan` as a terminal table, with the database they
// were matched against and the counts by severity on top.
import type { ScanReport } from './scan-report.js';
import { countBySeverity, SEVERITY_LEVELS, sortFindings } from './scan-report.js';

export function scanTable(report: ScanReport): string {
  const rows = sortFindings(report.findings).map((f) => [
    f.severity.level,
    f.id,
    f.package.name,
    f.installedVersion,
    f.fixedVersions.join(', ') || '(no fix)',
    f.package.ecosystem,
  ]);
  const header = ['SEVERITY', 'ID', 'PACKAGE', 'INSTALLED', 'FIXED', 'TYPE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const counts = countBySeverity(report.findings);
  const db = report.database;
  const os = report.inventory.os;
  return [
    `Image: ${report.image}@${report.digest}`,
    `OS: ${os === undefined ? 'unknown' : (os.prettyName ?? `${os.id} ${os.versionId ?? ''}`.trim())}, ${report.inventory.packages.length} packages`,
    `Database: ${db.advisories} advisories${db.dataUpdatedAt === undefined ? '' : `, updated ${db.dataUpdatedAt.toISOString()}`}${db.skipped > 0 ? `, ${db.skipped} malformed skipped` : ''}`,
    `Vulnerabilities: ${report.findings.length} (${
      SEVERITY_LEVELS.filter((l) => counts[l] > 0)
        .map((l) => `${l} ${counts[l]}`)
        .join(', ') || 'none'
    })`,
    '',
    ...(rows.length === 0 ? [] : [line(header), ...rows.map(line), '']),
  ].join('\n');
}
