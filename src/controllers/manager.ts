// The operator's composition root: informer caches for everything it watches,
// handlers that turn changes into keys, two work queues (workloads and policy
// statuses) whose workers run only on the elected leader, and the writers.
import {
  CoordinationV1Api,
  EventsV1Api,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { AnySecurityPolicy } from '../api/policy-types.js';
import type { SecurityReport } from '../api/report-types.js';
import type { Logger } from '../runtime/log.js';
import {
  eventMetricsFor,
  informerMetricsFor,
  leaderMetricsFor,
  recordReconcile,
  recordReportWrite,
  workQueueMetricsFor,
  type ShipshapeMetrics,
} from '../metrics/registry.js';
import { compilePolicy, policyName } from '../policy/compile.js';
import { policyAppliesTo, type PolicyTarget } from '../policy/match.js';
import { podTemplateOf, type WorkloadObject } from '../policy/workload.js';
import { EventRecorder } from '../runtime/event-recorder.js';
import { customObjectsImageReportClient, ImageReportWriter } from './image/io.js';
import type { ImageAnalysisSuccess } from '../image/image-analyzer.js';
import type { ImageScanner, ImageScanStatus } from '../image/image-service.js';
import { customObjectsReportClient, ReportWriter } from './workload/io.js';
import { ClusterCache, type ChangeType } from '../runtime/cluster-cache.js';
import { ComplianceIndex } from './compliance-index.js';
import { LeaderElector } from '../runtime/leader-election.js';
import { customObjectsPolicyStatusClient, PolicyStatusReconciler } from './policy-status/reconciler.js';
import { ALL_RESOURCES, type WatchedResource } from './resources.js';
import { WorkQueue } from '../runtime/workqueue.js';
import { formatWorkloadKey, type WorkloadKey } from './workload/key.js';
import { WORKLOAD_KINDS, WorkloadReconciler } from './workload/reconciler.js';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  metrics: ShipshapeMetrics;
  log: Logger;
  /** This replica's identity (pod name). */
  identity: string;
  leaderElection: {
    enabled: boolean;
    namespace: string;
    name: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
  };
  excludedNamespaces: ReadonlySet<string>;
  workers: number;
  /** Image analysis; without it image rules see no facts and reports show no image status. */
  imageScanner?: ImageScanner;
  informerIdleTimeoutMs?: number;
  /** Delay that batches policy status updates while many workloads change. */
  policyStatusDelayMs?: number;
}

const WORKLOAD_KIND_SET = new Set<string>(WORKLOAD_KINDS);

export class Operator {
  private readonly cache: ClusterCache;
  private readonly index: ComplianceIndex;
  private readonly reconciler: WorkloadReconciler;
  private readonly policyStatus: PolicyStatusReconciler;
  private readonly events: EventRecorder;
  private readonly elector: LeaderElector | undefined;
  private readonly knownPolicies = new Map<string, AnySecurityPolicy>();
  private workloadQueue: WorkQueue | undefined;
  private policyQueue: WorkQueue | undefined;
  private imageQueue: WorkQueue | undefined;
  private readonly imageReports: ImageReportWriter;
  /** Analysed images by digest, for their ImageReports, with what was last published. */
  private readonly analyzedImages = new Map<
    string,
    { references: Set<string>; analysis: ImageAnalysisSuccess; published?: string }
  >();
  private stopped = false;

  constructor(private readonly options: OperatorOptions) {
    const { kubeConfig, metrics, log } = options;
    this.index = new ComplianceIndex({ violations: metrics.violations, workloads: metrics.workloads });
    this.cache = new ClusterCache({
      kubeConfig,
      resources: ALL_RESOURCES,
      onChange: (resource, type, object) => this.onChange(resource, type, object),
      metricsFor: (resource) => informerMetricsFor(metrics, resource),
      onError: (error, resource) =>
        log.warn('informer failed; restarting', { controller: 'informer', resource, error: message(error) }),
      idleTimeoutMs: options.informerIdleTimeoutMs,
    });
    this.events = new EventRecorder({
      client: kubeConfig.makeApiClient(EventsV1Api),
      reportingInstance: options.identity,
      metrics: eventMetricsFor(metrics),
      onError: (error, event) =>
        log.warn('event not recorded', {
          controller: 'events',
          reason: event.reason,
          name: event.regarding.name,
          namespace: event.regarding.namespace,
          error: message(error),
        }),
    });
    const scanner = options.imageScanner;
    const writer = new ReportWriter(customObjectsReportClient(kubeConfig), (result) =>
      recordReportWrite(metrics, 'SecurityReport', result),
    );
    this.reconciler = new WorkloadReconciler({
      store: this.cache,
      writer,
      index: this.index,
      recordEvent: (event) => this.events.record(event),
      policiesTouched: (policies) => {
        for (const policy of policies)
          this.policyQueue?.addAfter(policy, options.policyStatusDelayMs ?? 1000);
      },
      images: scanner && {
        statusOf: (namespace, spec, image) => scanner.statusOf(namespace, spec, image),
        factsSource: (namespace, spec) => scanner.factsSource(namespace, spec),
        analyzed: (image, status) => this.noteAnalyzed(image, status),
      },
      isExcludedNamespace: (namespace) => options.excludedNamespaces.has(namespace),
    });
    this.imageReports = new ImageReportWriter(customObjectsImageReportClient(kubeConfig), (result) =>
      recordReportWrite(metrics, 'ImageReport', result),
    );
    this.policyStatus = new PolicyStatusReconciler(
      this.cache,
      this.index,
      customObjectsPolicyStatusClient(kubeConfig),
    );
    if (options.leaderElection.enabled) {
      this.elector = new LeaderElector({
        client: kubeConfig.makeApiClient(CoordinationV1Api),
        namespace: options.leaderElection.namespace,
        name: options.leaderElection.name,
        identity: options.identity,
        leaseDurationMs: options.leaderElection.leaseDurationMs,
        renewDeadlineMs: options.leaderElection.renewDeadlineMs,
        retryPeriodMs: options.leaderElection.retryPeriodMs,
        metrics: leaderMetricsFor(metrics),
        callbacks: {
          onStartedLeading: () => {
            log.info('became leader', { controller: 'leader-election', identity: options.identity });
            this.startWorkers();
          },
          onStoppedLeading: async () => {
            log.info('stopped leading', { controller: 'leader-election', identity: options.identity });
            await this.stopWorkers();
          },
          onNewLeader: (identity) =>
            log.info('leader observed', { controller: 'leader-election', leader: identity }),
        },
        onError: (error) =>
          log.warn('leader election call failed', { controller: 'leader-election', error: message(error) }),
      });
    }
  }

  /** Starts the caches (resolves once each has listed) and then competes for leadership. */
  async start(): Promise<void> {
    await this.cache.start();
    this.options.log.info('caches synced', { controller: 'operator' });
    if (this.stopped) return;
    if (this.elector) this.elector.start();
    else {
      this.options.metrics.leader.set(1);
      this.startWorkers();
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.elector) await this.elector.stop();
    await this.stopWorkers();
    await this.cache.stop();
    await this.events.shutdown();
  }

  isLeader(): boolean {
    return this.workloadQueue !== undefined;
  }

  private startWorkers(): void {
    if (this.workloadQueue || this.stopped) return;
    const { metrics, log } = this.options;
    const workloads = new WorkQueue({
      metrics: workQueueMetricsFor(metrics, 'workloads'),
      onError: (key, error) =>
        log.warn('reconcile failed; will retry', { controller: 'workload', key, error: message(error) }),
    });
    const policies = new WorkQueue({
      metrics: workQueueMetricsFor(metrics, 'policies'),
      onError: (key, error) =>
        log.warn('policy status failed; will retry', { controller: 'policy', key, error: message(error) }),
    });
    const images = new WorkQueue({
      metrics: workQueueMetricsFor(metrics, 'images'),
      onError: (key, error) =>
        log.warn('image report failed; will retry', {
          controller: 'image',
          image: key,
          error: message(error),
        }),
    });
    this.workloadQueue = workloads;
    this.policyQueue = policies;
    this.imageQueue = images;
    images.run(1, (digest) => this.timed('image', () => this.publishImageReport(digest)));
    for (const [digest, entry] of this.analyzedImages) if (entry.published === undefined) images.add(digest);
    workloads.run(this.options.workers, (key) =>
      this.timed('workload', () => this.reconciler.reconcile(key)),
    );
    policies.run(1, (key) => this.timed('policy', async () => void (await this.policyStatus.reconcile(key))));
    for (const key of this.reconciler.allWorkloads()) workloads.add(formatWorkloadKey(key));
    for (const policy of this.reconciler.policies()) policies.addAfter(policyName(policy), 2000);
  }

  private async stopWorkers(): Promise<void> {
    const queues = [this.workloadQueue, this.policyQueue, this.imageQueue];
    this.workloadQueue = undefined;
    this.policyQueue = undefined;
    this.imageQueue = undefined;
    await Promise.all(queues.map((q) => q?.shutDown()));
  }

  private async timed(controller: string, work: () => Promise<void>): Promise<void> {
    const started = performance.now();
    try {
      await work();
      recordReconcile(this.options.metrics, controller, 'success', (performance.now() - started) / 1000);
    } catch (error) {
      recordReconcile(this.options.metrics, controller, 'error', (performance.now() - started) / 1000);
      throw error;
    }
  }

  /** Event handlers only enqueue keys. */
  private onChange(resource: WatchedResource, type: ChangeType, object: KubernetesObject): void {
    const queue = this.workloadQueue;
    if (resource.kind === 'SecurityPolicy' || resource.kind === 'ClusterSecurityPolicy') {
      this.onPolicyChange(type, object as AnySecurityPolicy & KubernetesObject);
      return;
    }
    if (resource.kind === 'Pod') this.reconciler.notePod(type, object);
    if (!queue) return;
    if (WORKLOAD_KIND_SET.has(resource.kind)) {
      const top = this.reconciler.topWorkloadOf(object);
      if (top) queue.add(formatWorkloadKey(top));
    } else if (resource.kind === 'Namespace') {
      if (type !== 'delete')
        for (const key of this.reconciler.allWorkloads(object.metadata?.name))
          queue.add(formatWorkloadKey(key));
    } else if (resource.kind === 'SecurityReport') {
      const subject = (object as SecurityReport & KubernetesObject).spec?.subject;
      const namespace = object.metadata?.namespace;
      if (subject?.kind && subject.name && namespace)
        queue.add(formatWorkloadKey({ kind: subject.kind, namespace, name: subject.name }));
    }
  }

  /** A policy change re-evaluates exactly the workloads that it matched before or matches now. */
  private onPolicyChange(type: ChangeType, policy: AnySecurityPolicy & KubernetesObject): void {
    const id = `${policy.kind}/${policy.metadata?.namespace ?? ''}/${policy.metadata?.name}`;
    const before = this.knownPolicies.get(id);
    if (type === 'delete') this.knownPolicies.delete(id);
    else this.knownPolicies.set(id, policy);
    const queue = this.workloadQueue;
    if (!queue) return;
    if (type !== 'delete') this.policyQueue?.add(policyName(policy));
    // Status-only updates (our own writes) change nothing that matching depends on.
    if (type === 'update' && before && before.metadata.generation === policy.metadata.generation) return;
    const candidates = [before, type === 'delete' ? undefined : policy].filter(
      (p): p is AnySecurityPolicy => !!p,
    );
    const compiled = candidates.flatMap((p) => {
      try {
        return [compilePolicy(p)];
      } catch {
        return [];
      }
    });
    for (const key of this.reconciler.allWorkloads()) {
      const target = this.targetOf(key);
      if (target && compiled.some((p) => policyAppliesTo(p, target))) queue.add(formatWorkloadKey(key));
    }
  }

  /** A scan finished: reconcile the workloads in that namespace that run the image. */
  imageScanned(image: string, namespace: string): void {
    const queue = this.workloadQueue;
    if (!queue) return;
    for (const key of this.reconciler.allWorkloads(namespace)) {
      if (this.targetOf(key)?.images?.includes(image)) queue.add(formatWorkloadKey(key));
    }
  }

  private noteAnalyzed(image: string, status: Extract<ImageScanStatus, { state: 'Analyzed' }>): void {
    let entry = this.analyzedImages.get(status.digest);
    if (!entry) {
      // Bounded like the scanner: forget the oldest digests first.
      if (this.analyzedImages.size >= 4096)
        this.analyzedImages.delete(this.analyzedImages.keys().next().value!);
      entry = { references: new Set(), analysis: status.analysis };
      this.analyzedImages.set(status.digest, entry);
    }
    entry.analysis = status.analysis;
    if (entry.references.size < 16) entry.references.add(image);
    if (entry.published !== imageFingerprint(entry)) this.imageQueue?.add(status.digest);
  }

  private async publishImageReport(digest: string): Promise<void> {
    const entry = this.analyzedImages.get(digest);
    if (!entry) return;
    const fingerprint = imageFingerprint(entry);
    if (entry.published === fingerprint) return;
    await this.imageReports.publish({
      digest,
      references: [...entry.references].sort(),
      analysis: entry.analysis,
      now: new Date(),
    });
    entry.published = fingerprint;
  }

  private targetOf(key: WorkloadKey): PolicyTarget | undefined {
    const workload = this.cache.get<WorkloadObject>(key.kind, key.namespace, key.name);
    const template = workload && podTemplateOf(workload);
    if (!template) return undefined;
    return {
      namespace: key.namespace,
      namespaceLabels: this.cache.get('Namespace', undefined, key.namespace)?.metadata?.labels,
      kind: key.kind,
      labels: template.metadata?.labels ?? {},
      images: [...(template.spec.initContainers ?? []), ...(template.spec.containers ?? [])].map(
        (c) => c.image ?? '',
      ),
    };
  }
}

function imageFingerprint(entry: { references: Set<string>; analysis: ImageAnalysisSuccess }): string {
  return JSON.stringify([
    [...entry.references].sort(),
    entry.analysis.manifestDigest,
    entry.analysis.inventory.packages.length,
  ]);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
