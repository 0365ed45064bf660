// The operator's running tally of what every workload's last evaluation
// found: it keeps the violation and compliance gauges exact (adding and
// subtracting per workload, never rescanning) and answers per-policy summaries.
import type { Gauge } from 'prom-client';
import type { PolicySummary } from '../api/policy-types.js';
import { severityLabel } from '../metrics/registry.js';
import type { Finding } from '../policy/finding.js';
import { isViolation } from '../report/security-report.js';

export interface WorkloadOutcome {
  namespace: string;
  /** Policies that applied. */
  policies: readonly string[];
  findings: readonly Finding[];
}

interface Entry {
  namespace: string;
  compliant: boolean;
  policies: Set<string>;
  /** label key (policy, rule, severity) → count */
  violations: Map<string, number>;
  violationsByPolicy: Map<string, number>;
}

export interface ComplianceGauges {
  violations: Gauge<'namespace' | 'policy' | 'rule' | 'severity'>;
  workloads: Gauge<'namespace' | 'compliance'>;
}

const SEP = '\u0000';

export class ComplianceIndex {
  private readonly entries = new Map<string, Entry>();
  private readonly violationTotals = new Map<string, number>();
  private readonly workloadTotals = new Map<string, number>();

  constructor(private readonly gauges?: ComplianceGauges) {}

  /** Records a workload's outcome; returns the policies whose summary may have changed. */
  set(key: string, outcome: WorkloadOutcome): Set<string> {
    const before = this.entries.get(key);
    const entry: Entry = {
      namespace: outcome.namespace,
      compliant: !outcome.findings.some(isViolation),
      policies: new Set(outcome.policies),
      violations: new Map(),
      violationsByPolicy: new Map(),
    };
    for (const f of outcome.findings) {
      if (!isViolation(f)) continue;
      const label = [f.policy, f.ruleId, severityLabel(f.severity)].join(SEP);
      entry.violations.set(label, (entry.violations.get(label) ?? 0) + 1);
      entry.violationsByPolicy.set(f.policy, (entry.violationsByPolicy.get(f.policy) ?? 0) + 1);
    }
    if (before) this.account(before, -1);
    this.account(entry, +1);
    this.entries.set(key, entry);
    return touchedPolicies(before, entry);
  }

  /** Forgets a deleted workload; returns the policies whose summary changed. */
  delete(key: string): Set<string> {
    const before = this.entries.get(key);
    if (!before) return new Set();
    this.account(before, -1);
    this.entries.delete(key);
    return touchedPolicies(before, undefined);
  }

  summary(policy: string): PolicySummary {
    let workloadsMatched = 0;
    let workloadsCompliant = 0;
    let violations = 0;
    for (const entry of this.entries.values()) {
      if (!entry.policies.has(policy)) continue;
      workloadsMatched++;
      const count = entry.violationsByPolicy.get(policy) ?? 0;
      if (count === 0) workloadsCompliant++;
      violations += count;
    }
    return { workloadsMatched, workloadsCompliant, violations };
  }

  private account(entry: Entry, sign: 1 | -1): void {
    for (const [label, count] of entry.violations) {
      const key = [entry.namespace, label].join(SEP);
      const total = (this.violationTotals.get(key) ?? 0) + sign * count;
      this.violationTotals.set(key, total);
      const [namespace, policy, rule, severity] = key.split(SEP);
      // Series that fall to zero stay at 0 so dashboards and alerts see the drop.
      this.gauges?.violations.set({ namespace, policy, rule, severity }, total);
    }
    const compliance = entry.compliant ? 'compliant' : 'noncompliant';
    const wkey = [entry.namespace, compliance].join(SEP);
    const total = (this.workloadTotals.get(wkey) ?? 0) + sign;
    this.workloadTotals.set(wkey, total);
    this.gauges?.workloads.set({ namespace: entry.namespace, compliance }, total);
  }
}

function touchedPolicies(before: Entry | undefined, after: Entry | undefined): Set<string> {
  const touched = new Set<string>();
  for (const entry of [before, after]) for (const p of entry?.policies ?? []) touched.add(p);
  if (before && after) {
    for (const p of touched) {
      const same =
        before.policies.has(p) === after.policies.has(p) &&
        (before.violationsByPolicy.get(p) ?? 0) === (after.violationsByPolicy.get(p) ?? 0);
      if (same) touched.delete(p);
    }
  }
  return touched;
}
