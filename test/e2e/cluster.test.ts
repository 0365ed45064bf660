// The local control plane behaves like a cluster: Deployments become pods
// that kwok runs on fake nodes, and deleting the Deployment removes them.
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { kubeConfig } from './harness.js';
import { eventually } from '../support/wait.js';

describe('local cluster', () => {
  const namespace = `e2e-cluster-${Date.now().toString(36)}`;
  let core: CoreV1Api;
  let apps: AppsV1Api;

  before(async () => {
    const kc = kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });

  after(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('runs a 3-replica Deployment on kwok nodes and removes its pods when it is deleted', async () => {
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 3,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              nodeSelector: { type: 'kwok' },
              containers: [{ name: 'web', image: 'registry.example/web:1.0' }],
            },
          },
        },
      },
    });

    const running = await eventually(
      '3 running pods',
      async () => {
        const pods = (await core.listNamespacedPod({ namespace, labelSelector: 'app=web' })).items;
        const ready = pods.filter((p: V1Pod) => p.status?.phase === 'Running');
        return ready.length === 3 ? ready : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const nodes = (await core.listNode()).items;
    const kwokNodes = new Set(
      nodes
        .filter((n) => n.metadata?.annotations?.['kwok.x-k8s.io/node'] === 'fake')
        .map((n) => n.metadata?.name),
    );
    for (const pod of running) {
      assert.ok(kwokNodes.has(pod.spec?.nodeName), `pod ${pod.metadata?.name} runs on a kwok node`);
      assert.equal(pod.metadata?.ownerReferences?.[0]?.kind, 'ReplicaSet');
    }

    await apps.deleteNamespacedDeployment({ namespace, name: 'web', propagationPolicy: 'Foreground' });
    await eventually(
      'the pods to be deleted',
      async () => (await core.listNamespacedPod({ namespace, labelSelector: 'app=web' })).items.length === 0,
      { timeoutMs: 60_000 },
    );
  });
});
