// Admission end to end: the real API server calls the operator's webhook over
// TLS (registered by URL with an IP SAN, as the local control plane has no
// kube-proxy). Enforce refuses with the violations, Warn admits with warnings
// (both also as `kubectl apply` prints them), Audit does nothing at admission,
// dry-run behaves like a real request; the serving certificate rotates under a
// stream of admissions without one failed request and a deleted Secret comes
// back; a replica that does not lead answers too; with the operator stopped
// the API server follows failurePolicy, and kube-system and the operator's
// namespace stay admissible either way.
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1Pod,
  type V1PodSpec,
} from '@kubernetes/client-node';
import type { SecurityPolicy } from '../../src/api/policy-types.js';
import { evaluateWorkload } from '../../src/policy/evaluate.js';
import { generateVap } from '../../src/controllers/vap/generate.js';
import { excludedNamespacesOf } from '../../src/webhook/configuration.js';
import { ApiClient } from '../support/api-request.js';
import { freePort } from '../cluster/local-cluster.js';
import { installCrds } from '../support/crds.js';
import { createReadyNamespace } from '../support/namespaces.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { createSecurityPolicy } from '../support/policies.js';
import { eventually } from '../support/wait.js';
import { compliantContainer } from '../support/workloads.js';
import { findKubectl, runCommand } from '../support/kubectl.js';
import { kubeConfig, kubeconfigPath } from './harness.js';

const OPERATOR_NS = 'shipshape-system';

const secureContainer = compliantContainer('registry.example/app:1.4.2');
const insecureContainer = {
  name: 'app',
  image: 'registry.example/app:latest',
  securityContext: { runAsUser: 0 },
};

function deployment(name: string, compliant: boolean): V1Deployment {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { type: 'kwok' },
          automountServiceAccountToken: false,
          containers: [compliant ? secureContainer : insecureContainer],
        },
      },
    },
  };
}

function pod(name: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { automountServiceAccountToken: false, containers: [insecureContainer] },
  };
}

const deployments = (ns: string) => `/apis/apps/v1/namespaces/${ns}/deployments`;
const pods = (ns: string) => `/api/v1/namespaces/${ns}/pods`;

/** The serial number of the certificate a TLS server presents right now. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('admission webhook', function () {
  this.timeout(300_000);
  const suffix = Date.now().toString(36);
  const ns = { enforce: `e2e-enforce-${suffix}`, warn: `e2e-warn-${suffix}`, audit: `e2e-audit-${suffix}` };
  const configurationName = `shipshape-e2e-admission-${suffix}`;
  const secretName = `shipshape-e2e-webhook-cert-${suffix}`;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let admission: AdmissionregistrationV1Api;
  let api: ApiClient;
  let operator: OperatorProcess | undefined;
  let port: number;

  const startOperator = async (failurePolicy: 'Ignore' | 'Fail') => {
    operator = await startOperatorProcess([
      `--kubeconfig=${kubeconfigPath()}`,
      `--namespace=${OPERATOR_NS}`,
      '--log-level=warn',
      '--image-analysis=false',
      '--leader-elect=false',
      `--webhook-bind-address=127.0.0.1:${port}`,
      `--webhook-url=https://127.0.0.1:${port}/validate`,
      `--webhook-configuration=${configurationName}`,
      `--webhook-secret=${secretName}`,
      `--webhook-failure-policy=${failurePolicy}`,
      // Short-lived serving certificates, so rotation happens while the test watches.
      '--webhook-cert-validity=15s',
      '--webhook-cert-check-interval=1s',
    ]);
    await operator.waitReady(60_000);
  };

  /** Whether the API server's webhook answers (not failurePolicy): a violating dry-run is refused by shipshape. */
  const webhookAnswers = async () => {
    const res = await api.create(deployments(ns.enforce), deployment('probe', false), { dryRun: true });
    return res.status === 403 && String(res.body.message).includes('shipshape:');
  };

  before(async () => {
    kc = kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    admission = kc.makeApiClient(AdmissionregistrationV1Api);
    api = new ApiClient(kc);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await installCrds(kc);
    for (const name of [OPERATOR_NS, ns.enforce, ns.warn, ns.audit]) await createReadyNamespace(core, name);
    await createSecurityPolicy(custom, ns.enforce, 'strict', { enforcement: 'Enforce' });
    await createSecurityPolicy(custom, ns.warn, 'gentle', { enforcement: 'Warn' });
    await createSecurityPolicy(custom, ns.audit, 'quiet', { enforcement: 'Audit' });
    port = await freePort();
    await startOperator('Ignore');
    await eventually('the API server to call the webhook', webhookAnswers, { timeoutMs: 30_000 });
  });

  after(async () => {
    await operator?.stop('SIGKILL');
    await admission.deleteValidatingWebhookConfiguration({ name: configurationName }).catch(() => undefined);
    await core.deleteNamespacedSecret({ namespace: OPERATOR_NS, name: secretName }).catch(() => undefined);
    for (const name of Object.values(ns)) await core.deleteNamespace({ name }).catch(() => undefined);
    api?.close();
  });

  describe('decisions', () => {
    it('registers itself by URL with the CA bundle, sideEffects None and the safe namespaces excluded', async () => {
      const vwc = await admission.readValidatingWebhookConfiguration({ name: configurationName });
      const webhook = vwc.webhooks?.[0];
      assert.equal(webhook?.clientConfig.url, `https://127.0.0.1:${port}/validate`);
      assert.ok((webhook?.clientConfig.caBundle ?? '').length > 0);
      assert.equal(webhook?.sideEffects, 'None');
      assert.deepEqual(webhook?.admissionReviewVersions, ['v1']);
      assert.equal(webhook?.failurePolicy, 'Ignore');
      assert.ok(webhook?.namespaceSelector?.matchExpressions?.[0]?.values?.includes('kube-system'));
      assert.ok(webhook?.namespaceSelector?.matchExpressions?.[0]?.values?.includes(OPERATOR_NS));
    });

    it('Enforce: refuses a violating Deployment with its violations in the message', async () => {
      const res = await api.create(deployments(ns.enforce), deployment('bad', false));
      assert.equal(res.status, 403, JSON.stringify(res.body));
      const message = String(res.body.message);
      assert.match(message, /admission webhook "workloads\.validate\.shipshape\.dev" denied the request/);
      assert.match(message, /Deployment "bad" violates/);
      assert.match(message, /\[image\.tag\] policy e2e-enforce-[^/]+\/strict: container "app"/);
      assert.match(message, /\[securityContext\.runAsUser\]/);
      assert.match(message, /Fix: /);
      const listed = await api.send('GET', `${deployments(ns.enforce)}/bad`);
      assert.equal(listed.status, 404);
    });

    it('Enforce: admits a compliant Deployment', async () => {
      const res = await api.create(deployments(ns.enforce), deployment('good', true));
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.deepEqual(res.warnings, []);
    });

    it('Enforce: refuses a violating bare Pod too', async () => {
      const res = await api.create(pods(ns.enforce), pod('bare'));
      assert.equal(res.status, 403);
      assert.match(String(res.body.message), /Pod "bare" violates/);
    });

    it('Warn: admits a violating Deployment with warnings kubectl prints', async () => {
      const res = await api.create(deployments(ns.warn), deployment('loose', false));
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.ok(
        res.warnings.some((w) => /^shipshape \[image\.tag\] \(policy e2e-warn-[^/]+\/gentle\)/.test(w)),
        JSON.stringify(res.warnings),
      );
      assert.ok(res.warnings.every((w) => w.length <= 256));
    });

    it('kubectl apply: prints the refusal with its violations (Enforce) and the warnings (Warn)', async function () {
      const kubectl = findKubectl();
      if (!kubectl) {
        console.error('e2e admission: kubectl not found on PATH (or $KUBECTL); skipping');
        this.skip();
      }
      const apply = (namespace: string, object: V1Deployment) =>
        runCommand(
          kubectl,
          [`--kubeconfig=${kubeconfigPath()}`, '-n', namespace, 'apply', '-f', '-'],
          JSON.stringify(object),
        );
      const refused = await apply(ns.enforce, deployment('kubectl-bad', false));
      assert.notEqual(refused.code, 0, refused.stdout);
      assert.match(refused.stderr, /denied the request: shipshape: Deployment "kubectl-bad" violates/);
      assert.match(refused.stderr, /\[image\.tag\]/);
      assert.match(refused.stderr, /\[securityContext\.runAsUser\]/);
      const warned = await apply(ns.warn, deployment('kubectl-loose', false));
      assert.equal(warned.code, 0, warned.stderr);
      assert.match(warned.stdout, /deployment\.apps\/kubectl-loose created/);
      assert.match(warned.stderr, /^Warning: shipshape \[image\.tag\] \(policy e2e-warn-[^/]+\/gentle\)/m);
      const admitted = await apply(ns.enforce, deployment('kubectl-good', true));
      assert.equal(admitted.code, 0, admitted.stderr);
      assert.doesNotMatch(admitted.stderr, /Warning: shipshape/);
    });

    it('Audit: admits a violating Deployment without a word', async () => {
      const res = await api.create(deployments(ns.audit), deployment('quiet', false));
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.deepEqual(res.warnings, []);
    });

    it('dry-run: refused and admitted exactly like a real request, and nothing is stored', async () => {
      const refused = await api.create(deployments(ns.enforce), deployment('dry-bad', false), {
        dryRun: true,
      });
      const real = await api.create(deployments(ns.enforce), deployment('dry-bad', false));
      assert.equal(refused.status, 403);
      assert.equal(
        String(refused.body.message).replace(/dry-bad/g, ''),
        String(real.body.message).replace(/dry-bad/g, ''),
      );
      const admitted = await api.create(deployments(ns.enforce), deployment('dry-good', true), {
        dryRun: true,
      });
      assert.equal(admitted.status, 201);
      assert.equal((await api.send('GET', `${deployments(ns.enforce)}/dry-good`)).status, 404);
      const warned = await api.create(deployments(ns.warn), deployment('dry-loose', false), { dryRun: true });
      assert.equal(warned.status, 201);
      assert.ok(warned.warnings.length > 0);
    });

    it('counts its answers in shipshape_admission_requests_total', async () => {
      const denied = await operator!.metric('shipshape_admission_requests_total', {
        result: 'denied',
        kind: 'Deployment',
      });
      const warned = await operator!.metric('shipshape_admission_requests_total', { result: 'warned' });
      assert.ok((denied ?? 0) >= 3, String(denied));
      assert.ok((warned ?? 0) >= 2, String(warned));
      const seconds = await operator!.metric('shipshape_admission_duration_seconds_count');
      assert.ok((seconds ?? 0) > 0);
    });
  });

  describe('certificates', () => {
    it('rotates the serving certificate during a stream of admissions without one failed request', async () => {
      const firstSerial = await servedSerial(port);
      const caBefore = (await core.readNamespacedSecret({ namespace: OPERATOR_NS, name: secretName })).data?.[
        'ca.crt'
      ];
      const serials = new Set([firstSerial]);
      const deadline = Date.now() + 25_000;
      let answered = 0;
      const failures: string[] = [];
      const worker = async (w: number) => {
        for (let i = 0; Date.now() < deadline; i++) {
          const res = await api.create(deployments(ns.enforce), deployment(`stream-${w}-${i}`, false), {
            dryRun: true,
          });
          // failurePolicy Ignore would turn a TLS failure into a 201: only shipshape's refusal counts as answered.
          if (res.status === 403 && String(res.body.message).includes('shipshape:')) answered++;
          else failures.push(`${res.status} ${String(res.body.message).slice(0, 200)}`);
        }
      };
      const watcher = async () => {
        while (Date.now() < deadline) {
          serials.add(await servedSerial(port));
          await new Promise((r) => setTimeout(r, 500));
        }
      };
      await Promise.all([worker(0), worker(1), worker(2), worker(3), watcher()]);
      console.error(`e2e: ${answered} admissions during rotation, ${serials.size} serving certificates seen`);
      assert.deepEqual(failures, []);
      assert.ok(answered > 20, String(answered));
      assert.ok(serials.size >= 2, `the serving certificate rotated (${serials.size} seen)`);
      const caAfter = (await core.readNamespacedSecret({ namespace: OPERATOR_NS, name: secretName })).data?.[
        'ca.crt'
      ];
      assert.equal(caAfter, caBefore, 'serving rotation keeps the CA');
    });

    it('recreates a deleted Secret with the same CA and keeps answering', async () => {
      const before = await core.readNamespacedSecret({ namespace: OPERATOR_NS, name: secretName });
      await core.deleteNamespacedSecret({ namespace: OPERATOR_NS, name: secretName });
      const again = await eventually(
        'the webhook Secret to be recreated',
        () => core.readNamespacedSecret({ namespace: OPERATOR_NS, name: secretName }).catch(() => undefined),
        { timeoutMs: 15_000 },
      );
      assert.notEqual(again.metadata?.uid, before.metadata?.uid);
      assert.equal(again.type, 'kubernetes.io/tls');
      assert.equal(again.data?.['ca.crt'], before.data?.['ca.crt']);
      assert.ok(await webhookAnswers());
    });
  });

  describe('replicas', () => {
    it('a replica that does not lead serves admission too', async () => {
      // Two more replicas electing a leader among themselves, each registered under a configuration of its own.
      const names = ['a', 'b'].map((r) => `${configurationName}-${r}`);
      const replicas: OperatorProcess[] = [];
      try {
        for (const name of names) {
          const replicaPort = await freePort();
          const replica = await startOperatorProcess([
            `--kubeconfig=${kubeconfigPath()}`,
            `--namespace=${OPERATOR_NS}`,
            '--log-level=warn',
            '--image-analysis=false',
            '--leader-elect=true',
            `--leader-election-namespace=${ns.audit}`,
            `--webhook-bind-address=127.0.0.1:${replicaPort}`,
            `--webhook-url=https://127.0.0.1:${replicaPort}/validate`,
            `--webhook-configuration=${name}`,
            `--webhook-secret=${secretName}-replicas`,
          ]);
          replicas.push(replica);
          await replica.waitReady(60_000);
        }
        const leading = await eventually('one replica to lead', async () => {
          const values = await Promise.all(replicas.map((r) => r.metric('shipshape_leader')));
          return values.filter((v) => v === 1).length === 1 && values.includes(0) ? values : undefined;
        });
        const follower = replicas[leading.indexOf(0)]!;
        const denied = async () =>
          (await follower.metric('shipshape_admission_requests_total', {
            result: 'denied',
            kind: 'Deployment',
          })) ?? 0;
        const before = await denied();
        await eventually(
          'the follower to judge a violating Deployment',
          async () => {
            const r = await api.create(deployments(ns.enforce), deployment('replica-probe', false), {
              dryRun: true,
            });
            return r.status === 403 && (await denied()) > before ? true : undefined;
          },
          { timeoutMs: 30_000 },
        );
        assert.equal(await follower.metric('shipshape_leader'), 0, 'it still does not lead');
      } finally {
        for (const replica of replicas) await replica.stop('SIGKILL');
        for (const name of names)
          await admission.deleteValidatingWebhookConfiguration({ name }).catch(() => undefined);
        await core
          .deleteNamespacedSecret({ namespace: OPERATOR_NS, name: `${secretName}-replicas` })
          .catch(() => undefined);
      }
    });
  });

  describe('fail-safety', () => {
    const systemPodAdmitted = async () => {
      for (const namespace of ['kube-system', OPERATOR_NS]) {
        const res = await api.create(pods(namespace), pod(`sys-${Date.now().toString(36)}`), {
          dryRun: true,
        });
        assert.equal(res.status, 201, `${namespace}: ${JSON.stringify(res.body.message)}`);
      }
    };

    it('never judges kube-system or the operator namespace while running', async () => {
      await systemPodAdmitted();
    });

    it('failurePolicy Ignore: with every replica stopped a violating Deployment is admitted', async () => {
      await operator!.stop('SIGKILL');
      const res = await api.create(deployments(ns.enforce), deployment('while-down', false), {
        dryRun: true,
      });
      assert.equal(res.status, 201, JSON.stringify(res.body.message));
      await systemPodAdmitted();
    });

    it('failurePolicy Fail: with every replica stopped the API server refuses, except in the excluded namespaces', async () => {
      await startOperator('Fail');
      await eventually(
        'failurePolicy Fail in the configuration',
        async () =>
          (await admission.readValidatingWebhookConfiguration({ name: configurationName })).webhooks?.[0]
            ?.failurePolicy === 'Fail',
      );
      await eventually('the webhook to answer again', webhookAnswers);
      await operator!.stop('SIGKILL');
      const res = await eventually('the API server to fail closed', async () => {
        const r = await api.create(deployments(ns.enforce), deployment('closed', true), { dryRun: true });
        return r.status >= 500 ? r : undefined;
      });
      assert.match(String(res.body.message), /failed calling webhook "workloads\.validate\.shipshape\.dev"/);
      await systemPodAdmitted();
    });
  });
});

// The generated ValidatingAdmissionPolicy and the TypeScript engine agree: the
// same pod fixtures, sent to the real API server with the VAP in place, are
// refused exactly when the engine (what `shipshape audit` runs) finds a
// violation of the rules the VAP covers.
describe('ValidatingAdmissionPolicy conformance', function () {
  this.timeout(300_000);
  const namespace = `e2e-vap-${Date.now().toString(36)}`;
  const source: SecurityPolicy = {
    apiVersion: 'shipshape.dev/v1alpha1',
    kind: 'SecurityPolicy',
    metadata: { name: 'cel', namespace, uid: `vap-${namespace}`, generation: 1 },
    // An allow list beside the default forbidden list, so both branches of capabilitiesAdd are compared.
    spec: {
      enforcement: 'Enforce',
      rules: { securityContext: { allowedCapabilities: ['NET_BIND_SERVICE', 'CHOWN'] } },
    },
  };
  let kc: KubeConfig;
  let api: ApiClient;
  let admission: AdmissionregistrationV1Api;
  let generated: NonNullable<ReturnType<typeof generateVap>>;

  before(async () => {
    kc = kubeConfig();
    api = new ApiClient(kc);
    admission = kc.makeApiClient(AdmissionregistrationV1Api);
    await createReadyNamespace(kc.makeApiClient(CoreV1Api), namespace);
    const vap = generateVap(source, excludedNamespacesOf(OPERATOR_NS));
    assert.ok(vap, 'the default rules include CEL-expressible ones');
    generated = vap;
    await admission.createValidatingAdmissionPolicy({ body: generated.policy });
    await admission.createValidatingAdmissionPolicyBinding({ body: generated.binding });
    await eventually(
      'the ValidatingAdmissionPolicy to refuse a privileged pod',
      async () => {
        const p = pod('probe');
        p.spec!.containers[0]!.securityContext = { privileged: true };
        const res = await api.create(pods(namespace), p, { dryRun: true });
        return res.status === 403 && String(res.body.message).includes('ValidatingAdmissionPolicy');
      },
      { timeoutMs: 30_000 },
    );
  });

  after(async () => {
    const name = generated?.policy.metadata?.name ?? '';
    await admission.deleteValidatingAdmissionPolicyBinding({ name }).catch(() => undefined);
    await admission.deleteValidatingAdmissionPolicy({ name }).catch(() => undefined);
    await kc
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: namespace })
      .catch(() => undefined);
    api?.close();
  });

  /**
   * Every combination of the settings the covered rules read, in families: each
   * family varies the fields of some rules and keeps the others' compliant, so
   * a refusal is decided by the rules under test, not by one always failing.
   */
  function fixtures(): V1PodSpec[] {
    const specs: V1PodSpec[] = [];
    const tri = [undefined, true, false] as const;
    const dropAll = { drop: ['ALL'] };
    // The init container is compliant with everything, so only pod-level settings can trip it.
    const init = {
      name: 'init',
      image: 'registry.example/init:1.0.0',
      securityContext: {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: dropAll,
      },
    };
    // Family 1: privileges, host namespaces, escalation, root filesystem, user.
    for (const privileged of tri)
      for (const hostNetwork of [undefined, true] as const)
        for (const escalation of tri)
          for (const readOnly of [undefined, true] as const)
            for (const user of [undefined, 0, 1000] as const)
              for (const podUser of [undefined, 0] as const)
                for (const withInit of [false, true]) {
                  // The API server's own validation refuses this pair before admission: not a fixture.
                  if (privileged === true && escalation === false) continue;
                  const securityContext = {
                    capabilities: dropAll,
                    ...(privileged === undefined ? {} : { privileged }),
                    ...(escalation === undefined ? {} : { allowPrivilegeEscalation: escalation }),
                    ...(readOnly === undefined ? {} : { readOnlyRootFilesystem: readOnly }),
                    ...(user === undefined ? {} : { runAsUser: user }),
                  };
                  specs.push({
                    ...(hostNetwork === undefined ? {} : { hostNetwork }),
                    securityContext: {
                      runAsNonRoot: true,
                      ...(podUser === undefined ? {} : { runAsUser: podUser }),
                    },
                    ...(withInit ? { initContainers: [init] } : {}),
                    containers: [{ name: 'app', image: 'registry.example/app:1.0.0', securityContext }],
                  });
                }
    // Family 2: runAsNonRoot and runAsUser, on the container and on the pod (the container's wins).
    for (const nonRoot of tri)
      for (const podNonRoot of tri)
        for (const user of [undefined, 0, 1000] as const)
          for (const podUser of [undefined, 0, 1000] as const)
            for (const withInit of [false, true]) {
              const securityContext = {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: dropAll,
                ...(nonRoot === undefined ? {} : { runAsNonRoot: nonRoot }),
                ...(user === undefined ? {} : { runAsUser: user }),
              };
              const podSecurity = {
                ...(podNonRoot === undefined ? {} : { runAsNonRoot: podNonRoot }),
                ...(podUser === undefined ? {} : { runAsUser: podUser }),
              };
              specs.push({
                ...(Object.keys(podSecurity).length > 0 ? { securityContext: podSecurity } : {}),
                ...(withInit
                  ? {
                      initContainers: [
                        { ...init, securityContext: { ...init.securityContext, runAsNonRoot: undefined } },
                      ],
                    }
                  : {}),
                containers: [{ name: 'app', image: 'registry.example/app:1.0.0', securityContext }],
              });
            }
    // Family 3: capabilities dropped and added, in any case and with or without CAP_.
    const drops = [undefined, [], ['ALL'], ['all'], ['CAP_ALL'], ['NET_RAW'], ['NET_RAW', 'ALL']];
    const adds = [
      undefined,
      [],
      ['NET_BIND_SERVICE'],
      ['cap_chown'],
      ['SETUID'],
      ['sys_admin'],
      ['CAP_NET_RAW'],
      ['ALL'],
      ['CHOWN', 'SYS_PTRACE'],
    ];
    for (const drop of drops)
      for (const add of adds)
        for (const inInit of [false, true]) {
          const capabilities = {
            ...(drop === undefined ? {} : { drop }),
            ...(add === undefined ? {} : { add }),
          };
          const securityContext = {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            ...(drop === undefined && add === undefined ? {} : { capabilities }),
          };
          const app = { name: 'app', image: 'registry.example/app:1.0.0' };
          // The capabilities on the init container, or on the app container.
          specs.push(
            inInit
              ? {
                  initContainers: [{ ...init, securityContext }],
                  containers: [{ ...app, securityContext: init.securityContext }],
                }
              : { containers: [{ ...app, securityContext }] },
          );
        }
    return specs;
  }

  it('refuses exactly the fixtures the engine finds in violation of the covered rules', async () => {
    const covered = new Set(generated.rules);
    const specs = fixtures();
    const disagreements: string[] = [];
    let compared = 0;
    let refusedCount = 0;
    const workloads = specs.flatMap((spec, i) => {
      const labels = { app: `f${i}` };
      const template = { metadata: { labels }, spec };
      const out: { path: string; object: KubernetesObject & { spec?: unknown } }[] = [
        {
          path: pods(namespace),
          object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: `f${i}`, labels }, spec },
        },
      ];
      // Every 9th fixture also as a Deployment and a CronJob, to cover the template paths.
      if (i % 9 === 0) {
        out.push({
          path: deployments(namespace),
          object: {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: `f${i}` },
            spec: { selector: { matchLabels: labels }, template },
          },
        });
        out.push({
          path: `/apis/batch/v1/namespaces/${namespace}/cronjobs`,
          object: {
            apiVersion: 'batch/v1',
            kind: 'CronJob',
            metadata: { name: `f${i}` },
            spec: {
              schedule: '0 * * * *',
              jobTemplate: { spec: { template: { ...template, spec: { ...spec, restartPolicy: 'Never' } } } },
            },
          },
        });
      }
      return out;
    });
    for (let i = 0; i < workloads.length; i += 16) {
      await Promise.all(
        workloads.slice(i, i + 16).map(async ({ path, object }) => {
          const findings = evaluateWorkload({ ...object, metadata: { ...object.metadata, namespace } }, [
            source,
          ]);
          const engine = findings.some((f) => covered.has(f.ruleId));
          const res = await api.create(path, object, { dryRun: true });
          const refused = res.status === 403;
          if (res.status !== 403 && res.status !== 201)
            disagreements.push(
              `${object.kind} ${object.metadata?.name}: unexpected ${res.status} ${res.body.message}`,
            );
          else if (refused !== engine)
            disagreements.push(
              `${object.kind} ${object.metadata?.name}: API server ${refused ? 'refused' : 'admitted'}, engine ${engine ? findings.map((f) => f.ruleId).join(',') : 'no covered violation'}: ${JSON.stringify(object.spec)}`,
            );
          compared++;
          if (refused) refusedCount++;
        }),
      );
    }
    console.error(
      `e2e: VAP conformance over rules ${[...covered].join(', ')}: ${compared} fixtures compared, ${refusedCount} refused, ${disagreements.length} disagreements`,
    );
    assert.deepEqual(disagreements.slice(0, 10), []);
    assert.ok(compared >= 400, String(compared));
    assert.ok(refusedCount > 0 && refusedCount < compared);
  });
});
