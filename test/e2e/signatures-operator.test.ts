// Signature verdicts in the running operator (issue 11, acceptance 4): a SecurityPolicy requires
// signatures by a key held in a Secret; a Deployment whose image the real cosign v2 signed is
// compliant (SIGNED Verified), one with an unsigned image is not, and a Warning Event names the image
// and why. Stopping the local registry turns the verdict into Error — retried, never Unsigned — and
// starting it again brings Verified back. cosign runs fully offline: a private HOME and TUF_ROOT,
// and a proxy to a closed loopback port for anything that is not loopback.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, EventsV1Api } from '@kubernetes/client-node';
import type { ImageReport, SecurityReport } from '../../src/api/report-types.js';
import { binDir, toolPath } from '../cluster/local-cluster.js';
import { installCrds } from '../support/crds.js';
import { createReadyNamespace } from '../support/namespaces.js';
import { pushImage } from '../support/oci-push.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { createSecurityPolicy } from '../support/policies.js';
import { tar } from '../support/tar.js';
import { eventually } from '../support/wait.js';
import { compliantContainer, kwokDeployment } from '../support/workloads.js';
import { kubeConfig, kubeconfigPath, localCluster, registryHost } from './harness.js';

const run = promisify(execFile);
const GROUP = { group: 'shipshape.dev', version: 'v1alpha1' };

describe('signature verdicts in the operator', function () {
  this.timeout(240_000);
  const ns = `e2e-sigop-${Date.now().toString(36)}`;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let events: EventsV1Api;
  let operator: OperatorProcess | undefined;
  let work: string;
  let signed: { reference: string; digest: string };
  let unsigned: { reference: string; digest: string };

  const report = async (name: string): Promise<SecurityReport | undefined> =>
    (await custom
      .getNamespacedCustomObject({ ...GROUP, plural: 'securityreports', namespace: ns, name })
      .catch(() => undefined)) as SecurityReport | undefined;

  before(async function () {
    if (!existsSync(join(binDir(), 'cosign-v2'))) {
      console.log('    skipped: cosign-v2 not built (hack/build-tools.sh cosign-v2)');
      this.skip();
    }
    const kc = kubeConfig();
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    events = kc.makeApiClient(EventsV1Api);
    await installCrds(kc);
    for (const name of ['shipshape-system', ns]) await createReadyNamespace(core, name);
    const host = registryHost();
    const config = { config: { User: '10001' } };
    signed = await pushImage(
      host,
      'e2e-sigop/signed',
      '1.0',
      [tar([{ path: 'a', content: 'signed\n' }])],
      config,
    );
    unsigned = await pushImage(
      host,
      'e2e-sigop/unsigned',
      '1.0',
      [tar([{ path: 'a', content: 'no\n' }])],
      config,
    );

    work = mkdtempSync(join(tmpdir(), 'shipshape-sigop-'));
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
    await cosign([
      'sign',
      '--key',
      'release.key',
      '--tlog-upload=false',
      '--allow-http-registry',
      '--allow-insecure-registry',
      '-y',
      `${host}/e2e-sigop/signed@${signed.digest}`,
    ]);

    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'release-key' },
        stringData: { 'cosign.pub': readFileSync(join(work, 'release.pub'), 'utf8') },
      },
    });
    await createSecurityPolicy(custom, ns, 'signed-images', {
      enforcement: 'Audit',
      signatures: {
        required: true,
        images: [`${host}/e2e-sigop/**`],
        attestors: [
          {
            name: 'release',
            publicKeyRef: { name: 'release-key', key: 'cosign.pub' },
            transparencyLog: { threshold: 0 },
          },
        ],
      },
    });
    operator = await startOperatorProcess([
      `--kubeconfig=${kubeconfigPath()}`,
      '--namespace=shipshape-system',
      '--leader-elect=false',
      '--log-level=warn',
      '--allow-registry=127.0.0.1:*',
      `--plain-http=${host}`,
      // Short, so the registry outage is noticed and retried within the test.
      '--signature-ttl=3',
      '--signature-retry=2',
    ]);
    await operator.waitReady();
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: kwokDeployment('signed', compliantContainer(signed.reference)),
    });
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: kwokDeployment('unsigned', compliantContainer(unsigned.reference)),
    });
  });

  after(async () => {
    const cluster = localCluster();
    if (cluster) await cluster.startComponent('registry').catch(() => undefined);
    await operator?.stop('SIGKILL');
    await core?.deleteNamespace({ name: ns }).catch(() => undefined);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('reports the signed Deployment compliant, Verified by the release key', async () => {
    const r = await eventually('the signed Deployment to be Verified', async () => {
      const found = await report('deployment-signed');
      return found?.status?.signed === 'Verified' ? found : undefined;
    });
    assert.equal(r.status?.compliant, true, JSON.stringify(r.status?.findings));
    assert.equal(r.status?.images?.[0]?.signature, 'Verified');
    const imageReport = await eventually('the ImageReport to carry the verdict', async () => {
      const found = (await custom
        .getClusterCustomObject({ ...GROUP, plural: 'imagereports', name: signed.digest.replace(':', '-') })
        .catch(() => undefined)) as ImageReport | undefined;
      return found?.status?.signatures?.length ? found : undefined;
    });
    assert.deepEqual(
      imageReport.status?.signatures?.map((s) => [s.attestor, s.verdict]),
      [[`${ns}/signed-images/release`, 'Verified']],
    );
  });

  it('reports the unsigned Deployment non-compliant, with an Event naming the image and why', async () => {
    const r = await eventually('the unsigned Deployment to be Unsigned', async () => {
      const found = await report('deployment-unsigned');
      return found?.status?.signed === 'Unsigned' ? found : undefined;
    });
    assert.equal(r.status?.compliant, false);
    const finding = r.status?.findings?.find((f) => f.ruleId === 'signatures.verified');
    assert.ok(finding, JSON.stringify(r.status?.findings));
    assert.match(finding.message, /is Unsigned/);
    const event = await eventually('a SignatureUnsigned Event', async () => {
      const list = await events.listNamespacedEvent({ namespace: ns });
      return list.items.find((e) => e.regarding?.name === 'unsigned' && e.reason === 'SignatureUnsigned');
    });
    assert.equal(event.type, 'Warning');
    assert.ok(event.note?.includes(unsigned.reference), event.note);
    assert.ok(event.note?.includes(unsigned.digest), event.note);
    assert.match(event.note ?? '', /Unsigned: .*no/i);
  });

  it('turns verdicts into Error while the registry is down, never Unsigned, and back to Verified', async function () {
    const cluster = localCluster();
    if (!cluster) {
      console.log('    skipped: not a local cluster, the registry cannot be stopped');
      this.skip();
    }
    await cluster.stopComponent('registry');
    let sawUnsigned = false;
    try {
      // The signed image's verdict expires (3 s); the re-verification cannot reach the registry.
      const r = await eventually(
        'the signed Deployment to be Error',
        async () => {
          // Any change of the workload is a reconcile; its rescan would be one too, only later.
          await apps.patchNamespacedDeployment({
            namespace: ns,
            name: 'signed',
            body: [{ op: 'add', path: '/metadata/annotations/e2e-touched', value: String(Date.now()) }],
          });
          const found = await report('deployment-signed');
          if (found?.status?.signed === 'Unsigned') sawUnsigned = true;
          return found?.status?.signed === 'Error' ? found : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
      assert.equal(r.status?.compliant, false);
      assert.equal(r.status?.images?.[0]?.signature, 'Error');
      const finding = r.status?.findings?.find((f) => f.ruleId === 'signatures.verified');
      assert.match(
        finding?.message ?? '',
        /could not verify the signature \(Error, RegistryError; retrying\)/,
      );
      const event = await eventually('a SignatureError Event', async () => {
        const list = await events.listNamespacedEvent({ namespace: ns });
        return list.items.find((e) => e.regarding?.name === 'signed' && e.reason === 'SignatureError');
      });
      assert.ok(event.note?.includes(signed.reference), event.note);
      const errors = await operator?.metric('shipshape_signature_verifications_total', { result: 'error' });
      assert.ok((errors ?? 0) >= 1, `error verifications: ${errors}`);
    } finally {
      await cluster.startComponent('registry');
    }
    // The retry (2 s) after the registry is back finds the signature again, without any change.
    await eventually(
      'the signed Deployment to be Verified again',
      async () => {
        const found = await report('deployment-signed');
        if (found?.status?.signed === 'Unsigned') sawUnsigned = true;
        return found?.status?.signed === 'Verified' && found.status.compliant === true;
      },
      { timeoutMs: 60_000 },
    );
    assert.equal(sawUnsigned, false, 'a registry outage was reported as Unsigned');
    const verified = await operator?.metric('shipshape_signature_verifications_total', {
      result: 'verified',
    });
    assert.ok((verified ?? 0) >= 2, `verified verifications: ${verified}`);
  });
});
