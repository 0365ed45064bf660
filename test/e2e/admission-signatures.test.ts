// Signatures at admission (issue 12, acceptance 2): an Enforce policy requires
// a cosign signature by a key held in a Secret, and the real API server calls
// the operator's webhook over TLS. A Deployment with an image the real cosign
// v2 signed is admitted, one with an unsigned image is refused with the
// verdict in the message, and both are first-seen images (cache misses),
// verified within the webhook's image budget; onImageUnknown is Deny, so an
// image not verified in time would be refused, not quietly admitted.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type V1Deployment,
} from '@kubernetes/client-node';
import { binDir, freePort, toolPath } from '../cluster/local-cluster.js';
import { ApiClient } from '../support/api-request.js';
import { installCrds } from '../support/crds.js';
import { createReadyNamespace } from '../support/namespaces.js';
import { pushImage } from '../support/oci-push.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { createSecurityPolicy } from '../support/policies.js';
import { tar } from '../support/tar.js';
import { eventually } from '../support/wait.js';
import { kubeConfig, kubeconfigPath, registryHost } from './harness.js';

const run = promisify(execFile);
const OPERATOR_NS = 'shipshape-system';
/** The webhook's wait for a first-seen image (--webhook-image-budget), below the 5 s webhook timeout. */
const IMAGE_BUDGET_MS = 4000;

describe('signatures at admission', function () {
  this.timeout(300_000);
  const suffix = Date.now().toString(36);
  const ns = `e2e-admsig-${suffix}`;
  const configurationName = `shipshape-e2e-admsig-${suffix}`;
  const secretName = `shipshape-e2e-admsig-cert-${suffix}`;
  let core: CoreV1Api;
  let admission: AdmissionregistrationV1Api;
  let api: ApiClient;
  let operator: OperatorProcess | undefined;
  let work: string;
  const images: Record<'signed' | 'unsigned' | 'probe', { reference: string; digest: string }> = {} as never;

  const deployment = (name: string, image: string): V1Deployment => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          nodeSelector: { type: 'kwok' },
          automountServiceAccountToken: false,
          containers: [
            {
              name: 'app',
              image,
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 1000,
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              resources: {
                requests: { cpu: '100m', memory: '64Mi' },
                limits: { cpu: '200m', memory: '128Mi' },
              },
              livenessProbe: { httpGet: { path: '/healthz', port: 8080 } },
              readinessProbe: { httpGet: { path: '/readyz', port: 8080 } },
            },
          ],
        },
      },
    },
  });
  const deployments = `/apis/apps/v1/namespaces/${ns}/deployments`;

  /** Creates the Deployment and says how long the API server (and through it the webhook) took. */
  const timedCreate = async (name: string, image: string, dryRun = false) => {
    const started = process.hrtime.bigint();
    const res = await api.create(deployments, deployment(name, image), { dryRun });
    return { res, ms: Number(process.hrtime.bigint() - started) / 1e6 };
  };

  before(async function () {
    if (!existsSync(join(binDir(), 'cosign-v2'))) {
      console.log('    skipped: cosign-v2 not built (hack/build-tools.sh cosign-v2)');
      this.skip();
    }
    const kc = kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    admission = kc.makeApiClient(AdmissionregistrationV1Api);
    api = new ApiClient(kc);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await installCrds(kc);
    for (const name of [OPERATOR_NS, ns]) await createReadyNamespace(core, name);
    const host = registryHost();
    const config = { config: { User: '10001' } };
    for (const kind of ['signed', 'unsigned', 'probe'] as const)
      images[kind] = await pushImage(
        host,
        `e2e-admsig-${suffix}/${kind}`,
        '1.0',
        [tar([{ path: 'a', content: `${kind} ${suffix}\n` }])],
        config,
      );

    work = mkdtempSync(join(tmpdir(), 'shipshape-admsig-'));
    mkdirSync(join(work, 'home'));
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: join(work, 'home'),
      DOCKER_CONFIG: join(work, 'home', '.docker'),
      TUF_ROOT: join(work, 'home', 'tuf'),
      COSIGN_PASSWORD: 'e2e-test-password',
      // Nothing but loopback is ever dialled: any other destination goes to a closed local port.
      HTTPS_PROXY: 'http://127.0.0.1:9',
      HTTP_PROXY: 'http://127.0.0.1:9',
      NO_PROXY: '127.0.0.1',
    };
    const cosign = (args: string[]) => run(toolPath('cosign-v2'), args, { env, cwd: work, timeout: 60_000 });
    await cosign(['generate-key-pair', '--output-key-prefix', 'release']);
    for (const kind of ['signed', 'probe'] as const)
      await cosign([
        'sign',
        '--key',
        'release.key',
        '--tlog-upload=false',
        '--allow-http-registry',
        '--allow-insecure-registry',
        '-y',
        `${host}/e2e-admsig-${suffix}/${kind}@${images[kind].digest}`,
      ]);
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'release-key' },
        stringData: { 'cosign.pub': readFileSync(join(work, 'release.pub'), 'utf8') },
      },
    });
    await createSecurityPolicy(custom, ns, 'signed-only', {
      enforcement: 'Enforce',
      onImageUnknown: 'Deny',
      signatures: {
        required: true,
        images: [`${host}/e2e-admsig-${suffix}/**`],
        attestors: [
          {
            name: 'release',
            publicKeyRef: { name: 'release-key', key: 'cosign.pub' },
            transparencyLog: { threshold: 0 },
          },
        ],
      },
    });
    const port = await freePort();
    operator = await startOperatorProcess([
      `--kubeconfig=${kubeconfigPath()}`,
      `--namespace=${OPERATOR_NS}`,
      '--leader-elect=false',
      '--log-level=warn',
      '--allow-registry=127.0.0.1:*',
      `--plain-http=${host}`,
      `--webhook-bind-address=127.0.0.1:${port}`,
      `--webhook-url=https://127.0.0.1:${port}/validate`,
      `--webhook-configuration=${configurationName}`,
      `--webhook-secret=${secretName}`,
      // Fail, so a webhook the API server cannot reach refuses rather than admits: an admission here is the webhook's.
      '--webhook-failure-policy=Fail',
      `--webhook-image-budget=${IMAGE_BUDGET_MS}ms`,
    ]);
    await operator.waitReady(60_000);
    // The API server calls the webhook once its configuration is registered: a signed probe image
    // (its own repository, so the images under test stay first-seen) is admitted on a dry run.
    await eventually(
      'the API server to call the webhook',
      async () => (await timedCreate('probe', images.probe.reference, true)).res.status === 201,
      { timeoutMs: 60_000 },
    );
  });

  after(async () => {
    await operator?.stop('SIGKILL');
    await admission?.deleteValidatingWebhookConfiguration({ name: configurationName }).catch(() => undefined);
    await core?.deleteNamespacedSecret({ namespace: OPERATOR_NS, name: secretName }).catch(() => undefined);
    await core?.deleteNamespace({ name: ns }).catch(() => undefined);
    api?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('admits a first-seen signed image, verified within the time budget', async () => {
    const { res, ms } = await timedCreate('signed', images.signed.reference);
    console.error(
      `e2e: first-seen signed image admitted in ${ms.toFixed(0)} ms (budget ${IMAGE_BUDGET_MS} ms)`,
    );
    assert.equal(res.status, 201, JSON.stringify(res.body.message));
    assert.ok(ms < IMAGE_BUDGET_MS + 1000, `${ms} ms`);
  });

  it('refuses a first-seen unsigned image with the verdict in the message', async () => {
    const { res, ms } = await timedCreate('unsigned', images.unsigned.reference);
    console.error(`e2e: first-seen unsigned image refused in ${ms.toFixed(0)} ms`);
    assert.equal(res.status, 403, JSON.stringify(res.body));
    const message = String(res.body.message);
    assert.match(message, /\[signatures\.verified\] policy e2e-admsig-[^/]+\/signed-only/);
    assert.match(message, /is Unsigned \(the policy requires a signature by release\)/);
    assert.ok(
      !message.includes('admission.imageUnknown'),
      'verified in time, not answered by onImageUnknown',
    );
    assert.equal((await api.send('GET', `${deployments}/unsigned`)).status, 404);
  });

  it('answers a known image from the cache, fast', async () => {
    const samples: number[] = [];
    for (let i = 0; i < 10; i++) {
      const { res, ms } = await timedCreate(`again-${i}`, images.signed.reference, true);
      assert.equal(res.status, 201, JSON.stringify(res.body.message));
      samples.push(ms);
    }
    samples.sort((a, b) => a - b);
    console.error(`e2e: cached signed image, 10 dry-run creates: median ${samples[5]!.toFixed(0)} ms`);
    assert.ok(samples[5]! < 1000, `${samples[5]} ms`);
  });
});
