// Finding severities, shared by rules, reports, vulnerabilities and the CLI's
// --fail-on, with one ordering so "at or above" means the same everywhere.

export const SEVERITIES = ['Critical', 'High', 'Medium', 'Low', 'Info'] as const;

export type Severity = (typeof SEVERITIES)[number];

const RANK: Readonly<Record<Severity, number>> = { Critical: 4, High: 3, Medium: 2, Low: 1, Info: 0 };

/** Higher is more severe: Critical 4 ... Info 0. */
export function severityRank(severity: Severity): number {
  return RANK[severity];
}

/** Sort comparator: most severe first. */
export function compareSeverity(a: Severity, b: Severity): number {
  return RANK[b] - RANK[a];
}

export function isAtLeast(severity: Severity, threshold: Severity): boolean {
  return RANK[severity] >= RANK[threshold];
}

export function isSeverity(value: unknown): value is Severity {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

/** Accepts any letter case ("high", "HIGH") as CLI flags are typed by people. */
export function parseSeverity(value: string): Severity | undefined {
  const canonical = value.charAt(0).toUpperCase() + value.slice(1).toLowerCase();
  return isSeverity(canonical) ? canonical : undefined;
}
