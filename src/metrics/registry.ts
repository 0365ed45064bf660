// Every Prometheus metric Shipshape exports, defined in one place: names follow
// Prometheus conventions with a `shipshape_` prefix, label sets are bounded, and
// the adapters at the bottom turn the hooks of the workqueue, informer
// supervisor, leader elector and event recorder into these series. The adapters
// are typed by shape, not by importing the runtime: metrics sit below it.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Severity } from '../api/severity.js';
import { VERSION } from '../version.js';

// The bounded label values, as constants: the alert rules, the dashboard and
// their tests read them from here, so a query cannot select a value the
// operator never writes.

/**
 * shipshape_violations{severity}: Prometheus label values are lower case, so
 * a finding's severity (Critical, High, ...) is written through this table.
 */
export const SEVERITY_LABEL_VALUES = {
  Critical: 'critical',
  High: 'high',
  Medium: 'medium',
  Low: 'low',
  Info: 'info',
} as const satisfies Record<Severity, string>;
export type SeverityLabel = (typeof SEVERITY_LABEL_VALUES)[Severity];

/** The value of shipshape_violations{severity} for a finding of this severity. */
export function severityLabel(severity: Severity): SeverityLabel {
  return SEVERITY_LABEL_VALUES[severity];
}

export const COMPLIANCE_VALUES = ['compliant', 'noncompliant', 'unknown'] as const;
export const RECONCILE_RESULT_VALUES = ['success', 'error', 'requeue', 'terminal'] as const;
export const REPORT_WRITE_RESULT_VALUES = ['created', 'updated', 'unchanged', 'conflict', 'error'] as const;
export const EVENT_RESULT_VALUES = ['sent', 'deduplicated', 'ratelimited', 'error'] as const;
/** shipshape_images{analysis}: the state of the last analysis of each image the operator tracks. */
export const IMAGE_ANALYSIS_VALUES = ['pending', 'analyzed', 'failed'] as const;

export type Compliance = (typeof COMPLIANCE_VALUES)[number];
export type ReconcileResultLabel = (typeof RECONCILE_RESULT_VALUES)[number];
export type ReportWriteResult = (typeof REPORT_WRITE_RESULT_VALUES)[number];
export type EventResultLabel = (typeof EVENT_RESULT_VALUES)[number];
export type ImageAnalysisLabel = (typeof IMAGE_ANALYSIS_VALUES)[number];
/** Outcomes of one signature verification (an image digest against one policy requirement). */
export const SIGNATURE_RESULT_VALUES = ['verified', 'unsigned', 'invalid', 'error'] as const;
export type SignatureResultLabel = (typeof SIGNATURE_RESULT_VALUES)[number];

/** How the webhook answered one admission review (skipped: nothing of it is judged). */
export const ADMISSION_RESULT_VALUES = ['allowed', 'warned', 'denied', 'skipped', 'error'] as const;
export type AdmissionResultLabel = (typeof ADMISSION_RESULT_VALUES)[number];

/**
 * Every label whose values are a closed set, by metric. Labels not listed
 * here carry names from the cluster (namespace, policy, rule, queue, ...).
 */
export const BOUNDED_LABEL_VALUES: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  shipshape_violations: { severity: Object.values(SEVERITY_LABEL_VALUES) },
  shipshape_workloads: { compliance: COMPLIANCE_VALUES },
  shipshape_reconcile_total: { result: RECONCILE_RESULT_VALUES },
  shipshape_report_writes_total: { result: REPORT_WRITE_RESULT_VALUES },
  shipshape_events_total: { result: EVENT_RESULT_VALUES },
  shipshape_images: { analysis: IMAGE_ANALYSIS_VALUES },
  shipshape_signature_verifications_total: { result: SIGNATURE_RESULT_VALUES },
  shipshape_admission_requests_total: { result: ADMISSION_RESULT_VALUES },
  shipshape_image_vulnerabilities: { severity: Object.values(SEVERITY_LABEL_VALUES) },
};

// Reconciles span milliseconds (cached) to minutes (first scan of a large image).
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
// Queue waits are usually tiny but back off up to the 1000 s rate-limiter cap.
const QUEUE_BUCKETS = [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1000];

export interface ShipshapeMetrics {
  registry: Registry;
  violations: Gauge<'namespace' | 'policy' | 'rule' | 'severity'>;
  workloads: Gauge<'namespace' | 'compliance'>;
  reconcileTotal: Counter<'controller' | 'result'>;
  reconcileDuration: Histogram<'controller'>;
  workqueueDepth: Gauge<'queue'>;
  workqueueAdds: Counter<'queue'>;
  workqueueQueueDuration: Histogram<'queue'>;
  workqueueWorkDuration: Histogram<'queue'>;
  workqueueRetries: Counter<'queue'>;
  informerRestarts: Counter<'resource' | 'reason'>;
  reportWrites: Counter<'kind' | 'result'>;
  events: Counter<'type' | 'reason' | 'result'>;
  images: Gauge<'analysis' | 'reason'>;
  signatureVerifications: Counter<'result'>;
  imageVulnerabilities: Gauge<'severity'>;
  leader: Gauge;
  buildInfo: Gauge<'version'>;
  admissionRequests: Counter<'operation' | 'kind' | 'result'>;
  admissionDuration: Histogram<'kind'>;
}

export interface MetricsOptions {
  /** Value of shipshape_build_info{version}. Default: package.json version. */
  version?: string;
  /** Register Node.js process metrics (process_*, nodejs_*). Default true. */
  defaultMetrics?: boolean;
}

/** A fresh registry holding every Shipshape metric (one per process; tests make their own). */
export function createMetrics(options: MetricsOptions = {}): ShipshapeMetrics {
  const registry = new Registry();
  // Process and Node.js metrics carry the prefix too, so every series of ours is found under shipshape_.
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'shipshape_' });
  const registers = [registry];

  const metrics: ShipshapeMetrics = {
    registry,
    violations: new Gauge({
      name: 'shipshape_violations',
      help: 'Current policy violations, by namespace, policy, rule and severity.',
      labelNames: ['namespace', 'policy', 'rule', 'severity'] as const,
      registers,
    }),
    workloads: new Gauge({
      name: 'shipshape_workloads',
      help: 'Workloads with a SecurityReport, by namespace and compliance (compliant, noncompliant, unknown).',
      labelNames: ['namespace', 'compliance'] as const,
      registers,
    }),
    reconcileTotal: new Counter({
      name: 'shipshape_reconcile_total',
      help: 'Reconciles finished, by controller and result (success, error, requeue, terminal).',
      labelNames: ['controller', 'result'] as const,
      registers,
    }),
    reconcileDuration: new Histogram({
      name: 'shipshape_reconcile_duration_seconds',
      help: 'Time spent in one reconcile, by controller.',
      labelNames: ['controller'] as const,
      buckets: DURATION_BUCKETS,
      registers,
    }),
    workqueueDepth: new Gauge({
      name: 'shipshape_workqueue_depth',
      help: 'Keys waiting in the workqueue.',
      labelNames: ['queue'] as const,
      registers,
    }),
    workqueueAdds: new Counter({
      name: 'shipshape_workqueue_adds_total',
      help: 'Keys accepted into the workqueue (deduplicated adds are not counted).',
      labelNames: ['queue'] as const,
      registers,
    }),
    workqueueQueueDuration: new Histogram({
      name: 'shipshape_workqueue_queue_duration_seconds',
      help: 'Time a key waited in the workqueue before a worker picked it up.',
      labelNames: ['queue'] as const,
      buckets: QUEUE_BUCKETS,
      registers,
    }),
    workqueueWorkDuration: new Histogram({
      name: 'shipshape_workqueue_work_duration_seconds',
      help: 'Time a worker spent on one key.',
      labelNames: ['queue'] as const,
      buckets: DURATION_BUCKETS,
      registers,
    }),
    workqueueRetries: new Counter({
      name: 'shipshape_workqueue_retries_total',
      help: 'Keys re-queued with backoff after a failed reconcile.',
      labelNames: ['queue'] as const,
      registers,
    }),
    informerRestarts: new Counter({
      name: 'shipshape_informer_restarts_total',
      help: 'Informers restarted after an error or a silence, by resource and reason (error, idle).',
      labelNames: ['resource', 'reason'] as const,
      registers,
    }),
    reportWrites: new Counter({
      name: 'shipshape_report_writes_total',
      help: 'Report writes to the API server, by report kind and result.',
      labelNames: ['kind', 'result'] as const,
      registers,
    }),
    events: new Counter({
      name: 'shipshape_events_total',
      help: 'Kubernetes Events recorded, by type, reason and result (sent, deduplicated, ratelimited, error).',
      labelNames: ['type', 'reason', 'result'] as const,
      registers,
    }),
    images: new Gauge({
      name: 'shipshape_images',
      help: 'Images the operator tracks, by the state of their last analysis (pending, analyzed, failed) and, for failed ones, the reason.',
      labelNames: ['analysis', 'reason'] as const,
      registers,
    }),
    signatureVerifications: new Counter({
      name: 'shipshape_signature_verifications_total',
      help: 'Signature verifications of an image digest against a policy requirement, by result (verified, unsigned, invalid, error); cached verdicts are not counted.',
      labelNames: ['result'] as const,
      registers,
    }),
    imageVulnerabilities: new Gauge({
      name: 'shipshape_image_vulnerabilities',
      help: 'Vulnerabilities in the image digests the operator knows, summed over digests (each digest once, however many pods run it), by severity (critical, high, medium, low, info).',
      labelNames: ['severity'] as const,
      registers,
    }),
    leader: new Gauge({
      name: 'shipshape_leader',
      help: '1 while this replica holds the leader lease, else 0.',
      registers,
    }),
    admissionRequests: new Counter({
      name: 'shipshape_admission_requests_total',
      help: 'Admission reviews answered, by operation, workload kind and result (allowed, warned, denied, skipped, error).',
      labelNames: ['operation', 'kind', 'result'] as const,
      registers,
    }),
    admissionDuration: new Histogram({
      name: 'shipshape_admission_duration_seconds',
      help: 'Time from receiving an admission review to answering it, by workload kind.',
      labelNames: ['kind'] as const,
      // The API server waits at most timeoutSeconds (5 by default); most answers take a few ms.
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    buildInfo: new Gauge({
      name: 'shipshape_build_info',
      help: 'Always 1; the version label says which Shipshape build is running.',
      labelNames: ['version'] as const,
      registers,
    }),
  };
  metrics.leader.set(0);
  metrics.buildInfo.set({ version: options.version ?? VERSION }, 1);
  return metrics;
}

/** Typed helpers for the series the reconciler and report writers update. */
export function recordReconcile(
  metrics: ShipshapeMetrics,
  controller: string,
  result: ReconcileResultLabel,
  seconds: number,
): void {
  metrics.reconcileTotal.inc({ controller, result });
  metrics.reconcileDuration.observe({ controller }, seconds);
}

/**
 * Sets shipshape_images from a count of the tracked images: `failed` counts
 * by failure reason (a bounded set of CamelCase reasons). Counts absent from
 * a call drop to 0, so an image that recovers clears its failure series.
 */
export function recordImageAnalyses(
  metrics: ShipshapeMetrics,
  counts: { pending: number; analyzed: number; failed: Readonly<Record<string, number>> },
): void {
  metrics.images.set({ analysis: 'pending' }, counts.pending);
  metrics.images.set({ analysis: 'analyzed' }, counts.analyzed);
  const reasons = failureReasonsSeen.get(metrics) ?? new Set<string>();
  failureReasonsSeen.set(metrics, reasons);
  for (const reason of Object.keys(counts.failed)) reasons.add(reason);
  for (const reason of reasons) {
    metrics.images.set({ analysis: 'failed', reason }, counts.failed[reason] ?? 0);
  }
}

/** Failure reasons written so far, per registry, so a reason that no longer occurs is set to 0. */
const failureReasonsSeen = new WeakMap<ShipshapeMetrics, Set<string>>();

/** Sets shipshape_image_vulnerabilities from the summed counts of the known digests. */
export function recordImageVulnerabilities(
  metrics: ShipshapeMetrics,
  counts: Readonly<Record<SeverityLabel, number>>,
): void {
  for (const severity of Object.values(SEVERITY_LABEL_VALUES))
    metrics.imageVulnerabilities.set({ severity }, counts[severity]);
}

export function recordSignatureVerification(metrics: ShipshapeMetrics, result: SignatureResultLabel): void {
  metrics.signatureVerifications.inc({ result });
}

export function recordReportWrite(metrics: ShipshapeMetrics, kind: string, result: ReportWriteResult): void {
  metrics.reportWrites.inc({ kind, result });
}

export function workQueueMetricsFor(metrics: ShipshapeMetrics, queue: string) {
  return {
    depth: (keys: number) => metrics.workqueueDepth.set({ queue }, keys),
    added: () => metrics.workqueueAdds.inc({ queue }),
    queueLatency: (seconds: number) => metrics.workqueueQueueDuration.observe({ queue }, seconds),
    workDuration: (seconds: number) => metrics.workqueueWorkDuration.observe({ queue }, seconds),
    retried: () => metrics.workqueueRetries.inc({ queue }),
  };
}

export function informerMetricsFor(metrics: ShipshapeMetrics, resource: string) {
  return { restarted: (reason: string) => metrics.informerRestarts.inc({ resource, reason }) };
}

export function leaderMetricsFor(metrics: ShipshapeMetrics) {
  return { leading: (isLeader: boolean) => metrics.leader.set(isLeader ? 1 : 0) };
}

export function eventMetricsFor(metrics: ShipshapeMetrics) {
  return {
    recorded: (type: string, reason: string, result: EventResultLabel) =>
      metrics.events.inc({ type, reason, result }),
  };
}
