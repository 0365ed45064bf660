import assert from 'node:assert/strict';
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import type { SecurityPolicy } from '../../../../src/api/policy-types.js';
import { PolicyFanOut } from '../../../../src/controllers/workload/fanout.js';
import { Workloads } from '../../../../src/controllers/workload/workloads.js';
import { deployment, FakeStore, NAMESPACE, rootContainer, securityPolicy } from '../fake-store.js';

describe('policy fan-out', () => {
  let store: FakeStore;
  let fanOut: PolicyFanOut;

  const names = (keys: { kind: string; name: string }[]) => keys.map((k) => `${k.kind}/${k.name}`).sort();
  const withImages = (policy: SecurityPolicy, images: string[]): SecurityPolicy & KubernetesObject => ({
    ...policy,
    spec: { ...policy.spec, match: { images } },
  });

  beforeEach(() => {
    store = new FakeStore();
    const debugged: V1Pod & KubernetesObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'debugged', namespace: NAMESPACE, uid: 'uid-pod-debugged' },
      spec: {
        containers: [rootContainer('app', 'ghcr.io/acme/app:1')],
        ephemeralContainers: [{ name: 'debugger', image: 'ghcr.io/tools/debug:1' }],
      },
    };
    store.put(
      deployment('web', { containers: [rootContainer('web', 'nginx:1.27')] }),
      deployment('api', { containers: [rootContainer('api', 'ghcr.io/acme/api:2')] }, { app: 'api' }),
      debugged,
    );
    fanOut = new PolicyFanOut(store, new Workloads(store));
  });

  it('re-evaluates only the workloads a new policy matches', () => {
    const policy = withImages(securityPolicy('acme'), ['ghcr.io/acme/**']);
    assert.deepEqual(names(fanOut.affected('add', policy)), ['Deployment/api', 'Pod/debugged']);
  });

  it('counts an ephemeral container of a bare pod (kubectl debug) as an image the pod runs', () => {
    const policy = withImages(securityPolicy('tools'), ['ghcr.io/tools/**']);
    assert.deepEqual(names(fanOut.affected('add', policy)), ['Pod/debugged']);
  });

  it('re-evaluates what the old version matched as well as what the new one matches', () => {
    const before = withImages(securityPolicy('moving'), ['nginx*']);
    fanOut.affected('add', before);
    const after = {
      ...withImages(before, ['ghcr.io/acme/api*']),
      metadata: { ...before.metadata, generation: 2 },
    };
    assert.deepEqual(names(fanOut.affected('update', after)), ['Deployment/api', 'Deployment/web']);
    assert.deepEqual(names(fanOut.affected('delete', after)), ['Deployment/api']);
  });

  it('ignores status-only updates (same generation)', () => {
    const policy = securityPolicy('steady');
    assert.equal(fanOut.affected('add', policy).length, 3);
    assert.deepEqual(fanOut.affected('update', { ...policy, status: { conditions: [] } }), []);
  });

  it('only remembers the version when not wanted (a follower)', () => {
    const policy = securityPolicy('follower');
    assert.deepEqual(fanOut.affected('add', policy, false), []);
    assert.deepEqual(fanOut.affected('update', { ...policy, status: {} }), [], 'it knew the generation');
  });
});
