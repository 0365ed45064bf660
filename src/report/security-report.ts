// Pure construction of a workload's SecurityReport from its findings, and the
// comparison that decides whether anything needs writing. Timestamps that only
// say "evaluated again" are not content: a steady cluster writes nothing.
import type { KubernetesObject, V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import { GROUP_VERSION } from '../api/policy-types.js';
import { MAX_REPORT_FINDINGS } from '../api/report-schema.js';
import type {
  ReportedContainer,
  ReportedFinding,
  ReportedImage,
  SecurityReport,
  SecurityReportStatus,
  SeverityCounts,
} from '../api/report-types.js';
import { compareSeverity, type Severity } from '../api/severity.js';
import type { Finding } from '../policy/finding.js';
import type { PodTemplate } from '../policy/workload.js';
import { withTransition } from '../api/conditions.js';
import { truncate } from '../runtime/text.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const WORKLOAD_KIND_LABEL = 'shipshape.dev/workload-kind';
export const WORKLOAD_NAME_LABEL = 'shipshape.dev/workload-name';

export interface ReportInput {
  name: string;
  workload: KubernetesObject;
  template: PodTemplate;
  /** Running pods of the workload, for the digests they actually run. */
  pods: readonly V1Pod[];
  findings: readonly Finding[];
  policies: readonly string[];
  existing?: SecurityReport;
  now: Date;
  /** What image analysis knows of an image (Pending, Analyzed with OS and packages, Failed with why). */
  imageAnalysis?: (image: string) => Partial<ReportedImage>;
}

const COUNT_KEY: Record<Severity, keyof SeverityCounts> = {
  Critical: 'critical',
  High: 'high',
  Medium: 'medium',
  Low: 'low',
  Info: 'info',
};

export function findingIdentity(f: {
  ruleId: string;
  policy: string;
  container?: string;
  subject?: string;
}): string {
  return `${f.policy}\u0000${f.ruleId}\u0000${f.container ?? ''}\u0000${f.subject ?? ''}`;
}

/** A finding that is not Info makes a workload non-compliant. */
export const isViolation = (f: { severity: Severity }): boolean => f.severity !== 'Info';

export function buildSecurityReport(input: ReportInput): SecurityReport {
  const { workload, existing, now } = input;
  const nowIso = now.toISOString();
  const previous = new Map(
    (existing?.status?.findings ?? []).map((f) => [findingIdentity(f), f] as [string, ReportedFinding]),
  );
  const sorted = [...input.findings].sort(
    (a, b) =>
      compareSeverity(a.severity, b.severity) ||
      a.ruleId.localeCompare(b.ruleId) ||
      (a.container ?? '').localeCompare(b.container ?? '') ||
      a.policy.localeCompare(b.policy) ||
      (a.subject ?? '').localeCompare(b.subject ?? ''),
  );
  const findings: ReportedFinding[] = sorted.slice(0, MAX_REPORT_FINDINGS).map((f) => {
    const before = previous.get(findingIdentity(f));
    const reported: ReportedFinding = {
      ruleId: f.ruleId,
      title: f.title,
      severity: f.severity,
      category: f.category,
      policy: f.policy,
      message: truncate(f.message, 1024),
      remediation: truncate(f.remediation, 1024),
      firstSeen: before?.firstSeen ?? nowIso,
      // lastSeen moves only when the finding itself changes, so re-confirming costs no write.
      lastSeen: before && before.message === truncate(f.message, 1024) ? (before.lastSeen ?? nowIso) : nowIso,
    };
    if (f.container) reported.container = f.container;
    if (f.subject) reported.subject = f.subject.slice(0, 64);
    return reported;
  });

  const summary: SeverityCounts & { total?: number } = {
    critical: 0,
    high: 0,
    medium: 0,
    low: 0,
    info: 0,
    total: 0,
  };
  for (const f of input.findings) {
    const key = COUNT_KEY[f.severity];
    summary[key] = (summary[key] ?? 0) + 1;
    summary.total = (summary.total ?? 0) + 1;
  }
  const violations = input.findings.filter(isViolation).length;
  const compliant = violations === 0;
  const containers = reportedContainers(input.template, input.pods);

  const status: SecurityReportStatus = {
    compliant,
    summary,
    findings,
    findingsTruncated: sorted.length > MAX_REPORT_FINDINGS,
    images: uniqueImages(containers, input.imageAnalysis),
    policies: [...input.policies].sort().slice(0, 64),
    lastEvaluated: nowIso,
    conditions: [
      withTransition(
        existing?.status?.conditions,
        {
          type: 'Compliant',
          status: compliant ? 'True' : 'False',
          reason: compliant
            ? input.policies.length === 0
              ? 'NoPolicyApplies'
              : 'NoViolations'
            : 'ViolationsFound',
          message: compliant
            ? input.policies.length === 0
              ? 'No SecurityPolicy or ClusterSecurityPolicy applies to this workload.'
              : `Complies with ${input.policies.length} ${input.policies.length === 1 ? 'policy' : 'policies'}.`
            : describeCounts(violations, summary),
        },
        nowIso,
      ),
    ],
  };

  const name = workload.metadata?.name ?? '';
  const report: SecurityReport = {
    apiVersion: GROUP_VERSION,
    kind: 'SecurityReport',
    metadata: {
      name: input.name,
      namespace: workload.metadata?.namespace,
      labels: {
        [MANAGED_BY_LABEL]: 'shipshape',
        [WORKLOAD_KIND_LABEL]: workload.kind ?? '',
        [WORKLOAD_NAME_LABEL]: labelValue(name),
      },
      ownerReferences: [ownerReferenceTo(workload)],
    },
    spec: {
      subject: {
        apiVersion: workload.apiVersion ?? '',
        kind: workload.kind ?? '',
        name,
        uid: workload.metadata?.uid,
      },
      containers,
    },
    status,
  };
  return report;
}

/** Whether `existing` already says what `desired` says (ignoring evaluation timestamps). */
export function sameReport(existing: SecurityReport | undefined, desired: SecurityReport): boolean {
  if (!existing) return false;
  return sameSpec(existing, desired) && sameStatus(existing, desired);
}

export function sameSpec(existing: SecurityReport, desired: SecurityReport): boolean {
  return (
    canonical(existing.spec) === canonical(desired.spec) &&
    canonical(existing.metadata.labels ?? {}) === canonical(desired.metadata.labels ?? {}) &&
    (existing.metadata.ownerReferences ?? []).some(
      (r) => r.uid === desired.metadata.ownerReferences?.[0]?.uid,
    )
  );
}

export function sameStatus(existing: SecurityReport, desired: SecurityReport): boolean {
  return (
    canonical(withoutEvaluationTime(existing.status)) === canonical(withoutEvaluationTime(desired.status))
  );
}

function withoutEvaluationTime(status: SecurityReportStatus | undefined): SecurityReportStatus {
  if (!status) return {};
  const { lastEvaluated: _ignored, ...rest } = status;
  return rest;
}

/** JSON with sorted keys, so field order from the API server does not matter. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

function describeCounts(violations: number, summary: SeverityCounts): string {
  const parts = (['critical', 'high', 'medium', 'low'] as const)
    .filter((k) => (summary[k] ?? 0) > 0)
    .map((k) => `${summary[k]} ${k}`);
  return `${violations} ${violations === 1 ? 'violation' : 'violations'} (${parts.join(', ')}).`;
}

function reportedContainers(template: PodTemplate, pods: readonly V1Pod[]): ReportedContainer[] {
  const digests = new Map<string, string>();
  for (const pod of pods) {
    for (const status of [
      ...(pod.status?.initContainerStatuses ?? []),
      ...(pod.status?.containerStatuses ?? []),
    ]) {
      const digest = digestOf(status.imageID);
      if (digest) digests.set(status.name, digest);
    }
  }
  const spec = template.spec;
  const list: ReportedContainer[] = [];
  const add = (kind: ReportedContainer['kind'], name: string, image: string | undefined) => {
    const c: ReportedContainer = { name, kind, image: truncate(image ?? '', 512) };
    const digest = digests.get(name) ?? digestOf(image);
    if (digest) c.digest = digest;
    list.push(c);
  };
  for (const c of spec.initContainers ?? []) add('initContainer', c.name, c.image);
  for (const c of spec.containers ?? []) add('container', c.name, c.image);
  for (const c of spec.ephemeralContainers ?? []) add('ephemeralContainer', c.name, c.image);
  return list.slice(0, 64);
}

/** "docker-pullable://repo@sha256:..." or "repo@sha256:..." or "sha256:..." → "sha256:..." (sha384/sha512 too). */
export function digestOf(imageId: string | undefined): string | undefined {
  const match = imageId?.match(/sha512:[a-f0-9]{128}|sha384:[a-f0-9]{96}|sha256:[a-f0-9]{64}/);
  return match?.[0];
}

function uniqueImages(
  containers: ReportedContainer[],
  analysisOf: ((image: string) => Partial<ReportedImage>) | undefined,
): ReportedImage[] {
  const seen = new Map<string, ReportedImage>();
  for (const c of containers) {
    if (seen.has(c.image)) continue;
    const entry: ReportedImage = { ...(analysisOf?.(c.image) ?? {}), image: c.image };
    // The digest the pods run wins over the one the registry resolved the tag to now.
    if (c.digest) entry.digest = c.digest;
    seen.set(c.image, entry);
  }
  return [...seen.values()];
}

function ownerReferenceTo(workload: KubernetesObject): V1OwnerReference {
  return {
    apiVersion: workload.apiVersion ?? '',
    kind: workload.kind ?? '',
    name: workload.metadata?.name ?? '',
    uid: workload.metadata?.uid ?? '',
    controller: false,
    blockOwnerDeletion: false,
  };
}

/** Label values are at most 63 characters of [A-Za-z0-9_.-]. */
function labelValue(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 63);
  return cleaned.replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}
