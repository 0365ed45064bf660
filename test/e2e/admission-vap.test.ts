// The ValidatingAdmissionPolicy runtime end to end: an operator run with
// --validating-admission-policies writes a VAP and binding for an Enforce
// policy, the webhook then leaves the covered rules to the API server (a Warn
// policy shows the API server's VAP warning and no webhook warning for the same
// rule), a policy sent back to Audit loses its VAP, and with every operator
// process stopped the API server still refuses what the VAP covers while the
// webhook-only rules fall to failurePolicy. A ClusterSecurityPolicy owns its
// VAP, so the garbage collector removes it with the policy even while no
// operator runs; a namespaced policy cannot own a cluster-scoped object, so
// the VAP of one deleted while no operator runs is cleaned up by the next leader.
import assert from 'node:assert/strict';
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import type { SecurityPolicy, SecurityPolicySpec } from '../../src/api/policy-types.js';
import { VAP_ANNOTATIONS, vapName } from '../../src/controllers/vap/generate.js';
import { ApiClient } from '../support/api-request.js';
import { freePort } from '../cluster/local-cluster.js';
import { installCrds } from '../support/crds.js';
import { createReadyNamespace } from '../support/namespaces.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { createSecurityPolicy } from '../support/policies.js';
import { eventually } from '../support/wait.js';
import { compliantContainer } from '../support/workloads.js';
import { kubeConfig, kubeconfigPath } from './harness.js';

const OPERATOR_NS = 'shipshape-system';

/** A pod every default rule passes, with `change` applied to its one container. */
function pod(name: string, change: (c: Record<string, unknown>) => void = () => undefined): V1Pod {
  const container: Record<string, unknown> = { ...compliantContainer('registry.example/app:1.4.2') };
  change(container);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { automountServiceAccountToken: false, containers: [container as never] },
  };
}
/** Violates a rule the VAP covers (securityContext.readOnlyRootFilesystem) and nothing else. */
const writableRoot = (c: Record<string, unknown>) =>
  ((c.securityContext as Record<string, unknown>).readOnlyRootFilesystem = false);
/** Violates a rule only the webhook judges (probes.liveness) and nothing else. */
const noLiveness = (c: Record<string, unknown>) => delete c.livenessProbe;

const pods = (ns: string) => `/api/v1/namespaces/${ns}/pods`;

describe('ValidatingAdmissionPolicy runtime', function () {
  this.timeout(300_000);
  const suffix = Date.now().toString(36);
  const ns = {
    enforce: `e2e-vapr-enforce-${suffix}`,
    warn: `e2e-vapr-warn-${suffix}`,
    cluster: `e2e-vapr-cluster-${suffix}`,
  };
  const clusterPolicy = `e2e-vapr-${suffix}`;
  const clusterName = vapName(clusterPolicy);
  const configurationName = `shipshape-e2e-vapr-${suffix}`;
  const secretName = `shipshape-e2e-vapr-cert-${suffix}`;
  const enforceName = vapName(`${ns.enforce}/strict`);
  const warnName = vapName(`${ns.warn}/gentle`);
  let kc: KubeConfig;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let admission: AdmissionregistrationV1Api;
  let api: ApiClient;
  let operator: OperatorProcess | undefined;
  let port: number;

  const startOperator = async () => {
    operator = await startOperatorProcess([
      `--kubeconfig=${kubeconfigPath()}`,
      `--namespace=${OPERATOR_NS}`,
      '--log-level=info',
      '--image-analysis=false',
      // A Lease of our own: other e2e files' operators are gone, but their Leases may still be held.
      `--leader-election-namespace=${ns.enforce}`,
      `--webhook-bind-address=127.0.0.1:${port}`,
      `--webhook-url=https://127.0.0.1:${port}/validate`,
      `--webhook-configuration=${configurationName}`,
      `--webhook-secret=${secretName}`,
      '--webhook-failure-policy=Ignore',
      '--validating-admission-policies=true',
    ]);
    await operator.waitReady(60_000);
  };

  const vapOf = (name: string) => admission.readValidatingAdmissionPolicy({ name }).catch(() => undefined);
  const bindingOf = (name: string) =>
    admission.readValidatingAdmissionPolicyBinding({ name }).catch(() => undefined);

  const setSpec = async (namespace: string, name: string, spec: SecurityPolicySpec) => {
    const current = (await custom.getNamespacedCustomObject({
      group: 'shipshape.dev',
      version: 'v1alpha1',
      plural: 'securitypolicies',
      namespace,
      name,
    })) as SecurityPolicy;
    await custom.replaceNamespacedCustomObject({
      group: 'shipshape.dev',
      version: 'v1alpha1',
      plural: 'securitypolicies',
      namespace,
      name,
      body: { ...current, spec },
    });
  };

  /** Whether the webhook is answering: a dry-run pod violating a webhook-only rule is refused by shipshape. */
  const webhookAnswers = async () => {
    const res = await api.create(pods(ns.enforce), pod('probe', noLiveness), { dryRun: true });
    return res.status === 403 && String(res.body.message).includes('shipshape:');
  };

  before(async () => {
    kc = kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    admission = kc.makeApiClient(AdmissionregistrationV1Api);
    api = new ApiClient(kc);
    await installCrds(kc);
    for (const name of [OPERATOR_NS, ...Object.values(ns)]) await createReadyNamespace(core, name);
    await createSecurityPolicy(custom, ns.enforce, 'strict', { enforcement: 'Enforce' });
    await createSecurityPolicy(custom, ns.warn, 'gentle', { enforcement: 'Warn' });
    // A cluster policy that selects only this test's namespace.
    await custom.createClusterCustomObject({
      group: 'shipshape.dev',
      version: 'v1alpha1',
      plural: 'clustersecuritypolicies',
      body: {
        apiVersion: 'shipshape.dev/v1alpha1',
        kind: 'ClusterSecurityPolicy',
        metadata: { name: clusterPolicy },
        spec: {
          enforcement: 'Enforce',
          match: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns.cluster } } },
        },
      },
    });
    port = await freePort();
    await startOperator();
    await eventually('the API server to call the webhook', webhookAnswers, { timeoutMs: 30_000 });
  });

  after(async () => {
    await operator?.stop('SIGKILL');
    await admission.deleteValidatingWebhookConfiguration({ name: configurationName }).catch(() => undefined);
    await custom
      ?.deleteClusterCustomObject({
        group: 'shipshape.dev',
        version: 'v1alpha1',
        plural: 'clustersecuritypolicies',
        name: clusterPolicy,
      })
      .catch(() => undefined);
    for (const name of [enforceName, warnName, clusterName]) {
      await admission.deleteValidatingAdmissionPolicyBinding({ name }).catch(() => undefined);
      await admission.deleteValidatingAdmissionPolicy({ name }).catch(() => undefined);
    }
    await core.deleteNamespacedSecret({ namespace: OPERATOR_NS, name: secretName }).catch(() => undefined);
    for (const name of Object.values(ns)) await core.deleteNamespace({ name }).catch(() => undefined);
    api?.close();
  });

  it('writes a VAP and a binding limited to the policy namespace for an Enforce policy', async () => {
    const vap = await eventually('the VAP of the Enforce policy', () => vapOf(enforceName), {
      timeoutMs: 30_000,
    });
    const binding = await eventually('its binding', () => bindingOf(enforceName), { timeoutMs: 30_000 });
    assert.equal(vap.metadata?.annotations?.[VAP_ANNOTATIONS.policy], `${ns.enforce}/strict`);
    assert.ok(vap.metadata?.annotations?.[VAP_ANNOTATIONS.rules]?.includes('securityContext.privileged'));
    assert.deepEqual(binding.spec?.validationActions, ['Deny']);
    assert.deepEqual(binding.spec?.matchResources?.namespaceSelector?.matchLabels, {
      'kubernetes.io/metadata.name': ns.enforce,
    });
  });

  it('binds a cluster policy to its namespaces, without the excluded ones, and has it own the VAP', async () => {
    const binding = await eventually('the binding of the cluster policy', () => bindingOf(clusterName), {
      timeoutMs: 30_000,
    });
    const vap = await vapOf(clusterName);
    const policyObject = (await custom.getClusterCustomObject({
      group: 'shipshape.dev',
      version: 'v1alpha1',
      plural: 'clustersecuritypolicies',
      name: clusterPolicy,
    })) as { metadata: { uid: string } };
    for (const object of [vap, binding]) {
      const owner = object?.metadata?.ownerReferences?.[0];
      assert.equal(owner?.kind, 'ClusterSecurityPolicy');
      assert.equal(owner?.uid, policyObject.metadata.uid);
    }
    const selector = binding.spec?.matchResources?.namespaceSelector;
    assert.deepEqual(selector?.matchLabels, { 'kubernetes.io/metadata.name': ns.cluster });
    assert.ok(selector?.matchExpressions?.[0]?.values?.includes(OPERATOR_NS));
    assert.ok(selector?.matchExpressions?.[0]?.values?.includes('kube-system'));
    const refused = await eventually(
      'the cluster VAP to refuse in its namespace',
      async () => {
        const r = await api.create(pods(ns.cluster), pod('writable', writableRoot), { dryRun: true });
        // The webhook refuses too until the API server's informer has the new VAP.
        return r.status === 403 && String(r.body.message).includes('ValidatingAdmissionPolicy')
          ? r
          : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.match(String(refused.body.message), new RegExp(`shipshape policy ${clusterPolicy}:`));
  });

  it('Enforce: the API server itself refuses what the VAP covers', async () => {
    const res = await eventually(
      'the VAP to refuse a writable root filesystem',
      async () => {
        const r = await api.create(pods(ns.enforce), pod('writable', writableRoot), { dryRun: true });
        return r.status === 403 && String(r.body.message).includes('ValidatingAdmissionPolicy')
          ? r
          : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.match(String(res.body.message), /\[securityContext\.readOnlyRootFilesystem\]/);
    // What the VAP cannot say is still the webhook's.
    assert.ok(await webhookAnswers());
    const ok = await api.create(pods(ns.enforce), pod('fine'), { dryRun: true });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  });

  it('Warn: the webhook skips the rules the VAP covers and still warns about the rest', async () => {
    await eventually('the VAP of the Warn policy', () => bindingOf(warnName), { timeoutMs: 30_000 });
    const res = await eventually(
      'the API server to warn through the VAP',
      async () => {
        const r = await api.create(
          pods(ns.warn),
          pod('both', (c) => (writableRoot(c), noLiveness(c))),
          { dryRun: true },
        );
        // The webhook keeps judging the covered rules until the VAP has settled (VAP_SETTLE_MS).
        const fromVap = r.warnings.some((w) => w.includes('ValidatingAdmissionPolicy'));
        const repeated = r.warnings.some(
          (w) => w.startsWith('shipshape [') && w.includes('securityContext.readOnlyRootFilesystem'),
        );
        return fromVap && !repeated ? r : undefined;
      },
      { timeoutMs: 45_000 },
    );
    assert.equal(res.status, 201);
    const vapWarnings = res.warnings.filter((w) => w.includes('ValidatingAdmissionPolicy'));
    const webhookWarnings = res.warnings.filter((w) => w.startsWith('shipshape ['));
    assert.ok(
      vapWarnings.some((w) => w.includes('[securityContext.readOnlyRootFilesystem]')),
      JSON.stringify(res.warnings),
    );
    assert.ok(
      webhookWarnings.some((w) => w.includes('[probes.liveness]')),
      JSON.stringify(res.warnings),
    );
    assert.ok(
      !webhookWarnings.some((w) => w.includes('securityContext.readOnlyRootFilesystem')),
      `the webhook repeats a rule the VAP covers: ${JSON.stringify(res.warnings)}`,
    );
  });

  it('deletes the VAP when the policy goes back to Audit, and writes it again on Warn', async () => {
    await setSpec(ns.warn, 'gentle', { enforcement: 'Audit' });
    await eventually('the VAP and binding to be deleted', async () =>
      (await vapOf(warnName)) === undefined && (await bindingOf(warnName)) === undefined ? true : undefined,
    );
    await setSpec(ns.warn, 'gentle', { enforcement: 'Warn' });
    const binding = await eventually('the binding to be back', () => bindingOf(warnName));
    assert.deepEqual(binding.spec?.validationActions, ['Warn']);
  });

  it('with every operator process stopped, the API server still enforces the VAP-covered rules', async () => {
    await operator!.stop('SIGKILL');
    await eventually('the webhook to be unreachable (failurePolicy Ignore admits)', async () => {
      const r = await api.create(pods(ns.enforce), pod('down', noLiveness), { dryRun: true });
      return r.status === 201;
    });
    const refused = await api.create(pods(ns.enforce), pod('down-writable', writableRoot), { dryRun: true });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.match(String(refused.body.message), /ValidatingAdmissionPolicy/);
    assert.match(String(refused.body.message), /\[securityContext\.readOnlyRootFilesystem\]/);
    // And for real, not only dry-run: nothing is stored.
    const real = await api.create(pods(ns.enforce), pod('down-writable', writableRoot));
    assert.equal(real.status, 403);
    assert.equal((await api.send('GET', `${pods(ns.enforce)}/down-writable`)).status, 404);
  });

  it('the garbage collector removes a cluster policy VAP with its policy while no operator runs', async () => {
    await custom.deleteClusterCustomObject({
      group: 'shipshape.dev',
      version: 'v1alpha1',
      plural: 'clustersecuritypolicies',
      name: clusterPolicy,
    });
    await eventually(
      'the owned VAP and binding to be garbage-collected',
      async () =>
        (await vapOf(clusterName)) === undefined && (await bindingOf(clusterName)) === undefined
          ? true
          : undefined,
      { timeoutMs: 60_000 },
    );
  });

  it('the next leader deletes the VAP of a policy deleted while no operator ran', async () => {
    await custom.deleteNamespacedCustomObject({
      group: 'shipshape.dev',
      version: 'v1alpha1',
      plural: 'securitypolicies',
      namespace: ns.enforce,
      name: 'strict',
    });
    assert.ok(await vapOf(enforceName), 'nothing garbage-collects it (a namespaced owner is not allowed)');
    await startOperator();
    await eventually(
      'the orphaned VAP and binding to be deleted',
      async () =>
        (await vapOf(enforceName)) === undefined && (await bindingOf(enforceName)) === undefined
          ? true
          : undefined,
      { timeoutMs: 60_000 },
    );
    // The API server's own informer of VAPs follows the deletion a moment later.
    await eventually(
      'the API server to stop enforcing the deleted VAP',
      async () =>
        (await api.create(pods(ns.enforce), pod('after', writableRoot), { dryRun: true })).status === 201,
      { timeoutMs: 30_000 },
    );
  });
});
