import assert from 'node:assert/strict';
import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import { resolveTopController, type OwnerLookup } from '../../../../src/controllers/workload/owners.js';

function owner(apiVersion: string, kind: string, name: string, controller = true): V1OwnerReference {
  return { apiVersion, kind, name, uid: `uid-${kind}-${name}`, controller };
}

function object(
  kind: string,
  name: string,
  owners: V1OwnerReference[] = [],
  apiVersion?: string,
): KubernetesObject {
  // Informer list items usually carry no apiVersion/kind; leave them out unless asked.
  return {
    ...(apiVersion ? { apiVersion, kind } : {}),
    metadata: { namespace: 'shop', name, uid: `uid-${kind}-${name}`, ownerReferences: owners },
  };
}

function cache(...entries: Array<[string, KubernetesObject]>): OwnerLookup {
  const byKey = new Map(
    entries.map(([kind, obj]) => [`${kind}/${obj.metadata?.namespace}/${obj.metadata?.name}`, obj]),
  );
  return (kind, namespace, name) => byKey.get(`${kind}/${namespace}/${name}`);
}

const podKind = { apiVersion: 'v1', kind: 'Pod' };

describe('resolveTopController', () => {
  it('resolves a Deployment pod through its ReplicaSet to the Deployment', () => {
    const deployment = object('Deployment', 'web');
    const replicaSet = object('ReplicaSet', 'web-5d8f', [owner('apps/v1', 'Deployment', 'web')]);
    const pod = object('Pod', 'web-5d8f-x2x', [owner('apps/v1', 'ReplicaSet', 'web-5d8f')]);
    const result = resolveTopController(pod, cache(['ReplicaSet', replicaSet], ['Deployment', deployment]), {
      objectKind: podKind,
    });
    assert.equal(result.outcome, 'complete');
    assert.deepEqual(result.workload, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'shop',
      name: 'web',
      uid: 'uid-Deployment-web',
    });
    assert.deepEqual(
      result.chain.map((ref) => `${ref.apiVersion} ${ref.kind}`),
      ['v1 Pod', 'apps/v1 ReplicaSet', 'apps/v1 Deployment'],
    );
  });

  it('resolves a CronJob pod through its Job to the CronJob', () => {
    const cronJob = object('CronJob', 'backup');
    const job = object('Job', 'backup-2890', [owner('batch/v1', 'CronJob', 'backup')]);
    const pod = object('Pod', 'backup-2890-abc', [owner('batch/v1', 'Job', 'backup-2890')]);
    const result = resolveTopController(pod, cache(['Job', job], ['CronJob', cronJob]));
    assert.equal(result.outcome, 'complete');
    assert.equal(result.workload.kind, 'CronJob');
    assert.equal(result.workload.name, 'backup');
  });

  for (const kind of ['StatefulSet', 'DaemonSet']) {
    it(`resolves a ${kind} pod directly to the ${kind}`, () => {
      const workload = object(kind, 'db');
      const pod = object('Pod', 'db-0', [owner('apps/v1', kind, 'db')]);
      const result = resolveTopController(pod, cache([kind, workload]));
      assert.equal(result.outcome, 'complete');
      assert.equal(result.workload.kind, kind);
      assert.equal(result.chain.length, 2);
    });
  }

  it('treats a bare pod as its own workload', () => {
    const pod = object('Pod', 'debug', [], 'v1');
    const result = resolveTopController(pod, cache());
    assert.equal(result.outcome, 'complete');
    assert.deepEqual(result.workload, {
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: 'shop',
      name: 'debug',
      uid: 'uid-Pod-debug',
    });
  });

  it('ignores owner references that are not the controller', () => {
    const pod = object('Pod', 'p', [owner('v1', 'ConfigMap', 'holder', false)]);
    const result = resolveTopController(pod, cache(), { objectKind: podKind });
    assert.equal(result.workload.kind, 'Pod');
  });

  it('keeps a static pod controlled by its Node as its own workload', () => {
    const pod = object('Pod', 'kube-proxy-node1', [owner('v1', 'Node', 'node1')]);
    const result = resolveTopController(pod, cache(), { objectKind: podKind });
    assert.equal(result.outcome, 'complete');
    assert.equal(result.workload.kind, 'Pod');
  });

  it('falls back to the highest known reference when an intermediate owner is not cached, and says so', () => {
    const pod = object('Pod', 'web-5d8f-x2x', [owner('apps/v1', 'ReplicaSet', 'web-5d8f')]);
    const result = resolveTopController(pod, cache(), { objectKind: podKind });
    assert.equal(result.outcome, 'owner-missing');
    assert.deepEqual(result.workload, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      namespace: 'shop',
      name: 'web-5d8f',
      uid: 'uid-ReplicaSet-web-5d8f',
    });
    assert.match(result.message ?? '', /ReplicaSet shop\/web-5d8f .*not in the cache/);
  });

  it('does not climb through a cached owner whose uid differs from the reference', () => {
    const recreated = {
      metadata: {
        namespace: 'shop',
        name: 'web-5d8f',
        uid: 'another-uid',
        ownerReferences: [owner('apps/v1', 'Deployment', 'web')],
      },
    };
    const pod = object('Pod', 'web-5d8f-x2x', [owner('apps/v1', 'ReplicaSet', 'web-5d8f')]);
    const result = resolveTopController(
      pod,
      cache(['ReplicaSet', recreated], ['Deployment', object('Deployment', 'web')]),
    );
    assert.equal(result.outcome, 'owner-missing');
    assert.equal(result.workload.kind, 'ReplicaSet');
    assert.match(result.message ?? '', /another-uid/);
  });

  it('stops at a reference loop instead of spinning', () => {
    const a = object('Thing', 'a', [owner('x/v1', 'Thing', 'b')]);
    const b = object('Thing', 'b', [owner('x/v1', 'Thing', 'a')]);
    const result = resolveTopController(a, cache(['Thing', a], ['Thing', b]));
    assert.equal(result.outcome, 'depth-exceeded');
    assert.equal(result.workload.name, 'b');
  });

  it('stops after maxDepth owners', () => {
    const objects: Array<[string, KubernetesObject]> = [];
    for (let i = 0; i < 5; i++)
      objects.push(['Thing', object('Thing', `t${i}`, [owner('x/v1', 'Thing', `t${i + 1}`)])]);
    const start = objects[0]?.[1] as KubernetesObject;
    const result = resolveTopController(start, cache(...objects), { maxDepth: 2 });
    assert.equal(result.outcome, 'depth-exceeded');
    assert.equal(result.workload.name, 't2');
  });
});
