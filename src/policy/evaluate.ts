// Evaluation: a workload's pod template, the policies that apply to it and
// (optionally) image facts in; findings out. Rule results are shared between
// policies with equal settings, so many policies cost little more than one.
import { evaluatePodSecurity } from './pss/index.js';
import { compilePolicy, type CompiledException, type CompiledPolicy } from './compile.js';
import type { AnySecurityPolicy } from '../api/policy-types.js';
import type { Finding } from './finding.js';
import type { ImageFactsSource } from './image-facts.js';
import { podSecurityRuleInfo } from './rules/catalog.js';
import type { RuleHit } from './rules/rule.js';
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

function excepted(
  exceptions: readonly CompiledException[],
  ruleId: string,
  container: ContainerView | undefined,
  pod: PodView,
  now: number,
): boolean {
  for (const e of exceptions) {
    if (!(e.expiresAt > now) || !e.rule(ruleId) || !e.pods(pod.labels)) continue;
    if (container === undefined) {
      // A pod-level finding is covered only by an exception not narrowed to images or containers.
      if (e.image === undefined && e.containers === undefined) return true;
      continue;
    }
    if (e.containers !== undefined && !e.containers.has(container.name)) continue;
    if (e.image !== undefined && !e.image(container.image.raw) && !e.image(container.image.normalized))
      continue;
    return true;
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
  const now = (options.now ?? new Date()).getTime();
  const input = { pod, imageFacts, now };
  // Results by slot, valid while stamp[slot] === this evaluation's id: reusing
  // the arrays across calls avoids a map and an allocation per pod.
  const id = ++evaluationId;
  const findings: Finding[] = [];
  for (const source of policies) {
    const policy = compilePolicy(source);
    for (const entry of policy.rules) {
      let hits: RuleHit[];
      if (stamps[entry.slot] === id) {
        hits = slotResults[entry.slot] as RuleHit[];
      } else {
        hits = entry.rule.check(input, entry.params);
        stamps[entry.slot] = id;
        slotResults[entry.slot] = hits;
      }
      for (const hit of hits) {
        const container = hit.container;
        if (container !== undefined && policy.filtersImages && !policy.includesImage(container.image))
          continue;
        if (policy.exceptions.length > 0 && excepted(policy.exceptions, entry.rule.id, container, pod, now))
          continue;
        // One object shape for every finding keeps property access monomorphic in hot consumers.
        findings.push({
          ruleId: entry.rule.id,
          title: entry.rule.title,
          severity: entry.severity,
          category: entry.rule.category,
          policy: policy.name,
          container: container?.name,
          image: container?.image.raw,
          message: hit.message,
          remediation: entry.rule.remediation,
        });
      }
    }
    if (policy.podSecurity) podSecurityFindings(policy, pod, now, id, findings);
  }
  return findings;
}

let evaluationId = 0;
const stamps: number[] = [];
const slotResults: unknown[] = [];

type BaseFinding = Omit<Finding, 'policy' | 'container' | 'image'>;

function podSecurityFindings(
  policy: CompiledPolicy,
  pod: PodView,
  now: number,
  id: number,
  out: Finding[],
): void {
  const { level, version, slot } = policy.podSecurity!;
  let base: BaseFinding[];
  if (stamps[slot] === id) {
    base = slotResults[slot] as BaseFinding[];
  } else {
    base = evaluatePodSecurity(level, version, { metadata: pod.metadata, spec: pod.spec }).map((v) => {
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
    stamps[slot] = id;
    slotResults[slot] = base;
  }
  if (base.length === 0) return;
  const overrides = policy.spec.rules?.severityOverrides;
  const disabled = policy.spec.rules?.disabled;
  for (const f of base) {
    if (disabled?.includes(f.ruleId)) continue;
    if (policy.exceptions.length > 0 && excepted(policy.exceptions, f.ruleId, undefined, pod, now)) continue;
    const severity = overrides?.find((o) => o.rule === f.ruleId)?.severity ?? f.severity;
    out.push({
      ruleId: f.ruleId,
      title: f.title,
      severity,
      category: f.category,
      policy: policy.name,
      container: undefined,
      image: undefined,
      message: f.message,
      remediation: f.remediation,
    });
  }
}
