// Evaluation: a workload's pod template, the policies that apply to it and
// (optionally) image facts in; findings out. Rule results are shared between
// policies with equal settings, so many policies cost little more than one.
import { podSecurityViolations, type PodSecurityVerdicts } from './pss/evaluate.js';
import {
  compilePolicy,
  type CompiledException,
  type CompiledPolicy,
  type CompiledRule,
  type PodSecurityRuleSettings,
  podWideExceptions,
} from './compile.js';
import type { AnySecurityPolicy } from '../api/policy-types.js';
import type { Finding } from './finding.js';
import type { ImageFactsSource } from './image-facts.js';
import { podSecurityRuleInfo } from './rules/catalog.js';
import type { RuleHit, RuleInput } from './rules/rule.js';
import {
  podTemplateOf,
  podViewOf,
  type ContainerView,
  type PodView,
  type WorkloadObject,
} from './workload.js';

export interface EvaluationOptions {
  /** The clock for exception expiry and image age; defaults to now. */
  now?: Date;
}

/** Whether one of `exceptions` (already known to name the rule) covers a container-level finding. */
function exceptedContainer(
  exceptions: readonly CompiledException[],
  container: ContainerView,
  pod: PodView,
  now: number,
): boolean {
  for (let i = 0; i < exceptions.length; i++) {
    const e = exceptions[i]!;
    if (!(e.expiresAt > now) || !e.pods(pod.labels)) continue;
    if (e.containers !== undefined && !e.containers.has(container.name)) continue;
    if (e.image !== undefined && !e.image(container.image.raw) && !e.image(container.image.normalized))
      continue;
    return true;
  }
  return false;
}

/** Whether one of `exceptions` (already known to name the rule and to be pod-wide) covers a pod-level finding. */
function exceptedPod(exceptions: readonly CompiledException[], pod: PodView, now: number): boolean {
  for (let i = 0; i < exceptions.length; i++) {
    const e = exceptions[i]!;
    if (e.expiresAt > now && e.pods(pod.labels)) return true;
  }
  return false;
}

/** Evaluates one workload (Pod, Deployment, ..., CronJob) against policies that already match it. */
export function evaluateWorkload(
  workload: WorkloadObject,
  policies: readonly (AnySecurityPolicy | CompiledPolicy)[],
  imageFacts?: ImageFactsSource,
  options: EvaluationOptions = {},
): Finding[] {
  const template = podTemplateOf(workload);
  if (!template) return [];
  const pod = podViewOf(workload, template);
  const now = options.now?.getTime() ?? Date.now();
  const input: RuleInput = { pod, imageFacts, now };
  const id = ++evaluationId;
  // Check verdicts of this pod, shared by the levels and versions its policies ask for.
  let podSecurityVerdicts: PodSecurityVerdicts | undefined;
  const findings: Finding[] = [];
  // Indexed loops: rule results come in arrays of several shapes (fresh, frozen
  // empty), and for...of over them was the hottest line of the profile.
  for (let p = 0; p < policies.length; p++) {
    const policy = compilePolicy(policies[p]!);
    const rules = policy.rules;
    for (let r = 0; r < rules.length; r++) {
      const entry = rules[r]!;
      const hits = ruleHits(entry, input, id);
      if (hits.length > 0) ruleFindings(policy, entry, hits, pod, now, findings);
    }
    if (policy.podSecurity) {
      podSecurityVerdicts ??= [];
      podSecurityFindings(policy, pod, now, id, podSecurityVerdicts, findings);
    }
  }
  return findings;
}

// Results by slot, valid while stamp[slot] === this evaluation's id: reusing
// the arrays across calls avoids a map and an allocation per pod.
let evaluationId = 0;
const stamps: number[] = [];
const slotResults: unknown[] = [];

function ruleHits(entry: CompiledRule, input: RuleInput, id: number): RuleHit[] {
  const slot = entry.slot;
  if (stamps[slot] === id) return slotResults[slot] as RuleHit[];
  const hits = entry.rule.check(input, entry.params);
  stamps[slot] = id;
  slotResults[slot] = hits;
  return hits;
}

function ruleFindings(
  policy: CompiledPolicy,
  entry: CompiledRule,
  hits: readonly RuleHit[],
  pod: PodView,
  now: number,
  out: Finding[],
): void {
  const rule = entry.rule;
  const { exceptions, podExceptions } = entry;
  for (let h = 0; h < hits.length; h++) {
    const hit = hits[h]!;
    const container = hit.container;
    if (container !== undefined) {
      if (policy.filtersImages && !policy.includesImage(container.image)) continue;
      if (exceptions.length > 0 && exceptedContainer(exceptions, container, pod, now)) continue;
    } else if (podExceptions.length > 0 && exceptedPod(podExceptions, pod, now)) {
      continue;
    }
    // One object shape for every finding keeps property access monomorphic in hot consumers.
    out.push({
      ruleId: rule.id,
      title: rule.title,
      severity: entry.severity,
      category: rule.category,
      policy: policy.name,
      container: container?.name,
      image: container?.image.raw,
      subject: hit.subject,
      message: hit.message,
      remediation: rule.remediation,
    });
  }
}

type BaseFinding = Omit<Finding, 'policy' | 'container' | 'image'>;

/** The policy-independent part of the PSS findings of a level and version, computed once per pod. */
function podSecurityBase(
  level: 'baseline' | 'restricted',
  version: string,
  pod: PodView,
  verdicts: PodSecurityVerdicts,
): BaseFinding[] {
  const subject = { metadata: pod.metadata, spec: pod.spec };
  const violations = podSecurityViolations(level, version, subject, verdicts);
  return violations.map((v) => {
    const info = podSecurityRuleInfo(v.check, v.level);
    return {
      ruleId: info.id,
      title: info.title,
      severity: info.severity,
      category: 'pss' as const,
      message: `${v.reason}: ${v.detail}`,
      remediation: info.remediation,
    };
  });
}

function podSecurityFindings(
  policy: CompiledPolicy,
  pod: PodView,
  now: number,
  id: number,
  verdicts: PodSecurityVerdicts,
  out: Finding[],
): void {
  const { level, version, slot, rules } = policy.podSecurity!;
  let base: BaseFinding[];
  if (stamps[slot] === id) {
    base = slotResults[slot] as BaseFinding[];
  } else {
    base = podSecurityBase(level, version, pod, verdicts);
    stamps[slot] = id;
    slotResults[slot] = base;
  }
  for (let i = 0; i < base.length; i++) {
    const f = base[i]!;
    const settings = rules.get(f.ruleId) ?? podSecurityRuleSettings(policy, f.ruleId);
    if (settings.disabled) continue;
    if (settings.exceptions.length > 0 && exceptedPod(settings.exceptions, pod, now)) continue;
    out.push({
      ruleId: f.ruleId,
      title: f.title,
      severity: settings.severity ?? f.severity,
      category: f.category,
      policy: policy.name,
      container: undefined,
      image: undefined,
      subject: undefined,
      message: f.message,
      remediation: f.remediation,
    });
  }
}

/** Settings of a check the compiled table does not list (it lists the whole catalog, so a safety net). */
function podSecurityRuleSettings(policy: CompiledPolicy, ruleId: string): PodSecurityRuleSettings {
  return {
    disabled: policy.spec.rules?.disabled?.includes(ruleId) ?? false,
    severity: policy.spec.rules?.severityOverrides?.find((o) => o.rule === ruleId)?.severity,
    exceptions: podWideExceptions(policy.exceptions).filter((e) => e.rule(ruleId)),
  };
}
