import assert from 'node:assert/strict';
import type { V1PodSpec } from '@kubernetes/client-node';
import type { AnySecurityPolicy, SecurityPolicySpec } from '../../../../src/api/policy-types.js';
import { policyStatusSchema } from '../../../../src/api/policy-schema.js';
import { validateAgainstSchema } from '../../../../src/api/validate.js';
import { ComplianceIndex } from '../../../../src/controllers/compliance-index.js';
import {
  desiredPolicyStatus,
  policyByDisplayName,
  PolicyStatusReconciler,
  type PolicyStatusClient,
} from '../../../../src/controllers/policy-status/reconciler.js';
import { policyName } from '../../../../src/policy/compile.js';
import { evaluateWorkload } from '../../../../src/policy/evaluate.js';
import {
  clusterSecurityPolicy,
  deployment,
  FakeStore,
  goodPodSecurity,
  hardenedContainer,
  rootContainer,
  securityPolicy,
} from '../fake-store.js';

const T0 = new Date('2025-03-01T10:00:00.000Z');
const T1 = new Date('2025-03-01T11:00:00.000Z');

const rootSpec: V1PodSpec = { containers: [rootContainer('web', 'nginx:latest')] };
const hardenedSpec: V1PodSpec = { securityContext: goodPodSecurity, containers: [hardenedContainer('web')] };

/** A policy the API server would accept but the engine cannot compile. */
const INVALID_SPEC = { match: { images: 'nginx' } } as unknown as SecurityPolicySpec;

/** Tallies a workload's real findings under `policy`, as the workload reconciler does. */
function tally(index: ComplianceIndex, name: string, spec: V1PodSpec, policy: AnySecurityPolicy): number {
  const findings = evaluateWorkload(deployment(name, spec), [policy]);
  index.set(`Deployment/shop/${name}`, { namespace: 'shop', policies: [policyName(policy)], findings });
  return findings.length;
}

describe('desiredPolicyStatus', () => {
  it('is Ready for the current generation, with a summary of the workloads the policy matched', () => {
    const policy = securityPolicy('default');
    policy.metadata.generation = 3;
    const index = new ComplianceIndex();
    const violations = tally(index, 'web', rootSpec, policy);
    tally(index, 'hello', hardenedSpec, policy);

    assert.deepEqual(desiredPolicyStatus(policy, index, T0), {
      observedGeneration: 3,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Applied',
          message: 'Applied to 2 workloads (Audit mode).',
          observedGeneration: 3,
          lastTransitionTime: T0.toISOString(),
        },
      ],
      summary: { workloadsMatched: 2, workloadsCompliant: 1, violations },
    });
  });

  it('names the enforcement mode and a single workload', () => {
    const policy = clusterSecurityPolicy('enforced', { enforcement: 'Enforce' });
    const index = new ComplianceIndex();
    tally(index, 'hello', hardenedSpec, policy);
    assert.equal(
      desiredPolicyStatus(policy, index, T0).conditions?.[0]?.message,
      'Applied to 1 workload (Enforce mode).',
    );
  });

  it('is Ready but AppliedWithProblems when a setting had to be skipped, saying which', () => {
    const policy = securityPolicy('odd', { podSecurity: { level: 'restricted', version: 'v0.banana' } });
    const ready = desiredPolicyStatus(policy, new ComplianceIndex(), T0).conditions?.[0];
    assert.equal(ready?.status, 'True');
    assert.equal(ready?.reason, 'AppliedWithProblems');
    assert.match(
      ready?.message ?? '',
      /Skipped: spec\.podSecurity\.version: .*Pod Security Standards checks skipped/,
    );
  });

  it('is not Ready (InvalidPolicy) when the policy cannot be compiled, and has no summary', () => {
    const policy = securityPolicy('broken', INVALID_SPEC);
    const status = desiredPolicyStatus(policy, new ComplianceIndex(), T0);
    assert.equal(status.observedGeneration, 1);
    assert.equal(status.summary, undefined);
    const ready = status.conditions?.[0];
    assert.equal(ready?.type, 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'InvalidPolicy');
    assert.ok((ready?.message ?? '').length > 0, 'the message says what is wrong');
    assert.equal(ready?.observedGeneration, 1);
  });

  it('keeps lastTransitionTime while Ready stays, and moves it when Ready flips', () => {
    const policy = securityPolicy('default');
    const index = new ComplianceIndex();
    policy.status = desiredPolicyStatus(policy, index, T0);
    tally(index, 'web', rootSpec, policy);
    const later = desiredPolicyStatus(policy, index, T1);
    assert.equal(later.conditions?.[0]?.message, 'Applied to 1 workload (Audit mode).');
    assert.equal(later.conditions?.[0]?.lastTransitionTime, T0.toISOString());

    const broken = { ...securityPolicy('default', INVALID_SPEC), status: later };
    assert.equal(
      desiredPolicyStatus(broken, index, T1).conditions?.[0]?.lastTransitionTime,
      T1.toISOString(),
    );
  });

  it('fits the policy status schema', () => {
    const index = new ComplianceIndex();
    const policy = securityPolicy('default');
    tally(index, 'web', rootSpec, policy);
    for (const status of [
      desiredPolicyStatus(policy, index, T0),
      desiredPolicyStatus(securityPolicy('broken', INVALID_SPEC), index, T0),
    ])
      assert.deepEqual(validateAgainstSchema(policyStatusSchema, status, 'status'), []);
  });
});

describe('policyByDisplayName', () => {
  it('finds a SecurityPolicy by namespace/name and a ClusterSecurityPolicy by its bare name', () => {
    const store = new FakeStore().put(securityPolicy('default'), clusterSecurityPolicy('baseline'));
    assert.equal(policyByDisplayName(store, 'shop/default')?.kind, 'SecurityPolicy');
    assert.equal(policyByDisplayName(store, 'baseline')?.kind, 'ClusterSecurityPolicy');
    assert.equal(policyByDisplayName(store, 'default'), undefined);
    assert.equal(policyByDisplayName(store, 'shop/baseline'), undefined);
  });
});

describe('PolicyStatusReconciler', () => {
  let store: FakeStore;
  let index: ComplianceIndex;
  let written: AnySecurityPolicy[];
  let reconciler: PolicyStatusReconciler;

  beforeEach(() => {
    store = new FakeStore();
    index = new ComplianceIndex();
    written = [];
    const client: PolicyStatusClient = {
      replaceStatus: async (policy) => {
        written.push(structuredClone(policy));
        // The watch delivers the write.
        store.put(policy);
      },
    };
    reconciler = new PolicyStatusReconciler(store, index, client, () => T0);
  });

  it('writes the status of a policy that has none', async () => {
    store.put(securityPolicy('default'));
    assert.equal(await reconciler.reconcile('shop/default'), 'updated');
    assert.equal(written.length, 1);
    assert.equal(written[0]?.metadata.name, 'default');
    assert.equal(written[0]?.status?.conditions?.[0]?.reason, 'Applied');
  });

  it('writes nothing when the stored status is already true', async () => {
    store.put(clusterSecurityPolicy('baseline'));
    await reconciler.reconcile('baseline');
    assert.equal(await reconciler.reconcile('baseline'), 'unchanged');
    assert.equal(written.length, 1);
  });

  it('writes again when the summary changed', async () => {
    const policy = securityPolicy('default');
    store.put(policy);
    await reconciler.reconcile('shop/default');
    tally(index, 'web', rootSpec, policy);
    assert.equal(await reconciler.reconcile('shop/default'), 'updated');
    assert.equal(written[1]?.status?.summary?.workloadsMatched, 1);
    assert.equal(written[1]?.status?.summary?.workloadsCompliant, 0);
  });

  it('reports an invalid policy as not Ready', async () => {
    store.put(securityPolicy('broken', INVALID_SPEC));
    assert.equal(await reconciler.reconcile('shop/broken'), 'updated');
    assert.equal(written[0]?.status?.conditions?.[0]?.reason, 'InvalidPolicy');
  });

  it('leaves a policy that is gone or being deleted alone', async () => {
    const deleting = clusterSecurityPolicy('leaving');
    deleting.metadata.deletionTimestamp = T0;
    store.put(deleting);
    assert.equal(await reconciler.reconcile('shop/never-existed'), 'gone');
    assert.equal(await reconciler.reconcile('leaving'), 'gone');
    assert.deepEqual(written, []);
  });
});
