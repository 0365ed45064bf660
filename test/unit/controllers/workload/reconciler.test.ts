import assert from 'node:assert/strict';
import type { KubernetesObject, V1CronJob, V1Job, V1Namespace, V1PodSpec } from '@kubernetes/client-node';
import type { SecurityPolicySpec } from '../../../../src/api/policy-types.js';
import { ComplianceIndex } from '../../../../src/controllers/compliance-index.js';
import { WorkloadReconciler } from '../../../../src/controllers/workload/reconciler.js';
import {
  createMetrics,
  type ReportWriteResult,
  type ShipshapeMetrics,
} from '../../../../src/metrics/registry.js';
import type { EventSpec } from '../../../../src/runtime/event-recorder.js';
import { ReportWriter } from '../../../../src/controllers/workload/io.js';
import { statusOf } from '../../../../src/runtime/status-writer.js';
import {
  clusterSecurityPolicy,
  deployment,
  FakeReportApi,
  FakeStore,
  goodPodSecurity,
  hardenedContainer,
  NAMESPACE,
  ownerRef,
  pod,
  replicaSetOf,
  rootContainer,
  securityPolicy,
} from '../fake-store.js';

const START = Date.parse('2025-03-01T10:00:00.000Z');
const NGINX_DIGEST = `sha256:${'a'.repeat(64)}`;

const rootSpec: V1PodSpec = { containers: [rootContainer('web', 'nginx:latest')] };
const hardenedSpec: V1PodSpec = { securityContext: goodPodSecurity, containers: [hardenedContainer('web')] };

function namespace(name: string, labels: Record<string, string> = {}): V1Namespace & KubernetesObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

function cronJob(name: string, spec: V1PodSpec): V1CronJob & KubernetesObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: NAMESPACE, uid: `uid-cronjob-${name}` },
    spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec } } } },
  };
}

function jobOf(owner: V1CronJob & KubernetesObject, suffix = '28901234'): V1Job & KubernetesObject {
  const name = `${owner.metadata?.name}-${suffix}`;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: NAMESPACE, uid: `uid-job-${name}`, ownerReferences: [ownerRef(owner)] },
    spec: { template: owner.spec?.jobTemplate.spec?.template ?? {} },
  };
}

describe('WorkloadReconciler', () => {
  let store: FakeStore;
  let api: FakeReportApi;
  let metrics: ShipshapeMetrics;
  let index: ComplianceIndex;
  let writes: ReportWriteResult[];
  let events: EventSpec[];
  let touched: string[];
  let excluded: Set<string>;
  let time: number;
  let reconciler: WorkloadReconciler;

  beforeEach(() => {
    store = new FakeStore().put(namespace(NAMESPACE, { team: 'shop' }), namespace('kube-system'));
    api = new FakeReportApi();
    metrics = createMetrics({ defaultMetrics: false });
    index = new ComplianceIndex({ violations: metrics.violations, workloads: metrics.workloads });
    writes = [];
    events = [];
    touched = [];
    excluded = new Set(['kube-system']);
    time = START;
    reconciler = new WorkloadReconciler({
      store,
      writer: new ReportWriter(api, (result) => writes.push(result)),
      index,
      recordEvent: (event) => events.push(event),
      policiesTouched: (policies) => touched.push(...[...policies].sort()),
      isExcludedNamespace: (ns) => excluded.has(ns),
      clock: { now: () => time },
    });
  });

  /** The watch catches up with every report written so far; later calls start from a clean slate. */
  function settled(): void {
    api.syncReports(store);
    api.calls.length = 0;
    writes.length = 0;
    events.length = 0;
    touched.length = 0;
  }

  async function workloadGauge(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const { labels, value } of (await metrics.workloads.get()).values)
      out[`${labels.namespace} ${labels.compliance}`] = value;
    return out;
  }

  const report = () => api.get(NAMESPACE, 'deployment-web');

  describe('topWorkloadOf', () => {
    it('follows a pod through its ReplicaSet to its Deployment', () => {
      const web = deployment('web', rootSpec);
      const rs = replicaSetOf(web);
      store.put(web, rs);
      assert.deepEqual(reconciler.workloads.topWorkloadOf(pod('web-5d8f7c-x2x9z', rootSpec, rs)), {
        kind: 'Deployment',
        namespace: NAMESPACE,
        name: 'web',
      });
    });

    it('follows a pod through its Job to its CronJob', () => {
      const backup = cronJob('backup', rootSpec);
      const job = jobOf(backup);
      store.put(backup, job);
      assert.deepEqual(reconciler.workloads.topWorkloadOf(pod('backup-28901234-abcde', rootSpec, job)), {
        kind: 'CronJob',
        namespace: NAMESPACE,
        name: 'backup',
      });
    });

    it('takes a pod without a controller as its own workload', () => {
      assert.deepEqual(reconciler.workloads.topWorkloadOf(pod('debug', rootSpec)), {
        kind: 'Pod',
        namespace: NAMESPACE,
        name: 'debug',
      });
    });

    it('stops at the highest kind it watches when the owner is of a kind it does not watch', () => {
      const rollout: KubernetesObject = {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Rollout',
        metadata: { name: 'web', namespace: NAMESPACE, uid: 'uid-rollout-web' },
      };
      const rs = replicaSetOf(deployment('web', rootSpec));
      rs.metadata = { ...rs.metadata, ownerReferences: [ownerRef(rollout)] };
      store.put(rs);
      assert.deepEqual(reconciler.workloads.topWorkloadOf(pod('web-5d8f7c-x2x9z', rootSpec, rs)), {
        kind: 'ReplicaSet',
        namespace: NAMESPACE,
        name: 'web-5d8f7c',
      });
    });

    it('knows nothing yet while an owner of a watched kind is not in the cache', () => {
      const rs = replicaSetOf(deployment('web', rootSpec));
      assert.equal(reconciler.workloads.topWorkloadOf(pod('web-5d8f7c-x2x9z', rootSpec, rs)), undefined);
    });
  });

  describe('allWorkloads', () => {
    it('lists every top-level workload once, and not the objects they control', () => {
      const web = deployment('web', rootSpec);
      const rs = replicaSetOf(web);
      const backup = cronJob('backup', rootSpec);
      const job = jobOf(backup);
      store.put(web, rs, pod('web-5d8f7c-x2x9z', rootSpec, rs), pod('web-5d8f7c-q7w8e', rootSpec, rs));
      store.put(backup, job, pod('backup-28901234-abcde', rootSpec, job), pod('debug', rootSpec));
      const other = deployment('ledger', rootSpec);
      other.metadata = { ...other.metadata, namespace: 'billing' };
      store.put(other);

      const keys = reconciler.workloads.all().map((k) => `${k.kind}/${k.namespace}/${k.name}`);
      assert.deepEqual(keys.sort(), [
        'CronJob/shop/backup',
        'Deployment/billing/ledger',
        'Deployment/shop/web',
        'Pod/shop/debug',
      ]);
      assert.deepEqual(
        reconciler.workloads.all('billing').map((k) => k.name),
        ['ledger'],
      );
    });
  });

  describe('reconcile', () => {
    it('writes a SecurityReport for a workload a policy applies to, and warns about its violations', async () => {
      store.put(securityPolicy('default'), deployment('web', rootSpec));
      await reconciler.reconcile('Deployment/shop/web');

      const written = report();
      assert.ok(written, 'the report exists');
      assert.equal(written.status?.compliant, false);
      assert.deepEqual(written.status?.policies, ['shop/default']);
      assert.ok(written.status?.findings?.some((f) => f.ruleId === 'securityContext.runAsNonRoot'));
      assert.equal(written.metadata.ownerReferences?.[0]?.uid, 'uid-deployment-web');
      assert.deepEqual(writes, ['created']);

      assert.equal(events.length, 1);
      const [event] = events;
      assert.equal(event?.type, 'Warning');
      assert.equal(event?.reason, 'PolicyViolation');
      assert.deepEqual(event?.regarding, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'web',
        namespace: NAMESPACE,
        uid: 'uid-deployment-web',
      });
      const violations = written.status?.findings?.length ?? 0;
      assert.match(event?.note ?? '', new RegExp(`^${violations} new policy violations: `));
      assert.match(event?.note ?? '', /securityContext\.runAsNonRoot \(High\) in web/);
      assert.match(
        event?.note ?? '',
        new RegExp(`and ${violations - 5} more\\. See securityreport deployment-web\\.$`),
      );

      assert.deepEqual(touched, ['shop/default']);
      assert.deepEqual(await workloadGauge(), { 'shop noncompliant': 1 });
      assert.equal(index.summary('shop/default').workloadsMatched, 1);
    });

    it('records the digests the pods of the workload run', async () => {
      const web = deployment('web', rootSpec);
      const rs = replicaSetOf(web);
      store.put(securityPolicy('default'), web, rs);
      store.put(pod('web-5d8f7c-x2x9z', rootSpec, rs, { web: `docker-pullable://nginx@${NGINX_DIGEST}` }));
      await reconciler.reconcile('Deployment/shop/web');
      assert.deepEqual(report()?.spec.containers, [
        { name: 'web', kind: 'container', image: 'nginx:latest', digest: NGINX_DIGEST },
      ]);
    });

    it("finds the pods of a workload through the cache's owner index", async () => {
      const web = deployment('web', rootSpec);
      const rs = replicaSetOf(web);
      store.put(securityPolicy('default'), web, rs);
      const running = pod('web-5d8f7c-x2x9z', rootSpec, rs, {
        web: `docker-pullable://nginx@${NGINX_DIGEST}`,
      });
      const stranger = pod('other', rootSpec, undefined, {
        web: `docker-pullable://nginx@sha256:${'b'.repeat(64)}`,
      });
      store.put(running, stranger);
      await reconciler.reconcile('Deployment/shop/web');
      assert.equal(report()?.spec.containers?.[0]?.digest, NGINX_DIGEST);

      store.remove('Pod', NAMESPACE, running.metadata?.name ?? '');
      await reconciler.reconcile('Deployment/shop/web');
      assert.equal(report()?.spec.containers?.[0]?.digest, undefined, 'the deleted pod no longer counts');
    });

    it('asks to run again at the next rescan of a matching policy, and only then', async () => {
      store.put(
        securityPolicy('nightly', { rescan: { schedule: '*/5 * * * *' } }),
        deployment('web', rootSpec),
      );
      const result = await reconciler.reconcile('Deployment/shop/web');
      assert.ok(result.requeueAfter !== undefined, 'a scheduled policy requeues the workload');
      assert.ok(
        result.requeueAfter >= 1000 && result.requeueAfter <= 5 * 60_000,
        `${result.requeueAfter} ms`,
      );

      store.remove('SecurityPolicy', NAMESPACE, 'nightly');
      store.put(securityPolicy('plain'));
      const byDefault = await reconciler.reconcile('Deployment/shop/web');
      assert.ok(
        byDefault.requeueAfter !== undefined && byDefault.requeueAfter <= 6 * 60 * 60_000,
        'the CRD default schedule (every six hours) applies',
      );

      store.remove('SecurityPolicy', NAMESPACE, 'plain');
      const unmatched = await reconciler.reconcile('Deployment/shop/web');
      assert.equal(unmatched.requeueAfter, undefined, 'no policy, no rescan');
    });

    it('finds the workloads that run a digest through the pod and image indexes', async () => {
      const web = deployment('web', rootSpec);
      const rs = replicaSetOf(web);
      const running = pod('web-5d8f7c-x2x9z', rootSpec, rs, {
        web: `docker-pullable://nginx@${NGINX_DIGEST}`,
      });
      const api2 = deployment(
        'api',
        { containers: [rootContainer('api', 'ghcr.io/acme/api:2')] },
        { app: 'api' },
      );
      store.put(web, rs, running, api2);
      const workloads = reconciler.workloads;
      assert.deepEqual(workloads.running(NGINX_DIGEST), [
        { kind: 'Deployment', namespace: NAMESPACE, name: 'web' },
      ]);
      assert.deepEqual(workloads.running(`sha256:${'f'.repeat(64)}`, ['ghcr.io/acme/api:2']), [
        { kind: 'Deployment', namespace: NAMESPACE, name: 'api' },
      ]);
      assert.deepEqual(workloads.using('ghcr.io/acme/api:2', 'elsewhere'), []);
    });

    it('writes no report into a namespace that is being deleted', async () => {
      store.put(securityPolicy('default'), deployment('web', rootSpec));
      store.put({
        ...namespace(NAMESPACE),
        metadata: { name: NAMESPACE, deletionTimestamp: new Date(START) },
      });
      await reconciler.reconcile('Deployment/shop/web');
      assert.deepEqual(api.calls, []);
      assert.deepEqual(writes, []);
    });

    it('writes nothing and says nothing when evaluated again without a change', async () => {
      store.put(securityPolicy('default'), deployment('web', rootSpec));
      await reconciler.reconcile('Deployment/shop/web');
      settled();
      time += 60_000;

      await reconciler.reconcile('Deployment/shop/web');
      assert.deepEqual(api.calls, []);
      assert.deepEqual(writes, []);
      assert.deepEqual(events, []);
      assert.deepEqual(touched, []);
      assert.deepEqual(await workloadGauge(), { 'shop noncompliant': 1 });
    });

    it('does not create the report again when reconciled before the cache shows its own write', async () => {
      store.put(securityPolicy('default'), deployment('web', rootSpec));
      await reconciler.reconcile('Deployment/shop/web');
      await reconciler.reconcile('Deployment/shop/web');
      assert.equal(api.count('create'), 1);
      assert.deepEqual(writes, ['created']);
      assert.equal(events.length, 1, 'the violations are announced once');
    });

    it('keeps building on its own writes while the cache shows none of them', async () => {
      const web = deployment('web', rootSpec);
      const rs = replicaSetOf(web);
      store.put(securityPolicy('default'), web, rs);
      await reconciler.reconcile('Deployment/shop/web');
      // The image changes, then its pod starts: two more writes before the watch delivers the first.
      const upgraded: V1PodSpec = { containers: [rootContainer('web', 'nginx:1.27')] };
      store.put(deployment('web', upgraded));
      await reconciler.reconcile('Deployment/shop/web');
      store.put(pod('web-5d8f7c-x2x9z', upgraded, rs, { web: `docker-pullable://nginx@${NGINX_DIGEST}` }));
      await reconciler.reconcile('Deployment/shop/web');

      assert.equal(api.count('create'), 1);
      assert.deepEqual(writes, ['created', 'updated', 'updated']);
      assert.equal(report()?.spec.containers?.[0]?.digest, NGINX_DIGEST);
    });

    it('trusts the cache again once it shows a newer report than its own write', async () => {
      store.put(securityPolicy('default'), deployment('web', rootSpec));
      await reconciler.reconcile('Deployment/shop/web');
      // Someone else rewrites the report's status (say, a restored backup) and the watch delivers it.
      const current = report();
      assert.ok(current);
      await api.replaceStatus({ ...current, status: { ...current.status, findings: [] } });
      settled();

      await reconciler.reconcile('Deployment/shop/web');
      assert.deepEqual(writes, ['updated']);
      assert.ok((report()?.status?.findings?.length ?? 0) > 0, 'the findings are back');
    });

    it('writes no report when no policy applies and none exists', async () => {
      store.put(
        deployment('web', rootSpec),
        securityPolicy('elsewhere', {}, 'billing'),
        securityPolicy('payments-only', { match: { podSelector: { matchLabels: { app: 'payments' } } } }),
      );
      await reconciler.reconcile('Deployment/shop/web');
      assert.deepEqual(api.calls, []);
      assert.deepEqual(events, []);
      assert.deepEqual(touched, []);
      assert.deepEqual(await workloadGauge(), {});
    });

    it('applies a ClusterSecurityPolicy that selects the namespace by its labels', async () => {
      store.put(
        deployment('web', rootSpec),
        clusterSecurityPolicy('team-shop', {
          match: { namespaceSelector: { matchLabels: { team: 'shop' } } },
        }),
        clusterSecurityPolicy('team-billing', {
          match: { namespaceSelector: { matchLabels: { team: 'billing' } } },
        }),
      );
      await reconciler.reconcile('Deployment/shop/web');
      assert.deepEqual(report()?.status?.policies, ['team-shop']);
    });

    it('leaves an invalid policy out and applies the others', async () => {
      const invalid = securityPolicy('invalid', {
        match: { images: 'nginx' },
      } as unknown as SecurityPolicySpec);
      store.put(deployment('web', rootSpec), invalid, securityPolicy('default'));
      await reconciler.reconcile('Deployment/shop/web');
      assert.deepEqual(report()?.status?.policies, ['shop/default']);
    });

    it('warns only about violations that are new', async () => {
      store.put(securityPolicy('default'), deployment('web', rootSpec));
      await reconciler.reconcile('Deployment/shop/web');
      settled();

      store.put(
        deployment('web', {
          containers: [rootContainer('web', 'nginx:latest'), rootContainer('sidecar', 'busybox:1.36')],
        }),
      );
      await reconciler.reconcile('Deployment/shop/web');
      assert.equal(events.length, 1);
      const note = events[0]?.note ?? '';
      assert.equal(events[0]?.reason, 'PolicyViolation');
      assert.match(note, / in sidecar/);
      assert.doesNotMatch(note, / in web/);
    });

    it('says Compliant (Normal) once, when the last violation is fixed', async () => {
      store.put(securityPolicy('default'), deployment('web', rootSpec));
      await reconciler.reconcile('Deployment/shop/web');
      settled();

      store.put(deployment('web', hardenedSpec));
      await reconciler.reconcile('Deployment/shop/web');
      assert.deepEqual(
        events.map((e) => `${e.type} ${e.reason}`),
        ['Normal Compliant'],
      );
      assert.equal(report()?.status?.compliant, true);
      assert.deepEqual(await workloadGauge(), { 'shop noncompliant': 0, 'shop compliant': 1 });
      assert.deepEqual(touched, ['shop/default']);

      settled();
      await reconciler.reconcile('Deployment/shop/web');
      assert.deepEqual(events, []);
    });

    it('says nothing about a workload that was compliant from the start', async () => {
      store.put(securityPolicy('default'), deployment('web', hardenedSpec));
      await reconciler.reconcile('Deployment/shop/web');
      assert.equal(report()?.status?.compliant, true);
      assert.deepEqual(events, []);
    });

    it('never reports on workloads in excluded namespaces', async () => {
      const system = deployment('coredns', rootSpec);
      system.metadata = { ...system.metadata, namespace: 'kube-system' };
      store.put(clusterSecurityPolicy('everywhere'), system);
      await reconciler.reconcile('Deployment/kube-system/coredns');
      assert.deepEqual(api.calls, []);
      assert.deepEqual(events, []);
      assert.deepEqual(await workloadGauge(), {});
    });

    it('forgets the tally of a workload whose namespace became excluded', async () => {
      store.put(securityPolicy('default'), deployment('web', rootSpec));
      await reconciler.reconcile('Deployment/shop/web');
      settled();
      excluded.add(NAMESPACE);
      await reconciler.reconcile('Deployment/shop/web');
      assert.deepEqual(await workloadGauge(), { 'shop noncompliant': 0 });
      assert.deepEqual(touched, ['shop/default']);
    });

    it('forgets the tally of a deleted workload and leaves its report to garbage collection', async () => {
      store.put(securityPolicy('default'), deployment('web', rootSpec));
      await reconciler.reconcile('Deployment/shop/web');
      settled();

      store.remove('Deployment', NAMESPACE, 'web');
      await reconciler.reconcile('Deployment/shop/web');
      assert.deepEqual(api.calls, []);
      assert.deepEqual(events, []);
      assert.deepEqual(touched, ['shop/default']);
      assert.deepEqual(await workloadGauge(), { 'shop noncompliant': 0 });
      assert.equal(index.summary('shop/default').workloadsMatched, 0);
    });

    it('treats a workload being deleted as gone', async () => {
      store.put(securityPolicy('default'), deployment('web', rootSpec));
      await reconciler.reconcile('Deployment/shop/web');
      settled();

      const deleting = deployment('web', rootSpec);
      deleting.metadata = { ...deleting.metadata, deletionTimestamp: new Date(time) };
      store.put(deleting);
      await reconciler.reconcile('Deployment/shop/web');
      assert.deepEqual(api.calls, []);
      assert.deepEqual(await workloadGauge(), { 'shop noncompliant': 0 });
    });

    it('does not report on a ReplicaSet that its Deployment controls', async () => {
      const web = deployment('web', rootSpec);
      const rs = replicaSetOf(web);
      store.put(securityPolicy('default'), web, rs);
      await reconciler.reconcile(`ReplicaSet/shop/${rs.metadata?.name}`);
      assert.deepEqual(api.calls, []);
      assert.deepEqual(events, []);
    });

    it('reports on a bare pod and a CronJob under their own names', async () => {
      const backup = cronJob('backup', rootSpec);
      store.put(securityPolicy('default'), backup, pod('debug', rootSpec));
      await reconciler.reconcile('Pod/shop/debug');
      await reconciler.reconcile('CronJob/shop/backup');
      assert.equal(api.get(NAMESPACE, 'pod-debug')?.spec.subject.kind, 'Pod');
      assert.equal(api.get(NAMESPACE, 'cronjob-backup')?.spec.subject.kind, 'CronJob');
    });

    it('announces and tallies nothing when the write fails, so the retry does it', async () => {
      store.put(securityPolicy('default'), deployment('web', rootSpec));
      api.failNextWith = 409;
      await assert.rejects(reconciler.reconcile('Deployment/shop/web'), (error) => statusOf(error) === 409);
      assert.deepEqual(writes, ['conflict']);
      assert.deepEqual(events, []);
      assert.deepEqual(touched, []);

      await reconciler.reconcile('Deployment/shop/web');
      assert.deepEqual(writes, ['conflict', 'created']);
      assert.equal(events.length, 1);
      assert.deepEqual(touched, ['shop/default']);
    });
  });
});
