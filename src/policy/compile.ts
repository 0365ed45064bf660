// Policies compiled once per generation: defaults filled in from the CRD
// schema, globs, selectors and regexes built, and each rule's settings
// prepared, so evaluating a pod does no parsing at all.
import { LRUCache } from 'lru-cache';
import type { AnySecurityPolicy, EnforcementMode, SecurityPolicySpec } from '../api/policy-types.js';
import { policySpecSchema } from '../api/policy-schema.js';
import type { Severity } from '../api/severity.js';
import { applyDefaults } from '../api/validate.js';
import { compileGlobs, type GlobMatcher } from './glob.js';
import type { ContainerImage } from './container-image.js';
import { RULES } from './rules/catalog.js';
import { parsePodSecurityVersion, podSecurityCheckList } from './pss/index.js';
import type { AnyRule } from './rules/rule.js';
import { compileLabelSelector, type LabelMatcher } from './selector.js';

export interface CompiledRule {
  rule: AnyRule;
  params: unknown;
  /** Equal for rules with equal settings: the per-pod result cache key. */
  cacheKey: string;
  /** A small integer for cacheKey, so evaluation caches results in an array. */
  slot: number;
  severity: Severity;
  /** The policy's exceptions that name this rule, found once here rather than per finding. */
  exceptions: CompiledException[];
  /** Those of `exceptions` that can cover a pod-level finding. */
  podExceptions: CompiledException[];
}

/** How a policy reports one Pod Security Standards check (rule id `pss.<check>`). */
export interface PodSecurityRuleSettings {
  disabled: boolean;
  /** The policy's severity override, if any. */
  severity: Severity | undefined;
  /** Exceptions that name the rule and can cover a pod-level finding (not narrowed to images or containers). */
  exceptions: CompiledException[];
}

export interface CompiledPodSecurity {
  level: 'baseline' | 'restricted';
  version: string;
  slot: number;
  /** By rule id, for every check of the catalog. */
  rules: ReadonlyMap<string, PodSecurityRuleSettings>;
}

export interface CompiledException {
  name: string;
  rule: (ruleId: string) => boolean;
  image: GlobMatcher | undefined;
  containers: ReadonlySet<string> | undefined;
  pods: LabelMatcher;
  expiresAt: number;
}

export interface CompiledPolicy {
  readonly compiled: true;
  source: AnySecurityPolicy;
  /** namespace/name for a SecurityPolicy, name for a ClusterSecurityPolicy. */
  name: string;
  cluster: boolean;
  namespace: string | undefined;
  spec: SecurityPolicySpec;
  enforcement: EnforcementMode;
  namespaces: { selector: LabelMatcher; excluded: ReadonlySet<string> };
  pods: LabelMatcher;
  excludedPods: LabelMatcher | undefined;
  kinds: ReadonlySet<string> | undefined;
  /** False when the policy checks every container, so evaluation can skip includesImage. */
  filtersImages: boolean;
  /** Whether a container with this image is checked by the policy. */
  includesImage(image: ContainerImage): boolean;
  rules: CompiledRule[];
  podSecurity: CompiledPodSecurity | undefined;
  exceptions: CompiledException[];
  /** Settings the engine could not use (the rule is skipped); surfaced in the policy's Ready condition. */
  problems: string[];
}

const slots = new Map<string, number>();

/**
 * The result-cache slot of a rule setting. Slots are never reused, so a slot
 * always means the same check with the same settings; their number is bounded
 * by the distinct settings ever compiled.
 */
export function resultSlot(key: string): number {
  let slot = slots.get(key);
  if (slot === undefined) {
    slot = slots.size;
    slots.set(key, slot);
  }
  return slot;
}

const specSchemas = { cluster: policySpecSchema(true), namespaced: policySpecSchema(false) };

export function policyName(policy: AnySecurityPolicy): string {
  const name = policy.metadata.name ?? '';
  return policy.kind === 'ClusterSecurityPolicy' ? name : `${policy.metadata.namespace ?? 'default'}/${name}`;
}

function imageMatcher(globs: readonly string[] | undefined): GlobMatcher | undefined {
  if (!globs || globs.length === 0) return undefined;
  return compileGlobs(globs);
}

function matchesImage(match: GlobMatcher, image: ContainerImage): boolean {
  return match(image.raw) || match(image.normalized);
}

function ruleRefMatcher(refs: readonly string[]): (ruleId: string) => boolean {
  const exact = new Set(refs.filter((r) => !r.endsWith('.*')));
  const prefixes = refs.filter((r) => r.endsWith('.*')).map((r) => r.slice(0, -1));
  return (id) => exact.has(id) || prefixes.some((p) => id.startsWith(p));
}

const byObject = new WeakMap<AnySecurityPolicy, CompiledPolicy>();
const byGeneration = new LRUCache<string, CompiledPolicy>({ max: 10_000 });

/** Compiles a policy, reusing the result for the same object or the same uid and generation. */
export function compilePolicy(policy: AnySecurityPolicy | CompiledPolicy): CompiledPolicy {
  if ('compiled' in policy) return policy;
  const cached = byObject.get(policy);
  if (cached) return cached;
  const { uid, generation } = policy.metadata;
  const generationKey = uid !== undefined && generation !== undefined ? `${uid}@${generation}` : undefined;
  let compiled = generationKey !== undefined ? byGeneration.get(generationKey) : undefined;
  if (!compiled) {
    compiled = build(policy);
    if (generationKey !== undefined) {
      byGeneration.set(generationKey, compiled);
    }
  }
  byObject.set(policy, compiled);
  return compiled;
}

function build(policy: AnySecurityPolicy): CompiledPolicy {
  const cluster = policy.kind === 'ClusterSecurityPolicy';
  const spec = applyDefaults(cluster ? specSchemas.cluster : specSchemas.namespaced, policy.spec ?? {});
  const problems: string[] = [];
  const rules = spec.rules ?? {};
  const enabled = new Set(rules.enabled ?? []);
  const disabled = new Set(rules.disabled ?? []);
  const overrides = new Map((rules.severityOverrides ?? []).map((o) => [o.rule, o.severity]));
  const exceptions = compileExceptions(spec);
  const podWide = podWideExceptions(exceptions);
  const compiledRules: CompiledRule[] = [];
  const namespace = cluster ? undefined : (policy.metadata.namespace ?? 'default');
  for (const rule of RULES) {
    if (disabled.has(rule.id) || (rule.optional && !enabled.has(rule.id))) continue;
    let prepared: { key: string; params: unknown } | undefined = { key: '', params: undefined };
    try {
      if (rule.prepare) prepared = rule.prepare(rules, { spec, namespace });
    } catch (err) {
      problems.push(`rule ${rule.id} skipped: ${(err as Error).message}`);
      continue;
    }
    if (!prepared) continue;
    compiledRules.push({
      rule,
      params: prepared.params,
      cacheKey: `${rule.id}\u0000${prepared.key}`,
      slot: resultSlot(`${rule.id}\u0000${prepared.key}`),
      severity: overrides.get(rule.id) ?? rule.severity,
      exceptions: exceptions.filter((e) => e.rule(rule.id)),
      podExceptions: podWide.filter((e) => e.rule(rule.id)),
    });
  }
  const match = spec.match ?? {};
  const include = imageMatcher(match.images);
  const exclude = imageMatcher(match.exclude?.images);
  let level = spec.podSecurity?.level;
  try {
    if (level !== undefined) parsePodSecurityVersion(spec.podSecurity?.version ?? 'latest');
  } catch (err) {
    problems.push(
      `spec.podSecurity.version: ${(err as Error).message}; Pod Security Standards checks skipped`,
    );
    level = undefined;
  }
  return {
    compiled: true,
    source: policy,
    name: policyName(policy),
    cluster,
    namespace,
    spec,
    enforcement: spec.enforcement ?? 'Audit',
    namespaces: {
      selector: compileLabelSelector(match.namespaceSelector),
      excluded: new Set(match.excludedNamespaces ?? []),
    },
    pods: compileLabelSelector(match.podSelector),
    excludedPods: match.exclude?.podSelector ? compileLabelSelector(match.exclude.podSelector) : undefined,
    kinds: match.kinds && match.kinds.length > 0 ? new Set(match.kinds) : undefined,
    filtersImages: include !== undefined || exclude !== undefined,
    includesImage: (image) =>
      (include === undefined || matchesImage(include, image)) && !(exclude && matchesImage(exclude, image)),
    rules: compiledRules,
    podSecurity:
      level === 'baseline' || level === 'restricted' ? compilePodSecurity(spec, level, podWide) : undefined,
    exceptions,
    problems,
  };
}

function compileExceptions(spec: SecurityPolicySpec): CompiledException[] {
  return (spec.exceptions ?? []).map((e) => ({
    name: e.name,
    rule: ruleRefMatcher(e.rules),
    image: imageMatcher(e.images),
    containers: e.containers && e.containers.length > 0 ? new Set(e.containers) : undefined,
    pods: compileLabelSelector(e.podSelector),
    expiresAt: Date.parse(e.expires),
  }));
}

/** A pod-level finding is covered only by an exception not narrowed to images or containers. */
export function podWideExceptions(exceptions: readonly CompiledException[]): CompiledException[] {
  return exceptions.filter((e) => e.image === undefined && e.containers === undefined);
}

function compilePodSecurity(
  spec: SecurityPolicySpec,
  level: 'baseline' | 'restricted',
  podWide: readonly CompiledException[],
): CompiledPodSecurity {
  const version = spec.podSecurity?.version ?? 'latest';
  const disabled = spec.rules?.disabled ?? [];
  const overrides = spec.rules?.severityOverrides ?? [];
  const rules = new Map<string, PodSecurityRuleSettings>();
  for (const check of podSecurityCheckList) {
    const id = `pss.${check.id}`;
    rules.set(id, {
      disabled: disabled.includes(id),
      // The first override for a rule wins, as a lookup in the list would find it.
      severity: overrides.find((o) => o.rule === id)?.severity,
      exceptions: podWide.filter((e) => e.rule(id)),
    });
  }
  return { level, version, slot: resultSlot(`pss\u0000${level}\u0000${version}`), rules };
}
