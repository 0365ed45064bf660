// Keeps one ValidatingAdmissionPolicy and binding per Enforce/Warn policy that
// wants one (generate.ts decides and generates; this only converges): the
// key is the policy's display name, desired state comes from the policy in the
// cache, actual state from the cached VAP objects, and only a difference in
// the generated-content hash is written. A policy that is gone, back in Audit,
// opted out or no longer expressible loses both objects. Runs on the leader
// only (the manager starts it with the other controllers).
//
// Garbage collection covers ClusterSecurityPolicies (owner reference). A
// cluster-scoped object cannot name a namespaced owner (the GC ignores such a
// reference), so for a SecurityPolicy the deletion is this reconciler's: on the
// policy's delete event, and on every start for objects whose policy is gone.
import type { KubernetesObject } from '@kubernetes/client-node';
import { done, type ReconcileResult, type Reconciler } from '../../runtime/controller.js';
import type { ObjectStore } from '../../runtime/cluster-cache.js';
import { generateVap, VAP_ANNOTATIONS, VAP_MANAGED_LABEL, vapName, wantsVap } from './generate.js';
import { policyByDisplayName } from '../policy-status/reconciler.js';
import type { VapClient, VapKind, VapObject } from './io.js';

export type VapReconcileOutcome = 'applied' | 'unchanged' | 'deleted' | 'absent';

export interface VapReconcilerOptions {
  store: Pick<ObjectStore, 'get' | 'list'>;
  client: VapClient;
  /** The operator-wide switch (--validating-admission-policies). */
  enabled: boolean;
  /** Namespaces a cluster policy's binding leaves out (the webhook's excluded ones). */
  excludedNamespaces: readonly string[];
  /** Told what each reconcile did (metrics, logs, tests). */
  outcome?: (policy: string, outcome: VapReconcileOutcome) => void;
  /** Stamped on each write (VAP_ANNOTATIONS.appliedAt), so the webhook knows how settled it is. */
  now?: () => Date;
}

const KINDS: readonly VapKind[] = ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'];

/** The policy a cached VAP object was generated for, or undefined for objects not ours. */
export function policyKeyOf(object: KubernetesObject): string | undefined {
  const { labels, annotations } = object.metadata ?? {};
  if (labels?.[VAP_MANAGED_LABEL.key] !== VAP_MANAGED_LABEL.value) return undefined;
  return annotations?.[VAP_ANNOTATIONS.policy];
}

export class VapReconciler implements Reconciler {
  constructor(private readonly options: VapReconcilerOptions) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const outcome = await this.converge(key);
    this.options.outcome?.(key, outcome);
    return done;
  }

  /** Every policy key the controller should look at after a start: the policies and what was generated. */
  keys(): string[] {
    const { store } = this.options;
    const keys = new Set<string>();
    for (const kind of KINDS)
      for (const object of store.list(kind)) {
        const key = policyKeyOf(object);
        if (key !== undefined) keys.add(key);
      }
    return [...keys];
  }

  private desired(key: string): Map<VapKind, VapObject> | undefined {
    const { store, enabled, excludedNamespaces } = this.options;
    const policy = policyByDisplayName(store as ObjectStore, key);
    if (!policy || policy.metadata.deletionTimestamp) return undefined;
    let generated: ReturnType<typeof generateVap>;
    try {
      generated = wantsVap(policy, enabled) ? generateVap(policy, excludedNamespaces) : undefined;
    } catch {
      // A policy that does not compile has no rules to generate; its Ready condition says why.
      generated = undefined;
    }
    if (!generated) return undefined;
    return new Map<VapKind, VapObject>([
      ['ValidatingAdmissionPolicy', generated.policy],
      ['ValidatingAdmissionPolicyBinding', generated.binding],
    ]);
  }

  private async converge(key: string): Promise<VapReconcileOutcome> {
    const { store, client } = this.options;
    const name = vapName(key);
    const actual = (kind: VapKind) => {
      const object = store.get(kind, undefined, name);
      return object && policyKeyOf(object) === key ? object : undefined;
    };
    const desired = this.desired(key);
    if (!desired) {
      // The binding first: a binding without its policy refuses nothing, a policy without binding neither.
      let deleted = false;
      for (const kind of [...KINDS].reverse())
        if (actual(kind)) {
          await client.delete(kind, name);
          deleted = true;
        }
      return deleted ? 'deleted' : 'absent';
    }
    let applied = false;
    // The policy first, so the binding never points at a policy that does not exist yet.
    for (const kind of KINDS) {
      const want = desired.get(kind)!;
      const have = actual(kind);
      const hash = want.metadata?.annotations?.[VAP_ANNOTATIONS.hash];
      if (have && have.metadata?.annotations?.[VAP_ANNOTATIONS.hash] === hash) continue;
      const stamped = {
        ...want,
        metadata: {
          ...want.metadata,
          annotations: {
            ...want.metadata?.annotations,
            [VAP_ANNOTATIONS.appliedAt]: (this.options.now?.() ?? new Date()).toISOString(),
          },
        },
      };
      await client.apply(kind, stamped, have?.metadata?.resourceVersion);
      applied = true;
    }
    return applied ? 'applied' : 'unchanged';
  }
}
