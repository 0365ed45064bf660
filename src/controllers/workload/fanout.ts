// Policy fan-out: a policy change re-evaluates exactly the workloads that its
// old or its new version matches (not every workload of the cluster), using
// the same policy target the reconciler evaluates. Pure apart from the cache
// reads; the manager enqueues what it returns.
import type { KubernetesObject, V1Namespace } from '@kubernetes/client-node';
import type { AnySecurityPolicy } from '../../api/policy-types.js';
import { compilePolicy, type CompiledPolicy } from '../../policy/compile.js';
import { policyAppliesTo } from '../../policy/match.js';
import { policyTargetOf } from '../../policy/target.js';
import { podTemplateOf, type WorkloadObject } from '../../policy/workload.js';
import type { ChangeType, ObjectStore } from '../../runtime/cluster-cache.js';
import type { WorkloadKey } from './key.js';
import type { Workloads } from './workloads.js';

export class PolicyFanOut {
  /** The last version seen of each policy, to know what it matched before a change. */
  private readonly known = new Map<string, AnySecurityPolicy>();

  constructor(
    private readonly store: ObjectStore,
    private readonly workloads: Workloads,
  ) {}

  /**
   * The workloads to re-evaluate after `policy` changed. With `wanted` false only
   * the policy's version is remembered (a follower: nothing to enqueue).
   */
  affected(type: ChangeType, policy: AnySecurityPolicy & KubernetesObject, wanted = true): WorkloadKey[] {
    const id = `${policy.kind}/${policy.metadata?.namespace ?? ''}/${policy.metadata?.name}`;
    const before = this.known.get(id);
    if (type === 'delete') this.known.delete(id);
    else this.known.set(id, policy);
    if (!wanted) return [];
    // Status-only updates (our own writes) change nothing that matching depends on.
    if (type === 'update' && before && before.metadata.generation === policy.metadata.generation) return [];
    const compiled = [before, type === 'delete' ? undefined : policy].flatMap((p) => {
      if (!p) return [];
      try {
        return [compilePolicy(p)];
      } catch {
        return [];
      }
    });
    if (compiled.length === 0) return [];
    return this.workloads.all().filter((key) => this.matchesAny(key, compiled));
  }

  private matchesAny(key: WorkloadKey, policies: readonly CompiledPolicy[]): boolean {
    const workload = this.store.get<WorkloadObject>(key.kind, key.namespace, key.name);
    const template = workload && podTemplateOf(workload);
    if (!template) return false;
    const target = policyTargetOf({
      namespace: key.namespace,
      namespaceLabels: this.store.get<V1Namespace>('Namespace', undefined, key.namespace)?.metadata?.labels,
      kind: key.kind,
      template,
    });
    return policies.some((p) => policyAppliesTo(p, target));
  }
}
