// The shape of a rule: stable metadata for reports and docs, plus a pure check
// of a pod view. A rule reads only the part of a policy's settings it declares,
// so policies with equal settings share one result per pod.
import type { PolicyRules, SecurityPolicySpec } from '../../api/policy-types.js';
import type { Severity } from '../../api/severity.js';
import type { RuleCategory } from '../finding.js';
import type { ImageFactsSource } from '../image-facts.js';
import { describeContainer, type ContainerView, type PodView } from '../workload.js';

export interface RuleHit {
  container?: ContainerView;
  message: string;
  /** What the hit is about within the rule and container (a vulnerability id); one finding each. */
  subject?: string;
}

export interface RuleInput {
  pod: PodView;
  imageFacts?: ImageFactsSource;
  /** The evaluation's clock, epoch milliseconds (EvaluationOptions.now). */
  now: number;
}

/** The whole policy, for rules whose settings live outside spec.rules (spec.signatures). */
export interface RulePolicyContext {
  spec: SecurityPolicySpec;
  /** A SecurityPolicy's namespace; undefined for a ClusterSecurityPolicy. */
  namespace: string | undefined;
}

/** Compiled settings for one rule; `key` is equal for equal settings. */
export interface PreparedRule<P> {
  key: string;
  params: P;
}

export interface RuleDefinition<P = undefined> {
  id: string;
  title: string;
  severity: Severity;
  category: RuleCategory;
  /** What the rule checks and why it matters (docs/rules.md). */
  description: string;
  remediation: string;
  /** Optional rules run only when a policy lists them in spec.rules.enabled. */
  optional?: boolean;
  /** The settings this rule reads, compiled; undefined when the settings leave nothing to check. */
  prepare?(rules: PolicyRules, policy: RulePolicyContext): PreparedRule<P> | undefined;
  check(input: RuleInput, params: P): RuleHit[];
}

export type AnyRule = RuleDefinition<unknown>;

/**
 * The result of every check that finds nothing: most checks pass, and one shared
 * array spares an allocation per check per pod. Frozen, so a consumer that pushes fails loudly.
 */
export const NO_HITS = Object.freeze([]) as unknown as RuleHit[];

/** Adapts a per-container test to a rule check; `applies` limits which containers it looks at. */
export function eachContainer<P>(
  test: (c: ContainerView, params: P, input: RuleInput) => string | undefined,
  applies?: (c: ContainerView, pod: PodView) => boolean,
): (input: RuleInput, params: P) => RuleHit[] {
  return (input, params) => {
    const containers = input.pod.containers;
    let hits: RuleHit[] | undefined;
    for (let i = 0; i < containers.length; i++) {
      const c = containers[i]!;
      if (applies !== undefined && !applies(c, input.pod)) continue;
      const problem = test(c, params, input);
      if (problem !== undefined)
        (hits ??= []).push({ container: c, message: `${describeContainer(c)} ${problem}` });
    }
    return hits ?? NO_HITS;
  };
}

/** Containers that run beside the app for its whole life: app containers and sidecars. */
export function isLongRunning(c: ContainerView): boolean {
  return c.kind === 'container' || c.sidecar;
}

export function notEphemeral(c: ContainerView): boolean {
  return c.kind !== 'ephemeralContainer';
}

export function quote(value: string): string {
  return JSON.stringify(value);
}
