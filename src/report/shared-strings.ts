// One copy of the strings that every SecurityReport's findings repeat — rule ids,
// titles, remediations, categories, policy names, containers, severities and the
// report's timestamps — in the reports the operator holds (its informer cache and its
// own recent writes). Each report arrives as parsed JSON, and JSON.parse makes a new
// string for every value: 300 reports of 256 vulnerability findings held ~95 MiB of
// such copies (heap snapshot of bench/operator-scale --vulnerability-db), the
// remediation text alone 37 MiB. Messages and subjects are left as they are: they
// differ per finding. The table is a bounded LRU, so hostile reports cannot grow it.
import { LRUCache } from 'lru-cache';

import type { ReportedFinding, SecurityReport } from '../api/report-types.js';

/** Distinct strings kept; a cluster's rules × policies × containers fit many times over. */
const MAX_SHARED_STRINGS = 8192;
/** Longer strings are not kept: a remediation is a few hundred characters. */
const MAX_SHARED_LENGTH = 1024;

const table = new LRUCache<string, string>({ max: MAX_SHARED_STRINGS });

function shared(value: string): string;
function shared(value: string | undefined): string | undefined;
function shared(value: string | undefined): string | undefined {
  if (value === undefined || value.length > MAX_SHARED_LENGTH) return value;
  const known = table.get(value);
  if (known !== undefined) return known;
  table.set(value, value);
  return value;
}

function sharedFinding(f: ReportedFinding): ReportedFinding {
  const out: ReportedFinding = {
    ...f,
    ruleId: shared(f.ruleId),
    title: shared(f.title),
    severity: shared(f.severity) as ReportedFinding['severity'],
    category: shared(f.category),
    policy: shared(f.policy),
    remediation: shared(f.remediation),
  };
  if (f.container !== undefined) out.container = shared(f.container);
  if (f.firstSeen !== undefined) out.firstSeen = shared(f.firstSeen);
  if (f.lastSeen !== undefined) out.lastSeen = shared(f.lastSeen);
  return out;
}

/** The report with its findings' repeated strings replaced by shared copies. */
export function withSharedStrings<T extends SecurityReport>(report: T): T {
  const findings = report.status?.findings;
  if (!Array.isArray(findings) || findings.length === 0) return report;
  return { ...report, status: { ...report.status, findings: findings.map(sharedFinding) } };
}
