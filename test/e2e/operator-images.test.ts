// The operator reads the images that pods run: with the pod's pull secret a
// private image is analysed (ImageReport, image rules in the SecurityReport);
// with a wrong or missing secret the report says which registry refused and
// why; an image on a link-local or loopback address is never fetched at all.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import type { ImageReport, SecurityReport } from '../../src/api/report-types.js';
import { installCrds } from '../support/crds.js';
import { createSecurityPolicy } from '../support/policies.js';
import { createReadyNamespace } from '../support/namespaces.js';
import { pushImage } from '../support/oci-push.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { startPrivateRegistry, type PrivateRegistry } from '../support/private-registry.js';
import { tar } from '../support/tar.js';
import { eventually } from '../support/wait.js';
import { kubeConfig, kubeconfigPath } from './harness.js';

const GROUP = { group: 'shipshape.dev', version: 'v1alpha1' };

describe('operator image analysis', function () {
  this.timeout(180_000);
  const ns = `e2e-images-${Date.now().toString(36)}`;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let registry: PrivateRegistry;
  let operator: OperatorProcess;
  let image: string;
  let digest: string;
  let trap: Server;
  let trapPort = 0;
  let trapConnections = 0;

  const pod = (name: string, podImage: string, secret?: string): V1Pod => ({
    metadata: { name },
    spec: {
      nodeSelector: { type: 'kwok' },
      ...(secret ? { imagePullSecrets: [{ name: secret }] } : {}),
      containers: [{ name: 'app', image: podImage }],
    },
  });
  const pullSecret = (name: string, password: string) => ({
    metadata: { name },
    type: 'kubernetes.io/dockerconfigjson',
    data: {
      '.dockerconfigjson': Buffer.from(
        JSON.stringify({ auths: { [registry.host]: { username: 'puller', password } } }),
      ).toString('base64'),
    },
  });
  const imageEntry = async (podName: string) => {
    const report = (await custom
      .getNamespacedCustomObject({
        ...GROUP,
        plural: 'securityreports',
        namespace: ns,
        name: `pod-${podName}`,
      })
      .catch(() => undefined)) as SecurityReport | undefined;
    return report?.status?.images?.[0];
  };

  before(async () => {
    const kc = kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    await installCrds(kc);
    for (const name of ['shipshape-system', ns]) await createReadyNamespace(core, name);
    registry = await startPrivateRegistry('puller', 'e2e-Pa55word');
    const layer = tar([
      { path: 'etc/', type: 'dir' },
      {
        path: 'etc/os-release',
        content: 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
      },
      { path: 'var/lib/dpkg/', type: 'dir' },
      { path: 'var/lib/dpkg/status', content: readFileSync('test/fixtures/sbom/dpkg-status') },
    ]);
    const pushed = await pushImage(
      registry.host,
      'private/app',
      'v1',
      [layer],
      { config: { User: '' } },
      registry.auth,
    );
    image = pushed.reference;
    digest = pushed.digest;

    trap = createServer((socket) => {
      trapConnections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.2', resolve));
    trapPort = (trap.address() as { port: number }).port;

    await core.createNamespacedSecret({ namespace: ns, body: pullSecret('regcred', 'e2e-Pa55word') });
    await core.createNamespacedSecret({ namespace: ns, body: pullSecret('wrongcred', 'not-the-password') });
    await createSecurityPolicy(custom, ns, 'images');
    operator = await startOperatorProcess([
      `--kubeconfig=${kubeconfigPath()}`,
      '--namespace=shipshape-system',
      '--leader-elect=false',
      '--log-level=warn',
      `--allow-registry=127.0.0.1:*`,
      `--plain-http=${registry.host}`,
    ]);
    await operator.waitReady();
  });

  after(async () => {
    await operator?.stop('SIGKILL');
    await registry?.stop();
    trap?.close();
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('analyses a private image with the pod pull secret: ImageReport and image rules', async () => {
    await core.createNamespacedPod({ namespace: ns, body: pod('with-secret', image, 'regcred') });
    const entry = await eventually('the image to be analysed', async () => {
      const e = await imageEntry('with-secret');
      return e?.analysis === 'Analyzed' ? e : undefined;
    });
    assert.equal(entry.os, 'debian 12');
    assert.ok((entry.packages ?? 0) > 40, `packages: ${entry.packages}`);
    const report = (await custom.getNamespacedCustomObject({
      ...GROUP,
      plural: 'securityreports',
      namespace: ns,
      name: 'pod-with-secret',
    })) as SecurityReport;
    assert.ok(
      report.status?.findings?.some((f) => f.ruleId === 'image.runsAsRoot'),
      'the image rule sees the image runs as root',
    );
    // Created first, then its status: wait for the status, not just the object.
    const imageReport = await eventually('the ImageReport with its status', async () => {
      const found = (await custom
        .getClusterCustomObject({ ...GROUP, plural: 'imagereports', name: digest.replace(':', '-') })
        .catch(() => undefined)) as ImageReport | undefined;
      return found?.status?.packageCount !== undefined ? found : undefined;
    });
    assert.equal(imageReport.spec.digest, digest);
    assert.ok(imageReport.spec.references?.includes(image));
    assert.equal(imageReport.status?.packageCount, entry.packages);
  });

  it('says which registry refused, and why, for a wrong or missing pull secret', async () => {
    await core.createNamespacedPod({ namespace: ns, body: pod('wrong-secret', image, 'wrongcred') });
    await core.createNamespacedPod({ namespace: ns, body: pod('no-secret', image) });
    for (const name of ['wrong-secret', 'no-secret']) {
      const entry = await eventually(`the failure for ${name}`, async () => {
        const e = await imageEntry(name);
        return e?.analysis === 'Failed' ? e : undefined;
      });
      assert.equal(entry.reason, 'Unauthorized', JSON.stringify(entry));
      assert.ok(entry.message?.includes(registry.host), entry.message);
      assert.ok(!entry.message?.includes('e2e-Pa55word') && !entry.message?.includes('not-the-password'));
    }
  });

  it('never fetches an image on a link-local or non-allowed loopback address', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: pod('metadata', '169.254.169.254/latest/meta-data:1'),
    });
    await core.createNamespacedPod({
      namespace: ns,
      body: pod('loopback', `127.0.0.2:${trapPort}/internal/admin:1`),
    });
    for (const name of ['metadata', 'loopback']) {
      const entry = await eventually(`the refusal for ${name}`, async () => {
        const e = await imageEntry(name);
        return e?.analysis === 'Failed' ? e : undefined;
      });
      assert.equal(entry.reason, 'RegistryNotAllowed', JSON.stringify(entry));
    }
    assert.equal(trapConnections, 0, 'nothing connected to the loopback trap');
  });
});
