// Keeps each policy's status true: a Ready condition (the policy compiled and
// is being applied, with the generation it describes) and a summary of the
// workloads it matches. Written only when it changed.
import {
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import {
  API_GROUP,
  API_VERSION,
  type AnySecurityPolicy,
  type Condition,
  type SecurityPolicyStatus,
} from '../../api/policy-types.js';
import { compilePolicy } from '../../policy/compile.js';
import { canonical } from '../../report/security-report.js';
import type { ComplianceIndex } from '../compliance-index.js';
import type { ObjectStore } from '../workload/reconciler.js';
import { withTransition } from '../../api/conditions.js';

export interface PolicyStatusClient {
  replaceStatus(policy: AnySecurityPolicy): Promise<void>;
}

/**
 * Writes a policy's status as a JSON merge patch of `status` alone. No resourceVersion
 * goes with it: the operator is the status's only writer, and a cached copy that lags
 * behind its own last write (many workloads changing at once) must not turn every
 * summary update into a 409 and a retry. `conditions` is an array, so the patch
 * replaces it whole, as the desired status is built whole.
 */
export function customObjectsPolicyStatusClient(
  kc: KubeConfig,
  fieldManager = 'shipshape',
): PolicyStatusClient {
  const api = kc.makeApiClient(CustomObjectsApi);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return {
    async replaceStatus(policy) {
      const name = policy.metadata.name ?? '';
      // null removes a summary the desired status no longer has (an invalid policy has none).
      const body = { status: { summary: null, ...policy.status } };
      const target = { group: API_GROUP, version: API_VERSION, name, body, fieldManager };
      if (policy.kind === 'SecurityPolicy') {
        await api.patchNamespacedCustomObjectStatus(
          { ...target, plural: 'securitypolicies', namespace: policy.metadata.namespace ?? '' },
          mergePatch,
        );
      } else {
        await api.patchClusterCustomObjectStatus(
          { ...target, plural: 'clustersecuritypolicies' },
          mergePatch,
        );
      }
    },
  };
}

/** "namespace/name" names a SecurityPolicy, a bare "name" a ClusterSecurityPolicy (as in findings). */
export function policyByDisplayName(store: ObjectStore, displayName: string): AnySecurityPolicy | undefined {
  const slash = displayName.indexOf('/');
  const found =
    slash < 0
      ? store.get<AnySecurityPolicy & KubernetesObject>('ClusterSecurityPolicy', undefined, displayName)
      : store.get<AnySecurityPolicy & KubernetesObject>(
          'SecurityPolicy',
          displayName.slice(0, slash),
          displayName.slice(slash + 1),
        );
  return found;
}

export function desiredPolicyStatus(
  policy: AnySecurityPolicy,
  index: ComplianceIndex,
  now: Date,
): SecurityPolicyStatus {
  const generation = policy.metadata.generation;
  let ready: Omit<Condition, 'lastTransitionTime'>;
  try {
    const compiled = compilePolicy(policy);
    const summary = index.summary(compiled.name);
    const applied = `Applied to ${summary.workloadsMatched} ${summary.workloadsMatched === 1 ? 'workload' : 'workloads'} (${policy.spec.enforcement ?? 'Audit'} mode).`;
    ready = {
      type: 'Ready',
      status: 'True',
      reason: compiled.problems.length > 0 ? 'AppliedWithProblems' : 'Applied',
      message:
        compiled.problems.length > 0
          ? `${applied} Skipped: ${compiled.problems.join('; ')}`.slice(0, 1000)
          : applied,
      observedGeneration: generation,
    };
    return {
      observedGeneration: generation,
      conditions: [withTransition(policy.status?.conditions, ready, now.toISOString())],
      summary,
    };
  } catch (error) {
    ready = {
      type: 'Ready',
      status: 'False',
      reason: 'InvalidPolicy',
      message: error instanceof Error ? error.message.slice(0, 1000) : String(error),
      observedGeneration: generation,
    };
    return {
      observedGeneration: generation,
      conditions: [withTransition(policy.status?.conditions, ready, now.toISOString())],
    };
  }
}

export class PolicyStatusReconciler {
  constructor(
    private readonly store: ObjectStore,
    private readonly index: ComplianceIndex,
    private readonly client: PolicyStatusClient,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async reconcile(displayName: string): Promise<'updated' | 'unchanged' | 'gone'> {
    const policy = policyByDisplayName(this.store, displayName);
    if (!policy || policy.metadata.deletionTimestamp) return 'gone';
    const status = desiredPolicyStatus(policy, this.index, this.now());
    if (canonical(policy.status ?? {}) === canonical(status)) return 'unchanged';
    await this.client.replaceStatus({ ...policy, status });
    return 'updated';
  }
}
