// Reconciles one workload: evaluate its pod template against the policies that
// match it, then make its SecurityReport, the compliance tally, Events and
// metrics agree with the result. Idempotent; writes only differences.
import type { KubernetesObject, V1Namespace, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import type { AnySecurityPolicy } from '../../api/policy-types.js';
import type { SecurityReport } from '../../api/report-types.js';
import { compilePolicy, type CompiledPolicy } from '../../policy/compile.js';
import { evaluateWorkload } from '../../policy/evaluate.js';
import type { ImageFactsSource } from '../../policy/image-facts.js';
import { matchingPolicies } from '../../policy/match.js';
import { podTemplateOf, type WorkloadObject } from '../../policy/workload.js';
import type { EventSpec } from '../../runtime/event-recorder.js';
import { buildSecurityReport, findingIdentity, isViolation, sameReport } from '../../report/security-report.js';
import type { ReportWriter } from './io.js';
import { reportedAnalysisOf, type ImageScanStatus } from '../../image/image-service.js';
import type { ComplianceIndex } from '../compliance-index.js';
import { resolveTopController } from './owners.js';
import { formatWorkloadKey, parseWorkloadKey, reportNameFor, type WorkloadKey } from './key.js';

/** The seam to image analysis (ImageScanner in production). */
export interface ImageFactsProvider {
  /** What is known of `image` for pods with this spec; starts a scan when nothing (fresh) is. */
  statusOf(namespace: string, podSpec: V1PodSpec, image: string): ImageScanStatus;
  factsSource(namespace: string, podSpec: V1PodSpec): ImageFactsSource;
  /** An analysed image, for its ImageReport. */
  analyzed?(image: string, status: Extract<ImageScanStatus, { state: 'Analyzed' }>): void;
}

/** Read access to the informer caches. */
export interface ObjectStore {
  get<T extends KubernetesObject = KubernetesObject>(
    kind: string,
    namespace: string | undefined,
    name: string,
  ): T | undefined;
  list<T extends KubernetesObject = KubernetesObject>(kind: string, namespace?: string): T[];
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
  now?: () => Date;
}

export const WORKLOAD_KINDS = [
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'CronJob',
  'Job',
  'ReplicaSet',
  'ReplicationController',
  'Pod',
] as const;

const WATCHED = new Set<string>(WORKLOAD_KINDS);

/** How long our own write may stay ahead of the informer cache before we stop trusting it. */
const OWN_WRITE_TTL_MS = 30_000;

export class WorkloadReconciler {
  private readonly now: () => Date;
  /**
   * Reports this replica wrote that the cache may not show yet, keyed by
   * namespace/name, with the resourceVersions they replaced: reconciling again
   * before the watch delivers our write must not create or rewrite it again.
   * A write over our own earlier write inherits its versions, as the cache may
   * still show any of them (or no report at all).
   */
  private readonly podOwner = new Map<string, string>();
  private readonly podsByWorkload = new Map<string, Set<string>>();
  private readonly ownWrites = new Map<
    string,
    { replacedVersions: Set<string | undefined>; report: SecurityReport; at: number }
  >();

  constructor(private readonly deps: WorkloadReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** The top-level workload of any watched object, or undefined when its chain is not cached yet. */
  topWorkloadOf(object: KubernetesObject): WorkloadKey | undefined {
    const lookup = (kind: string, namespace: string, name: string) =>
      WATCHED.has(kind) ? this.deps.store.get(kind, namespace, name) : undefined;
    const resolution = resolveTopController(object, lookup);
    let top = resolution.workload;
    if (resolution.outcome === 'owner-missing') {
      // An owner of a kind we do not watch (a custom controller): report on the highest kind we know.
      // A missing owner of a watched kind is a cache race; its own add event will enqueue the right key.
      if (WATCHED.has(top.kind)) return undefined;
      const below = resolution.chain[resolution.chain.length - 2];
      if (!below) return undefined;
      top = below;
    } else if (resolution.outcome !== 'complete') {
      return undefined;
    }
    const { kind, namespace, name } = top;
    if (!WATCHED.has(kind) || !namespace) return undefined;
    return { kind, namespace, name };
  }

  /** Every top-level workload in the caches (optionally one namespace). */
  allWorkloads(namespace?: string): WorkloadKey[] {
    const keys: WorkloadKey[] = [];
    for (const kind of WORKLOAD_KINDS) {
      for (const object of this.deps.store.list(kind, namespace)) {
        const top = this.topWorkloadOf(object);
        if (top && top.kind === kind && top.name === object.metadata?.name) keys.push(top);
      }
    }
    return keys;
  }

  policies(): AnySecurityPolicy[] {
    return [
      ...this.deps.store.list<AnySecurityPolicy & KubernetesObject>('SecurityPolicy'),
      ...this.deps.store.list<AnySecurityPolicy & KubernetesObject>('ClusterSecurityPolicy'),
    ];
  }

  async reconcile(keyText: string): Promise<void> {
    const key = parseWorkloadKey(keyText);
    const workload = this.deps.store.get<WorkloadObject>(key.kind, key.namespace, key.name);
    const stillTop = workload && !workload.metadata?.deletionTimestamp && this.isTop(workload, key);
    const template = stillTop ? podTemplateOf(workload) : undefined;
    if (!workload || !template || this.deps.isExcludedNamespace(key.namespace)) {
      // Gone (Kubernetes GC removes its report through the owner reference) or no longer ours.
      this.deps.policiesTouched(this.deps.index.delete(keyText));
      return;
    }

    const namespace = this.deps.store.get<V1Namespace>('Namespace', undefined, key.namespace);
    const images = [
      ...(template.spec.initContainers ?? []),
      ...(template.spec.containers ?? []),
      ...(template.spec.ephemeralContainers ?? []),
    ].map((c) => c.image ?? '');
    const policies: CompiledPolicy[] = matchingPolicies(this.policies().map(safeCompile).filter(isDefined), {
      namespace: key.namespace,
      namespaceLabels: namespace?.metadata?.labels,
      kind: key.kind,
      labels: template.metadata?.labels ?? {},
      images,
    });
    const existing = this.latestReport(key, workload);
    if (policies.length === 0 && !existing) {
      this.deps.policiesTouched(this.deps.index.delete(keyText));
      return;
    }

    const imageStatus = new Map<string, ImageScanStatus>();
    for (const image of new Set(images)) {
      const status = this.deps.images?.statusOf(key.namespace, template.spec, image);
      if (!status) continue;
      imageStatus.set(image, status);
      if (status.state === 'Analyzed') this.deps.images?.analyzed?.(image, status);
    }
    const facts = this.deps.images?.factsSource(key.namespace, template.spec);
    const findings = evaluateWorkload(workload, policies, facts, { now: this.now() });
    const desired = buildSecurityReport({
      name: reportNameFor(key),
      workload,
      template,
      pods: this.podsOf(key),
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
    // After a restart (or a rescan) the scanner knows less than the stored report did. Do not
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
      return;
    }
    if (!sameReport(existing, desired)) {
      const { stored } = await this.deps.writer.write(desired, existing);
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

  private isTop(workload: KubernetesObject, key: WorkloadKey): boolean {
    const top = this.topWorkloadOf(workload);
    return top !== undefined && top.kind === key.kind && top.name === key.name;
  }

  /**
   * Keeps the pods-by-workload index current; the operator calls it for every
   * pod event, so reconciles need not scan every pod of a namespace.
   */
  notePod(type: 'add' | 'update' | 'delete', pod: KubernetesObject): void {
    const podId = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    const before = this.podOwner.get(podId);
    const top = type === 'delete' ? undefined : this.topWorkloadOf(pod);
    const after = top && top.kind !== 'Pod' ? formatWorkloadKey(top) : undefined;
    if (before === after) return;
    if (before) {
      const pods = this.podsByWorkload.get(before);
      pods?.delete(pod.metadata?.name ?? '');
      if (pods?.size === 0) this.podsByWorkload.delete(before);
      this.podOwner.delete(podId);
    }
    if (after) {
      let pods = this.podsByWorkload.get(after);
      if (!pods) this.podsByWorkload.set(after, (pods = new Set()));
      pods.add(pod.metadata?.name ?? '');
      this.podOwner.set(podId, after);
    }
  }

  /** Pods whose top controller is this workload, for the digests they run. */
  private podsOf(key: WorkloadKey): V1Pod[] {
    if (key.kind === 'Pod') {
      const pod = this.deps.store.get<V1Pod & KubernetesObject>('Pod', key.namespace, key.name);
      return pod ? [pod] : [];
    }
    const indexed = this.podsByWorkload.get(formatWorkloadKey(key));
    if (indexed) {
      return [...indexed]
        .map((name) => this.deps.store.get<V1Pod & KubernetesObject>('Pod', key.namespace, name))
        .filter((pod): pod is V1Pod & KubernetesObject => pod !== undefined);
    }
    // Not indexed yet (its pods arrived before their owners were cached): look them all up.
    return this.deps.store.list<V1Pod & KubernetesObject>('Pod', key.namespace).filter((pod) => {
      const top = this.topWorkloadOf(pod);
      return top?.kind === key.kind && top.name === key.name;
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
