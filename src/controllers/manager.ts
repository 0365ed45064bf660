// The manager: the operator's composition root. It owns the informer caches,
// the controllers (workloads → SecurityReports, policies → their status,
// image digests → ImageReports, and with --validating-admission-policies
// policies → their ValidatingAdmissionPolicies), the event recorder and leader election, and
// only wires them: handlers turn cache changes and image results into keys;
// the controllers' workers run only on the elected leader.
import {
  CoordinationV1Api,
  CoreV1Api,
  EventsV1Api,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { AnySecurityPolicy } from '../api/policy-types.js';
import type { SecurityReport } from '../api/report-types.js';
import type { ImageResult, ImageService } from '../image/image-service.js';
import {
  eventMetricsFor,
  informerMetricsFor,
  leaderMetricsFor,
  recordImageAnalyses,
  recordImageVulnerabilities,
  recordReconcile,
  recordReportWrite,
  workQueueMetricsFor,
  type ShipshapeMetrics,
} from '../metrics/registry.js';
import { policyName } from '../policy/compile.js';
import { ClusterCache, type CachedResource, type ChangeType } from '../runtime/cluster-cache.js';
import { Controller, type Reconciler } from '../runtime/controller.js';
import { EventRecorder, regardingOf } from '../runtime/event-recorder.js';
import { LeaderElector } from '../runtime/leader-election.js';
import type { Logger } from '../runtime/log.js';
import { errorText } from '../runtime/text.js';
import { ComplianceIndex } from './compliance-index.js';
import {
  customObjectsImageReportClient,
  customObjectsImageReportStore,
  ImageReportWriter,
} from './image/io.js';
import { ImageReportCollector } from './image/collector.js';
import { ImageReconciler } from './image/reconciler.js';
import { customObjectsPolicyStatusClient, PolicyStatusReconciler } from './policy-status/reconciler.js';
import { ALL_RESOURCES, WORKLOAD_RESOURCES } from './resources.js';
import { kubernetesVapClient } from './vap/io.js';
import { policyKeyOf, VapReconciler } from './vap/reconciler.js';
import { VAP_RESOURCES } from './vap/resources.js';
import { PolicyFanOut } from './workload/fanout.js';
import { customObjectsReportClient, ReportWriter } from './workload/io.js';
import { formatWorkloadKey, type WorkloadKey } from './workload/key.js';
import { WorkloadReconciler } from './workload/reconciler.js';
import { msUntilNextRescan } from './workload/rescan.js';
import { vexFromTrustMaterial } from './workload/vex.js';
import { trustMaterialFromApi } from '../image/signature-service.js';
import type { VulnerabilityDatabaseProvider } from '../vuln/provider.js';
import type { NewVulnerability } from './image/reconciler.js';

export interface ManagerOptions {
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
  images?: ImageService;
  /** The vulnerability database the image service matches against (its status goes into ImageReports). */
  vulnerabilityDatabase?: VulnerabilityDatabaseProvider;
  informerIdleTimeoutMs?: number;
  /** Delay that batches policy status updates while many workloads change. */
  policyStatusDelayMs?: number;
  /** ImageReport garbage collection: how long nothing may run a digest before its report goes, sweep period. */
  imageReportGc?: { graceMs?: number; intervalMs?: number };
  /**
   * Keep a ValidatingAdmissionPolicy per Enforce/Warn policy (--validating-admission-policies);
   * a cluster policy's binding leaves `excludedNamespaces` out, as the webhook does.
   */
  validatingAdmissionPolicies?: { excludedNamespaces: readonly string[] };
}

/** How often the vulnerability database's status is looked at. */
const DATABASE_WATCH_MS = 5_000;

const VAP_KINDS: ReadonlySet<string> = new Set(VAP_RESOURCES.map((r) => r.kind));

const WORKLOAD_KINDS: ReadonlySet<string> = new Set(WORKLOAD_RESOURCES.map((r) => r.kind));

export class Manager {
  readonly cache: ClusterCache;
  private readonly reconciler: WorkloadReconciler;
  private readonly fanOut: PolicyFanOut;
  private readonly events: EventRecorder;
  private readonly elector: LeaderElector | undefined;
  private readonly workloadController: Controller;
  private readonly policyController: Controller;
  private readonly imageController: Controller | undefined;
  private readonly imageReportCollector: ImageReportCollector | undefined;
  /** The next re-match of cached inventories on the policies' rescan schedules. */
  private rematchTimer: NodeJS.Timeout | undefined;
  private rematchSchedules = '';
  /** Watches the database status: a failed refresh (Stale) must reach every ImageReport. */
  private databaseWatch: NodeJS.Timeout | undefined;
  private databaseState = '';
  private readonly vapController: Controller | undefined;
  private readonly vaps: VapReconciler | undefined;
  private stopped = false;

  constructor(private readonly options: ManagerOptions) {
    const { kubeConfig, metrics, log, images } = options;
    const index = new ComplianceIndex({ violations: metrics.violations, workloads: metrics.workloads });
    this.cache = new ClusterCache({
      kubeConfig,
      resources: options.validatingAdmissionPolicies ? [...ALL_RESOURCES, ...VAP_RESOURCES] : ALL_RESOURCES,
      onChange: (resource, type, object) => this.onChange(resource, type, object),
      metricsFor: (resource) => informerMetricsFor(metrics, resource),
      onError: (error, resource) =>
        log.warn('informer failed; restarting', {
          controller: 'informer',
          resource,
          error: errorText(error),
        }),
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
          error: errorText(error),
        }),
    });
    this.reconciler = new WorkloadReconciler({
      store: this.cache,
      writer: new ReportWriter(customObjectsReportClient(kubeConfig), (result) =>
        recordReportWrite(metrics, 'SecurityReport', result),
      ),
      index,
      recordEvent: (event) => this.events.record(event),
      policiesTouched: (policies) => {
        for (const policy of policies)
          this.policyController.enqueueAfter(policy, options.policyStatusDelayMs ?? 1000);
      },
      ...(images === undefined ? {} : { images }),
      ...(images?.signatures === undefined ? {} : { signatures: images.signatures }),
      vex: vexFromTrustMaterial(trustMaterialFromApi(kubeConfig.makeApiClient(CoreV1Api))),
      isExcludedNamespace: (namespace) => options.excludedNamespaces.has(namespace),
    });
    this.fanOut = new PolicyFanOut(this.cache, this.reconciler.workloads);
    const policyStatus = new PolicyStatusReconciler(
      this.cache,
      index,
      customObjectsPolicyStatusClient(kubeConfig),
    );
    this.workloadController = this.controller('workload', this.reconciler, options.workers);
    this.policyController = this.controller('policy', {
      reconcile: async (key) => void (await policyStatus.reconcile(key)),
    });
    if (options.validatingAdmissionPolicies) {
      this.vaps = new VapReconciler({
        store: this.cache,
        client: kubernetesVapClient(kubeConfig),
        enabled: true,
        excludedNamespaces: options.validatingAdmissionPolicies.excludedNamespaces,
        outcome: (policy, outcome) => {
          if (outcome === 'applied' || outcome === 'deleted')
            log.info(`ValidatingAdmissionPolicy ${outcome}`, { controller: 'vap', policy });
        },
      });
      this.vapController = this.controller('vap', this.vaps);
    }
    if (images !== undefined) {
      const imageReports = new ImageReportWriter(customObjectsImageReportClient(kubeConfig), (result) =>
        recordReportWrite(metrics, 'ImageReport', result),
      );
      const imageReconciler = new ImageReconciler({
        imageRecord: (digest) => images.imageRecord(digest),
        signatureResults: (digest) => images.signatures?.resultsFor(digest) ?? [],
        writer: imageReports,
        workloadsRunning: (digest, references) => this.reconciler.workloads.running(digest, references),
        requeueWorkload: (key) => this.enqueueWorkload(key),
        ...(options.vulnerabilityDatabase === undefined
          ? {}
          : {
              databaseStatus: () => options.vulnerabilityDatabase!.status(),
              newVulnerabilities: (digest, references, added) =>
                this.announceNewVulnerabilities(digest, references, added),
            }),
        reportRefused: (digest, references, problem) =>
          this.announceRefusedReport(digest, references, problem),
      });
      // As many report writers as workload reconcilers: a rollout of hundreds of new
      // images finishes scanning faster than one writer makes three calls per report.
      this.imageController = this.controller('image', imageReconciler, options.workers);
      // The digest's report is gone: what was published, and that it exists, are forgotten.
      const forget = (digest: string): void => {
        imageReconciler.forget(digest);
        imageReports.forget(digest);
      };
      const store = customObjectsImageReportStore(kubeConfig);
      this.imageReportCollector = new ImageReportCollector({
        list: () => store.list(),
        delete: async (name) => {
          await store.delete(name);
          log.info('deleted ImageReport of a digest no workload runs', { controller: 'image', name });
        },
        workloadsRunning: (digest, references) => this.reconciler.workloads.running(digest, references),
        forget,
        knownDigests: () =>
          images.knownDigests().map((digest) => ({
            digest,
            references: images.imageRecord(digest)?.references ?? [],
          })),
        republish: (digest) => {
          forget(digest);
          this.imageController?.enqueue(digest);
        },
        ...options.imageReportGc,
        onError: (error) =>
          log.warn('ImageReport garbage collection failed; next sweep retries', {
            controller: 'image',
            error: errorText(error),
          }),
      });
      images.subscribe((result) => {
        recordImageAnalyses(metrics, images.analysisCounts());
        if (images.matchesVulnerabilities) recordImageVulnerabilities(metrics, images.vulnerabilityTotals());
        this.imageResult(result);
      });
      // A changed verdict: its ImageReport, and the workloads that run the image, again.
      images.signatures?.subscribe((change) => {
        this.imageController?.enqueue(change.digest);
        for (const key of this.reconciler.workloads.using(change.image, change.namespace))
          this.enqueueWorkload(key);
      });
    }
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
            this.startControllers();
          },
          onStoppedLeading: async () => {
            log.info('stopped leading', { controller: 'leader-election', identity: options.identity });
            await this.stopControllers();
          },
          onNewLeader: (identity) =>
            log.info('leader observed', { controller: 'leader-election', leader: identity }),
        },
        onError: (error) =>
          log.warn('leader election call failed', { controller: 'leader-election', error: errorText(error) }),
      });
    }
  }

  /** Starts the caches (resolves once each has listed) and then competes for leadership. */
  async start(): Promise<void> {
    await this.cache.start();
    this.options.log.info('caches synced', { controller: 'manager' });
    if (this.stopped) return;
    if (this.elector) this.elector.start();
    else {
      this.options.metrics.leader.set(1);
      this.startControllers();
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.rematchTimer);
    clearInterval(this.databaseWatch);
    if (this.elector) await this.elector.stop();
    await this.stopControllers();
    await this.cache.stop();
    await this.events.shutdown();
  }

  isLeader(): boolean {
    return this.workloadController.running;
  }

  private controller(name: string, reconciler: Reconciler, workers = 1): Controller {
    const { metrics, log } = this.options;
    return new Controller({
      name,
      reconciler,
      workers,
      hooks: {
        queue: workQueueMetricsFor(metrics, `${name}s`),
        reconciled: (outcome, seconds) => recordReconcile(metrics, name, outcome, seconds),
        failed: (key, error, terminal) =>
          log.warn(terminal ? 'reconcile failed for good; not retrying' : 'reconcile failed; will retry', {
            controller: name,
            key,
            error: errorText(error),
          }),
      },
    });
  }

  private startControllers(): void {
    if (this.workloadController.running || this.stopped) return;
    this.workloadController.start();
    this.policyController.start();
    this.imageController?.start();
    this.imageReportCollector?.start();
    this.vapController?.start();
    // A new leader reconciles everything once; what it already knows of images is published.
    for (const key of this.reconciler.workloads.all()) this.enqueueWorkload(key);
    for (const policy of this.reconciler.policies())
      this.policyController.enqueueAfter(policyName(policy), 2000);
    for (const digest of this.options.images?.knownDigests() ?? []) this.imageController?.enqueue(digest);
    // Every policy, and every generated object (its policy may have gone while no one led).
    if (this.vaps) {
      for (const policy of this.reconciler.policies()) this.vapController?.enqueue(policyName(policy));
      for (const key of this.vaps.keys()) this.vapController?.enqueue(key);
    }
    this.watchDatabaseStatus();
  }

  /**
   * The provider tells only of databases replaced; a refresh that failed changes its status
   * alone. Every ImageReport shows that status, so a change of it requeues every digest.
   */
  private watchDatabaseStatus(): void {
    const provider = this.options.vulnerabilityDatabase;
    if (provider === undefined || this.databaseWatch !== undefined) return;
    const stateOf = (): string => `${provider.status().state}/${provider.status().reason ?? ''}`;
    this.databaseState = stateOf();
    this.databaseWatch = setInterval(() => {
      const now = stateOf();
      if (now === this.databaseState) return;
      this.databaseState = now;
      for (const digest of this.options.images?.knownDigests() ?? []) this.imageController?.enqueue(digest);
    }, DATABASE_WATCH_MS);
    this.databaseWatch.unref();
  }

  private async stopControllers(): Promise<void> {
    await Promise.all([
      this.workloadController.stop(),
      this.policyController.stop(),
      this.imageController?.stop(),
      this.imageReportCollector?.stop(),
      this.vapController?.stop(),
    ]);
  }

  private enqueueWorkload(key: WorkloadKey): void {
    this.workloadController.enqueue(formatWorkloadKey(key));
  }

  /** A scan result changed: the image controller takes analysed digests; a failure requeues its workloads. */
  private imageResult(result: ImageResult): void {
    if (result.digest !== undefined && this.imageController) this.imageController.enqueue(result.digest);
    else
      for (const key of this.reconciler.workloads.using(result.image, result.namespace))
        this.enqueueWorkload(key);
  }

  /**
   * On the soonest of the policies' spec.rescan.schedule, every cached inventory is
   * matched again (no registry request); rescheduled when the set of schedules changes.
   */
  private scheduleRematch(): void {
    const images = this.options.images;
    if (images === undefined || !images.matchesVulnerabilities || this.stopped) return;
    const schedules = [
      ...new Set(
        this.reconciler.policies().flatMap((p) => (p.spec?.rescan?.schedule ? [p.spec.rescan.schedule] : [])),
      ),
    ].sort();
    const key = schedules.join('\n');
    if (key === this.rematchSchedules && this.rematchTimer !== undefined) return;
    this.rematchSchedules = key;
    clearTimeout(this.rematchTimer);
    this.rematchTimer = undefined;
    const delay = msUntilNextRescan(schedules);
    if (delay === undefined) return;
    this.rematchTimer = setTimeout(() => {
      this.rematchTimer = undefined;
      void images.rematchAll().finally(() => this.scheduleRematch());
    }, delay);
    this.rematchTimer.unref();
  }

  /** A re-match found vulnerabilities an image did not have: a Warning on every workload running it. */
  private announceNewVulnerabilities(
    digest: string,
    references: readonly string[],
    added: readonly NewVulnerability[],
  ): void {
    const shown = added
      .slice(0, 5)
      .map((v) => `${v.id} (${v.severity.toLowerCase()}) in ${v.package} ${v.installedVersion}`)
      .join(', ');
    const more = added.length > 5 ? ` and ${added.length - 5} more` : '';
    this.warnWorkloadsRunning(digest, references, {
      reason: 'NewVulnerability',
      action: 'MatchVulnerabilities',
      note: `The vulnerability database now finds ${added.length} new ${added.length === 1 ? 'vulnerability' : 'vulnerabilities'} in image ${digest}: ${shown}${more}. See imagereport ${digest.replace(':', '-')}.`,
    });
  }

  /** A Warning on the workloads that run the digest: its ImageReport will not be written. */
  private announceRefusedReport(digest: string, references: readonly string[], problem: string): void {
    this.warnWorkloadsRunning(digest, references, {
      reason: 'ImageReportRefused',
      action: 'PublishImageReport',
      note: `The ImageReport of image ${digest.slice(0, 140)} cannot be written and is not retried: ${problem}`,
    });
  }

  /** One Warning Event on each workload running the digest (the first 100 of them). */
  private warnWorkloadsRunning(
    digest: string,
    references: readonly string[],
    event: { reason: string; action: string; note: string },
  ): void {
    for (const key of this.reconciler.workloads.running(digest, references).slice(0, 100)) {
      const workload = this.cache.get<KubernetesObject>(key.kind, key.namespace, key.name);
      if (workload === undefined) continue;
      this.events.record({ regarding: regardingOf(workload), type: 'Warning', ...event });
    }
  }

  /** Event handlers only enqueue keys. */
  private onChange(resource: CachedResource, type: ChangeType, object: KubernetesObject): void {
    if (resource.kind === 'SecurityPolicy' || resource.kind === 'ClusterSecurityPolicy') {
      const policy = object as AnySecurityPolicy & KubernetesObject;
      const affected = this.fanOut.affected(type, policy, this.isLeader());
      this.scheduleRematch();
      if (type !== 'delete') this.policyController.enqueue(policyName(policy));
      this.vapController?.enqueue(policyName(policy));
      for (const key of affected) this.enqueueWorkload(key);
      return;
    }
    if (VAP_KINDS.has(resource.kind)) {
      // Edited or deleted by hand, or written by us: converge again (a no-op when the hash matches).
      const key = policyKeyOf(object);
      if (key !== undefined) this.vapController?.enqueue(key);
      return;
    }
    // Followers keep warm caches; a new leader lists every workload anyway.
    if (!this.isLeader()) return;
    if (WORKLOAD_KINDS.has(resource.kind)) {
      const top = this.reconciler.workloads.topWorkloadOf(object);
      if (top) this.enqueueWorkload(top);
    } else if (resource.kind === 'Namespace') {
      if (type !== 'delete')
        for (const key of this.reconciler.workloads.all(object.metadata?.name)) this.enqueueWorkload(key);
    } else if (resource.kind === 'SecurityReport') {
      const subject = (object as SecurityReport & KubernetesObject).spec?.subject;
      const namespace = object.metadata?.namespace;
      if (subject?.kind && subject.name && namespace)
        this.enqueueWorkload({ kind: subject.kind, namespace, name: subject.name });
    }
  }
}
