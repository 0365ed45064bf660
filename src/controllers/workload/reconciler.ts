// Reconciles one workload: evaluate its pod template against the policies that
// match it, then make its SecurityReport, the compliance tally, Events and
// metrics agree with the result. Idempotent; writes only differences. When a
// matching policy has a rescan schedule, the result asks to run again then.
import type { KubernetesObject, V1Namespace, V1PodSpec } from '@kubernetes/client-node';
import type { AnySecurityPolicy } from '../../api/policy-types.js';
import type { SecurityReport } from '../../api/report-types.js';
import { compilePolicy, type CompiledPolicy } from '../../policy/compile.js';
import { evaluateWorkload } from '../../policy/evaluate.js';
import type { ImageFactsSource } from '../../policy/image-facts.js';
import { matchingPolicies } from '../../policy/match.js';
import { policyTargetOf } from '../../policy/target.js';
import { podTemplateOf, type WorkloadObject } from '../../policy/workload.js';
import type { EventSpec } from '../../runtime/event-recorder.js';
import {
  buildSecurityReport,
  findingIdentity,
  isViolation,
  sameReport,
} from '../../report/security-report.js';
import { reportedAnalysisOf, type ImageStatus } from '../../image/image-service.js';
import type { ObjectStore } from '../../runtime/cluster-cache.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { done, requeueAfter, TerminalError, type ReconcileResult } from '../../runtime/controller.js';
import type { ComplianceIndex } from '../compliance-index.js';
import type { ReportWriter } from './io.js';
import { parseWorkloadKey, reportNameFor, type WorkloadKey } from './key.js';
import { msUntilNextRescan } from './rescan.js';
import { Workloads } from './workloads.js';

export type { ObjectStore } from '../../runtime/cluster-cache.js';

/** The seam to image analysis (the ImageService in production). */
export interface ImageFactsProvider {
  /** What is known of `image` for pods with this spec; starts a scan when nothing (fresh) is. */
  statusOf(namespace: string, podSpec: V1PodSpec, image: string): ImageStatus;
  factsSource(namespace: string, podSpec: V1PodSpec): ImageFactsSource;
}

export interface WorkloadReconcilerDeps {
  store: ObjectStore;
  writer: ReportWriter;
  index: ComplianceIndex;
  recordEvent: (event: EventSpec) => void;
  /** Called with policies whose status summary may have changed. */
  policiesTouched: (policies: Set<string>) => void;
  /** Image analysis: starts scans of a workload's images and tells what is known of them. */
  images?: ImageFactsProvider;
  /** Namespaces never reported on (the operator's own, kube-system, flags). */
  isExcludedNamespace: (namespace: string) => boolean;
  clock?: Pick<Clock, 'now'>;
}

/** How long our own write may stay ahead of the informer cache before we stop trusting it. */
const OWN_WRITE_TTL_MS = 30_000;

export class WorkloadReconciler {
  private readonly clock: Pick<Clock, 'now'>;
  readonly workloads: Workloads;
  /**
   * Reports this replica wrote that the cache may not show yet, keyed by
   * namespace/name, with the resourceVersions they replaced: reconciling again
   * before the watch delivers our write must not create or rewrite it again.
   * A write over our own earlier write inherits its versions, as the cache may
   * still show any of them (or no report at all).
   */
  private readonly ownWrites = new Map<
    string,
    { replacedVersions: Set<string | undefined>; report: SecurityReport; at: number }
  >();

  constructor(private readonly deps: WorkloadReconcilerDeps) {
    this.clock = deps.clock ?? systemClock;
    this.workloads = new Workloads(deps.store);
  }

  private now(): Date {
    return new Date(this.clock.now());
  }

  policies(): AnySecurityPolicy[] {
    return [
      ...this.deps.store.list<AnySecurityPolicy & KubernetesObject>('SecurityPolicy'),
      ...this.deps.store.list<AnySecurityPolicy & KubernetesObject>('ClusterSecurityPolicy'),
    ];
  }

  async reconcile(keyText: string): Promise<ReconcileResult> {
    const key = parseWorkloadKey(keyText);
    const workload = this.deps.store.get<WorkloadObject>(key.kind, key.namespace, key.name);
    const stillTop = workload && !workload.metadata?.deletionTimestamp && this.workloads.isTop(workload, key);
    const template = stillTop ? podTemplateOf(workload) : undefined;
    if (!workload || !template || this.deps.isExcludedNamespace(key.namespace)) {
      // Gone (Kubernetes GC removes its report through the owner reference) or no longer ours.
      this.deps.policiesTouched(this.deps.index.delete(keyText));
      return done;
    }

    const namespace = this.deps.store.get<V1Namespace>('Namespace', undefined, key.namespace);
    const target = policyTargetOf({
      namespace: key.namespace,
      namespaceLabels: namespace?.metadata?.labels,
      kind: key.kind,
      template,
    });
    const images = target.images ?? [];
    const policies: CompiledPolicy[] = matchingPolicies(
      this.policies().map(safeCompile).filter(isDefined),
      target,
    );
    const existing = this.latestReport(key, workload);
    if (policies.length === 0 && !existing) {
      this.deps.policiesTouched(this.deps.index.delete(keyText));
      return done;
    }
    const rescanIn = msUntilNextRescan(policies.flatMap((p) => p.spec.rescan?.schedule ?? []));
    const result = rescanIn === undefined ? done : requeueAfter(rescanIn);

    const imageStatus = new Map<string, ImageStatus>();
    for (const image of new Set(images)) {
      const status = this.deps.images?.statusOf(key.namespace, template.spec, image);
      if (status) imageStatus.set(image, status);
    }
    const facts = this.deps.images?.factsSource(key.namespace, template.spec);
    const findings = evaluateWorkload(workload, policies, facts, { now: this.now() });
    const desired = buildSecurityReport({
      name: reportNameFor(key),
      workload,
      template,
      pods: this.workloads.podsOf(key),
      findings,
      policies: policies.map((p) => p.name),
      existing,
      now: this.now(),
      imageAnalysis: (image) => {
        const status = imageStatus.get(image);
        if (!status) return {};
        const reported = reportedAnalysisOf(status);
        return status.state === 'Analyzed' ? { ...reported, digest: status.digest } : reported;
      },
    });
    // After a restart (or a rescan) the image service knows less than the stored report did. Do not
    // rewrite a report with less knowledge: the scan's result requeues this workload.
    const waitingForImages = [...imageStatus.values()].some((status) => status.state === 'Pending');
    if (waitingForImages && existing) {
      this.deps.policiesTouched(
        this.deps.index.set(keyText, {
          namespace: key.namespace,
          policies: policies.map((p) => p.name),
          findings,
        }),
      );
      return result;
    }
    if (!sameReport(existing, desired)) {
      const { stored } = await this.deps.writer.write(desired, existing).catch((error: unknown) => {
        // A report our own schema refuses would be refused forever: say so on the workload, once per cause.
        if (error instanceof TerminalError) this.announceRefused(workload, error.message);
        throw error;
      });
      const id = `${key.namespace}/${reportNameFor(key)}`;
      const previous = this.ownWrites.get(id);
      const replacedVersions = new Set(
        previous && previous.report === existing ? previous.replacedVersions : [],
      );
      replacedVersions.add(existing?.metadata.resourceVersion);
      this.ownWrites.set(id, { replacedVersions, report: stored, at: this.now().getTime() });
    }
    this.announce(workload, existing, desired);
    this.deps.policiesTouched(
      this.deps.index.set(keyText, {
        namespace: key.namespace,
        policies: policies.map((p) => p.name),
        findings,
      }),
    );
    return result;
  }

  /** The cached report, or our own newer write when the cache has not caught up with it yet. */
  private latestReport(key: WorkloadKey, workload: KubernetesObject): SecurityReport | undefined {
    const id = `${key.namespace}/${reportNameFor(key)}`;
    const cached = this.deps.store.get<SecurityReport & KubernetesObject>(
      'SecurityReport',
      key.namespace,
      reportNameFor(key),
    );
    const own = this.ownWrites.get(id);
    if (!own) return cached;
    const behind = own.replacedVersions.has(cached?.metadata.resourceVersion ?? undefined);
    const fresh = this.now().getTime() - own.at < OWN_WRITE_TTL_MS;
    if (behind && fresh && own.report.spec.subject.uid === workload.metadata?.uid) return own.report;
    this.ownWrites.delete(id);
    return cached;
  }

  private announceRefused(workload: KubernetesObject, why: string): void {
    this.deps.recordEvent({
      regarding: {
        apiVersion: workload.apiVersion,
        kind: workload.kind,
        name: workload.metadata?.name,
        namespace: workload.metadata?.namespace,
        uid: workload.metadata?.uid,
      },
      type: 'Warning',
      reason: 'ReportRefused',
      action: 'Report',
      note: `Shipshape cannot write this workload's SecurityReport: ${why}`,
    });
  }

  /** Events on transitions only: new violations (Warning) and becoming compliant (Normal). */
  private announce(
    workload: KubernetesObject,
    existing: SecurityReport | undefined,
    desired: SecurityReport,
  ): void {
    const regarding = {
      apiVersion: workload.apiVersion,
      kind: workload.kind,
      name: workload.metadata?.name,
      namespace: workload.metadata?.namespace,
      uid: workload.metadata?.uid,
    };
    const known = new Set((existing?.status?.findings ?? []).map(findingIdentity));
    const fresh = (desired.status?.findings ?? []).filter(
      (f) => isViolation(f) && !known.has(findingIdentity(f)),
    );
    if (fresh.length > 0) {
      const shown = fresh
        .slice(0, 5)
        .map((f) => `${f.ruleId} (${f.severity})${f.container ? ` in ${f.container}` : ''}`);
      const more = fresh.length > shown.length ? ` and ${fresh.length - shown.length} more` : '';
      this.deps.recordEvent({
        regarding,
        type: 'Warning',
        reason: 'PolicyViolation',
        action: 'Evaluate',
        note: `${fresh.length} new policy ${fresh.length === 1 ? 'violation' : 'violations'}: ${shown.join(', ')}${more}. See securityreport ${desired.metadata.name}.`,
      });
    }
    if (existing?.status?.compliant === false && desired.status?.compliant === true) {
      this.deps.recordEvent({
        regarding,
        type: 'Normal',
        reason: 'Compliant',
        action: 'Evaluate',
        note:
          (desired.status.policies?.length ?? 0) === 0
            ? 'No policy applies to this workload any more; its earlier violations are cleared.'
            : `Workload now complies with ${desired.status.policies?.length} applicable policies.`,
      });
    }
  }
}

function safeCompile(policy: AnySecurityPolicy): CompiledPolicy | undefined {
  try {
    return compilePolicy(policy);
  } catch {
    // An invalid policy is reported on its own status (PolicyStatusReconciler), not applied.
    return undefined;
  }
}

const isDefined = <T>(value: T | undefined): value is T => value !== undefined;
