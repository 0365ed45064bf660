// The operator end to end on a real control plane: policies in, reports,
// Events and metrics out, kept true through fixes, deletions, restarts, an
// API server outage and a leader change.
import assert from 'node:assert/strict';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  type V1Deployment,
} from '@kubernetes/client-node';
import type { SecurityReport } from '../../src/api/report-types.js';
import { installCrds } from '../support/crds.js';
import { createReadyNamespace } from '../support/namespaces.js';
import { createSecurityPolicy } from '../support/policies.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { eventually } from '../support/wait.js';
import { compliantContainer, kwokDeployment } from '../support/workloads.js';
import { kubeConfig, kubeconfigPath, localCluster } from './harness.js';

const GROUP = { group: 'shipshape.dev', version: 'v1alpha1' };

function deployment(name: string, compliant: boolean): V1Deployment {
  return kwokDeployment(
    name,
    compliant
      ? compliantContainer('registry.example/app:1.4.2')
      : { name: 'app', image: 'registry.example/app:latest', securityContext: { runAsUser: 0 } },
  );
}

describe('operator reconcile loop', function () {
  this.timeout(240_000);
  // Each test gets a namespace and policy of its own, so none depends on what an earlier one left.
  const run = Date.now().toString(36);
  const namespaces: string[] = [];
  let ns = '';
  let kc: KubeConfig;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let custom: CustomObjectsApi;
  let operator: OperatorProcess;
  // The reconcile loop on its own: images of earlier test files (some hostile) are not analysed
  // again here, so their scans cannot crowd out the 10 s budget of the first test.
  const operatorArgs = () => [
    `--kubeconfig=${kubeconfigPath()}`,
    '--namespace=shipshape-system',
    '--log-level=warn',
    '--image-analysis=false',
  ];

  const report = async (name: string) =>
    (await custom.getNamespacedCustomObject({
      ...GROUP,
      plural: 'securityreports',
      namespace: ns,
      name,
    })) as SecurityReport;
  const reports = async () =>
    (
      (await custom.listNamespacedCustomObject({ ...GROUP, plural: 'securityreports', namespace: ns })) as {
        items: SecurityReport[];
      }
    ).items;

  before(async () => {
    kc = kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    await installCrds(kc);
    await createReadyNamespace(core, 'shipshape-system');
    operator = await startOperatorProcess(operatorArgs());
    await operator.waitReady();
    // An operator an earlier test file killed may still hold the Lease until it expires (15 s):
    // the reconcile budgets below start once this one leads.
    await eventually('the operator to lead', async () => (await operator.metric('shipshape_leader')) === 1, {
      timeoutMs: 40_000,
    });
  });

  beforeEach(async () => {
    ns = `e2e-reconcile-${run}-${namespaces.length}`;
    namespaces.push(ns);
    // Reports need no pods, so no wait for the default ServiceAccount (after the API server
    // outage test the controller-manager may take a while to make it).
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await createSecurityPolicy(custom, ns, 'best-practice', { enforcement: 'Audit' });
  });

  after(async () => {
    await operator?.stop('SIGKILL');
    for (const name of namespaces) await core.deleteNamespace({ name }).catch(() => undefined);
  });

  /** Creates a Deployment and waits until its report says whether it complies. */
  const reported = async (name: string, compliant: boolean): Promise<SecurityReport> => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment(name, compliant) });
    return eventually(`the report of deployment ${name}`, async () => {
      const r = await report(`deployment-${name}`).catch(() => undefined);
      return r?.status?.compliant === compliant ? r : undefined;
    });
  };

  it('reports a violating Deployment within 10 s: report, Warning Event and metrics', async () => {
    const created = Date.now();
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', false) });
    const found = await eventually(
      'a non-compliant report for deployment web',
      async () => {
        const r = await report('deployment-web').catch(() => undefined);
        return r?.status?.compliant === false ? r : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const took = Date.now() - created;
    assert.ok(took <= 10_000, `report after ${took} ms`);
    assert.equal(found.spec.subject.kind, 'Deployment');
    const rules = new Set(found.status?.findings?.map((f) => f.ruleId));
    for (const expected of [
      'image.tag',
      'securityContext.runAsNonRoot',
      'resources.limits',
      'probes.readiness',
    ]) {
      assert.ok(
        [...rules].some((r) => r === expected),
        `finding ${expected} in ${[...rules].join(', ')}`,
      );
    }
    const summary = found.status?.summary ?? {};
    const counted =
      (summary.critical ?? 0) +
      (summary.high ?? 0) +
      (summary.medium ?? 0) +
      (summary.low ?? 0) +
      (summary.info ?? 0);
    assert.equal(counted, found.status?.findings?.length);
    assert.equal(summary.total, counted);

    const events = kc.makeApiClient(EventsV1Api);
    const warning = await eventually('a PolicyViolation Warning event', async () => {
      const list = await events.listNamespacedEvent({ namespace: ns });
      return list.items.find(
        (e) => e.reason === 'PolicyViolation' && e.regarding?.name === 'web' && e.type === 'Warning',
      );
    });
    assert.match(warning.note ?? '', /image\.tag|securityContext\.runAsNonRoot/);

    const violations = await eventually('violation metrics', async () => {
      const v = await operator.metric('shipshape_violations', { namespace: ns });
      return v && v > 0 ? v : undefined;
    });
    assert.equal(violations, found.status?.findings?.filter((f) => f.severity !== 'Info').length);
    assert.equal(
      await operator.metric('shipshape_workloads', { namespace: ns, compliance: 'noncompliant' }),
      1,
    );
  });

  it('turns the report compliant with a Normal Event when the Deployment is fixed, and the metrics drop to zero', async () => {
    await reported('web', false);
    const fixed = deployment('web', true);
    await apps.replaceNamespacedDeployment({ namespace: ns, name: 'web', body: fixed });
    const r = await eventually('a compliant report', async () => {
      const current = await report('deployment-web');
      return current.status?.compliant === true ? current : undefined;
    });
    assert.equal(r.status?.conditions?.find((c) => c.type === 'Compliant')?.status, 'True');
    const events = kc.makeApiClient(EventsV1Api);
    await eventually('a Compliant Normal event', async () =>
      (await events.listNamespacedEvent({ namespace: ns })).items.find(
        (e) => e.reason === 'Compliant' && e.type === 'Normal' && e.regarding?.name === 'web',
      ),
    );
    await eventually(
      'violations metric at zero',
      async () => (await operator.metric('shipshape_violations', { namespace: ns })) === 0,
    );
    assert.equal(await operator.metric('shipshape_workloads', { namespace: ns, compliance: 'compliant' }), 1);
  });

  it('does not rewrite any report after a restart when nothing changed', async () => {
    await reported('web', true);
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('api', false) });
    await eventually(
      'the api report',
      async () => (await report('deployment-api').catch(() => undefined))?.status?.findings?.length,
    );
    // Let the policy status settle too.
    await new Promise((r) => setTimeout(r, 3000));
    const before = new Map((await reports()).map((r) => [r.metadata.name, r.metadata.resourceVersion]));
    await operator.stop();
    operator = await startOperatorProcess(operatorArgs());
    await operator.waitReady();
    await eventually(
      'the restarted operator to lead',
      async () => (await operator.metric('shipshape_leader')) === 1,
      { timeoutMs: 30_000 },
    );
    await eventually('the restarted operator to evaluate the workloads', async () => {
      // A finished workload reconcile counts as success, or as requeue when a policy schedules a rescan.
      const finished = async (result: string) =>
        (await operator.metric('shipshape_reconcile_total', { controller: 'workload', result })) ?? 0;
      return (
        (await finished('success')) + (await finished('requeue')) >= 2 &&
        (await operator.metric('shipshape_workloads', { namespace: ns })) === 2
      );
    });
    await new Promise((r) => setTimeout(r, 3000));
    const after = new Map((await reports()).map((r) => [r.metadata.name, r.metadata.resourceVersion]));
    assert.deepEqual(after, before);
    assert.equal((await operator.metric('shipshape_report_writes_total', { result: 'created' })) ?? 0, 0);
    assert.equal((await operator.metric('shipshape_report_writes_total', { result: 'updated' })) ?? 0, 0);
  });

  it("garbage-collects the report with its Deployment, and drops a deleted policy's findings", async () => {
    await reported('web', false);
    await reported('api', false);
    await apps.deleteNamespacedDeployment({ namespace: ns, name: 'web', propagationPolicy: 'Background' });
    await eventually(
      'the web report to be garbage-collected',
      async () =>
        await report('deployment-web').then(
          () => false,
          (e: { code?: number }) => e.code === 404,
        ),
      { timeoutMs: 60_000 },
    );
    await custom.deleteNamespacedCustomObject({
      ...GROUP,
      plural: 'securitypolicies',
      namespace: ns,
      name: 'best-practice',
    });
    const r = await eventually('the api report without findings', async () => {
      const current = await report('deployment-api');
      return (current.status?.findings ?? []).length === 0 ? current : undefined;
    });
    assert.equal(r.status?.compliant, true);
    assert.deepEqual(r.status?.policies ?? [], []);
  });

  it('recovers from a 20 s API server outage without a restart', async function () {
    const cluster = localCluster();
    if (!cluster) this.skip();
    await reported('api', false);
    await createSecurityPolicy(custom, ns, 'again');
    await eventually('the api report to show the new policy', async () =>
      (await report('deployment-api')).status?.policies?.includes(`${ns}/again`),
    );
    await cluster!.stopComponent('kube-apiserver');
    await new Promise((r) => setTimeout(r, 20_000));
    await cluster!.startComponent('kube-apiserver');
    assert.equal(operator.child.exitCode, null, 'the operator is still running');
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('after-outage', false) });
    await eventually(
      'a report for a Deployment created after the outage',
      async () =>
        (await report('deployment-after-outage').catch(() => undefined))?.status?.compliant === false,
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    assert.equal(operator.child.exitCode, null, 'the operator was never restarted');
  });

  it('with two replicas exactly one leads, and the other takes over when the leader dies', async () => {
    const second = await startOperatorProcess(operatorArgs());
    try {
      await second.waitReady();
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(await operator.metric('shipshape_leader'), 1);
      assert.equal(await second.metric('shipshape_leader'), 0);
      const killedAt = Date.now();
      await operator.stop('SIGKILL');
      await eventually(
        'the second replica to lead',
        async () => (await second.metric('shipshape_leader')) === 1,
        {
          timeoutMs: 30_000,
        },
      );
      const tookMs = Date.now() - killedAt;
      // A follower counts the lease from when it saw the last renewal (it looks every 2 s), so the
      // worst case is the 15 s lease plus two retry periods, plus this test's polling.
      assert.ok(tookMs < 15_000 + 2 * 2_000 + 3_000, `took over after ${tookMs} ms (lease 15 s, retry 2 s)`);
      await apps.createNamespacedDeployment({ namespace: ns, body: deployment('after-failover', false) });
      await eventually(
        'a report written by the new leader',
        async () =>
          (await report('deployment-after-failover').catch(() => undefined))?.status?.compliant === false,
      );
    } finally {
      operator = second;
    }
  });
});
