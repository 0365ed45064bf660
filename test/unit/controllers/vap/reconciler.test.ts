// The VAP controller converges the cluster on what generate.ts wants for each
// policy: written once, rewritten only when the generated content changes,
// deleted when the policy goes, returns to Audit or opts out; and the webhook
// skips a rule only when the VAP in the cluster covers this policy revision.
import assert from 'node:assert/strict';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { AnySecurityPolicy, SecurityPolicySpec } from '../../../../src/api/policy-types.js';
import { compilePolicy } from '../../../../src/policy/compile.js';
import { VAP_ANNOTATIONS, vapCoverage, vapName } from '../../../../src/controllers/vap/generate.js';
import type { VapClient, VapKind, VapObject } from '../../../../src/controllers/vap/io.js';
import { VapReconciler } from '../../../../src/controllers/vap/reconciler.js';
import { FakeStore } from '../fake-store.js';

let n = 0;
function policy(spec: SecurityPolicySpec, generation = 1, cluster = false): AnySecurityPolicy {
  n++;
  return {
    apiVersion: 'shipshape.dev/v1alpha1',
    kind: cluster ? 'ClusterSecurityPolicy' : 'SecurityPolicy',
    metadata: {
      name: `p${n}`,
      ...(cluster ? {} : { namespace: 'shop' }),
      uid: `vap-reconciler-${n}-${Date.now()}`,
      generation,
    },
    spec,
  } as AnySecurityPolicy;
}

/** A VAP API over the fake store: writes land in the "cache" at once, with resourceVersions. */
class FakeVapApi implements VapClient {
  readonly calls: string[] = [];
  private version = 0;
  constructor(private readonly store: FakeStore) {}

  apply(kind: VapKind, object: VapObject, resourceVersion: string | undefined): Promise<void> {
    const name = object.metadata?.name ?? '';
    const existing = this.store.get(kind, undefined, name);
    if (resourceVersion === undefined && existing) throw Object.assign(new Error('exists'), { code: 409 });
    if (resourceVersion !== undefined && existing?.metadata?.resourceVersion !== resourceVersion)
      throw Object.assign(new Error('conflict'), { code: 409 });
    this.calls.push(`${resourceVersion === undefined ? 'create' : 'replace'} ${kind}`);
    this.store.put({
      ...object,
      kind,
      metadata: { ...object.metadata, resourceVersion: String(++this.version) },
    } as KubernetesObject);
    return Promise.resolve();
  }

  delete(kind: VapKind, name: string): Promise<void> {
    this.calls.push(`delete ${kind}`);
    this.store.remove(kind, undefined, name);
    return Promise.resolve();
  }
}

function setup(enabled = true) {
  const store = new FakeStore();
  const api = new FakeVapApi(store);
  const reconciler = new VapReconciler({
    store,
    client: api,
    enabled,
    excludedNamespaces: ['kube-system', 'shipshape-system'],
  });
  const outcomes: string[] = [];
  const reconcile = async (key: string) => {
    const wrapped = new VapReconciler({
      store,
      client: api,
      enabled,
      excludedNamespaces: ['kube-system', 'shipshape-system'],
      outcome: (_policy, outcome) => outcomes.push(outcome),
    });
    await wrapped.reconcile(key);
    return outcomes.at(-1);
  };
  return { store, api, reconciler, reconcile };
}

const keyOf = (p: AnySecurityPolicy) => compilePolicy(p).name;

describe('VAP controller', () => {
  it('creates the policy then the binding for an Enforce policy, and then leaves them alone', async () => {
    const { store, api, reconcile } = setup();
    const p = policy({ enforcement: 'Enforce' });
    store.put(p as KubernetesObject);
    assert.equal(await reconcile(keyOf(p)), 'applied');
    assert.deepEqual(api.calls, [
      'create ValidatingAdmissionPolicy',
      'create ValidatingAdmissionPolicyBinding',
    ]);
    assert.equal(await reconcile(keyOf(p)), 'unchanged');
    assert.equal(api.calls.length, 2);
    const vap = store.get('ValidatingAdmissionPolicy', undefined, vapName(keyOf(p)));
    assert.equal(vap?.metadata?.annotations?.[VAP_ANNOTATIONS.policy], keyOf(p));
  });

  it('replaces both by resourceVersion when the policy changes (Enforce to Warn)', async () => {
    const { store, api, reconcile } = setup();
    const p = policy({ enforcement: 'Enforce' });
    store.put(p as KubernetesObject);
    await reconcile(keyOf(p));
    store.put({
      ...p,
      metadata: { ...p.metadata, generation: 2 },
      spec: { enforcement: 'Warn' },
    } as AnySecurityPolicy as KubernetesObject);
    assert.equal(await reconcile(keyOf(p)), 'applied');
    assert.deepEqual(api.calls.slice(2), [
      'replace ValidatingAdmissionPolicy',
      'replace ValidatingAdmissionPolicyBinding',
    ]);
  });

  it('deletes the binding then the policy when the policy goes back to Audit, opts out, or is deleted', async () => {
    for (const change of ['audit', 'opt-out', 'deleted'] as const) {
      const { store, api, reconcile } = setup();
      const p = policy({ enforcement: 'Enforce' });
      store.put(p as KubernetesObject);
      await reconcile(keyOf(p));
      if (change === 'deleted') store.remove('SecurityPolicy', 'shop', p.metadata.name!);
      else
        store.put({
          ...p,
          metadata: { ...p.metadata, generation: 2 },
          spec:
            change === 'audit'
              ? { enforcement: 'Audit' }
              : { enforcement: 'Enforce', admission: { validatingAdmissionPolicy: false } },
        } as AnySecurityPolicy as KubernetesObject);
      assert.equal(await reconcile(keyOf(p)), 'deleted', change);
      assert.deepEqual(
        api.calls.slice(2),
        ['delete ValidatingAdmissionPolicyBinding', 'delete ValidatingAdmissionPolicy'],
        change,
      );
      assert.equal(store.list('ValidatingAdmissionPolicy').length, 0);
      assert.equal(await reconcile(keyOf(p)), 'absent');
    }
  });

  it('writes nothing with the operator-wide switch off, and finds orphans to clean up on start', async () => {
    const off = setup(false);
    const p = policy({ enforcement: 'Enforce' });
    off.store.put(p as KubernetesObject);
    assert.equal(await off.reconcile(keyOf(p)), 'absent');
    assert.deepEqual(off.api.calls, []);

    const on = setup();
    on.store.put(p as KubernetesObject);
    await on.reconcile(keyOf(p));
    on.store.remove('SecurityPolicy', 'shop', p.metadata.name!);
    assert.deepEqual(on.reconciler.keys(), [keyOf(p)]);
  });

  it('restores a VAP deleted by hand', async () => {
    const { store, api, reconcile } = setup();
    const p = policy({ enforcement: 'Enforce' });
    store.put(p as KubernetesObject);
    await reconcile(keyOf(p));
    store.remove('ValidatingAdmissionPolicy', undefined, vapName(keyOf(p)));
    assert.equal(await reconcile(keyOf(p)), 'applied');
    assert.deepEqual(api.calls.slice(2), ['create ValidatingAdmissionPolicy']);
  });

  it('gives the webhook the covered rules only once the VAP of this policy revision has settled', async () => {
    const { store, reconcile } = setup();
    const p = policy({ enforcement: 'Enforce' });
    const lookup = (kind: VapKind, name: string) => store.get(kind, undefined, name);
    const later = { now: Date.now() + 11_000, settleMs: 10_000 };
    assert.equal(vapCoverage(compilePolicy(p), lookup, later).size, 0, 'nothing before it is written');
    store.put(p as KubernetesObject);
    await reconcile(keyOf(p));
    const justWritten = vapCoverage(compilePolicy(p), lookup, { now: Date.now(), settleMs: 10_000 });
    assert.equal(justWritten.size, 0, 'nothing while the API server may not enforce it yet');
    const covered = vapCoverage(compilePolicy(p), lookup, later);
    assert.ok(covered.has('securityContext.privileged'));
    const newer = { ...p, metadata: { ...p.metadata, generation: 2 } } as AnySecurityPolicy;
    assert.equal(vapCoverage(compilePolicy(newer), lookup, later).size, 0, 'nothing for a newer revision');
    store.remove('ValidatingAdmissionPolicyBinding', undefined, vapName(keyOf(p)));
    assert.equal(vapCoverage(compilePolicy(p), lookup, later).size, 0, 'nothing without the binding');
  });

  it('does not rewrite an object only because it was stamped at another time', async () => {
    const { store, api, reconcile } = setup();
    const p = policy({ enforcement: 'Enforce' });
    store.put(p as KubernetesObject);
    await reconcile(keyOf(p));
    const vap = store.get('ValidatingAdmissionPolicy', undefined, vapName(keyOf(p)));
    assert.ok(vap?.metadata?.annotations?.[VAP_ANNOTATIONS.appliedAt]);
    assert.equal(await reconcile(keyOf(p)), 'unchanged');
    assert.equal(api.calls.length, 2);
  });
});
