// The rule catalog: every best-practice rule with its stable id, plus the
// Pod Security Standards checks, which report as `pss.<check>`.
import type { Severity } from '../../api/severity.js';
import type { RuleCategory } from '../finding.js';
import { imageConfigRules } from './image-config.js';
import { imageRules } from './image.js';
import { probeRules } from './probes.js';
import { resourceRules } from './resources.js';
import type { AnyRule } from './rule.js';
import { secretRules } from './secrets.js';
import { securityContextRules } from './security-context.js';
import { signatureRules } from './signatures.js';
import { vulnerabilityRules } from './vulnerabilities.js';

export const RULES: readonly AnyRule[] = [
  ...imageRules,
  ...imageConfigRules,
  ...securityContextRules,
  ...resourceRules,
  ...probeRules,
  ...secretRules,
  ...signatureRules,
  ...vulnerabilityRules,
] as AnyRule[];

const BY_ID = new Map(RULES.map((r) => [r.id, r]));

export function ruleById(id: string): AnyRule | undefined {
  return BY_ID.get(id);
}

/** Rule metadata without the check, as reports, docs and SARIF need it. */
export interface RuleInfo {
  id: string;
  title: string;
  severity: Severity;
  category: RuleCategory;
  description: string;
  remediation: string;
  optional: boolean;
}

export function ruleInfo(rule: AnyRule): RuleInfo {
  return {
    id: rule.id,
    title: rule.title,
    severity: rule.severity,
    category: rule.category,
    description: rule.description,
    remediation: rule.remediation,
    optional: rule.optional === true,
  };
}

/**
 * Severities of the Pod Security Standards checks, in line with the
 * best-practice rule for the same concern (privileged is Critical as
 * securityContext.privileged is); a check not listed gets its level's default.
 */
const PSS_CHECK_SEVERITY: Readonly<Record<string, Severity>> = {
  privileged: 'Critical',
  windowsHostProcess: 'Critical',
  hostNamespaces: 'High',
  hostPathVolumes: 'High',
  hostPorts: 'High',
  capabilities_baseline: 'High',
  procMount: 'High',
  seLinuxOptions: 'High',
  sysctls: 'High',
  appArmorProfile: 'Medium',
  seccompProfile_baseline: 'Medium',
  hostProbesAndHostLifecycle: 'Medium',
  runAsNonRoot: 'High',
  runAsUser: 'High',
  allowPrivilegeEscalation: 'High',
  procMount_restricted: 'High',
  capabilities_restricted: 'Medium',
  seccompProfile_restricted: 'Medium',
  restrictedVolumes: 'Medium',
};

/** The severity of a Pod Security Standards check; unknown checks: baseline High, restricted Medium. */
export function podSecuritySeverity(check: string, level: 'baseline' | 'restricted'): Severity {
  return PSS_CHECK_SEVERITY[check] ?? (level === 'baseline' ? 'High' : 'Medium');
}

// One map per level, so a lookup needs no concatenated key.
const podSecurityInfos = { baseline: new Map<string, RuleInfo>(), restricted: new Map<string, RuleInfo>() };

export function podSecurityRuleInfo(check: string, level: 'baseline' | 'restricted'): RuleInfo {
  const infos = podSecurityInfos[level] as Map<string, RuleInfo> | undefined;
  // Untyped callers may pass another level: describe it as before, just without caching.
  if (infos === undefined) return describePodSecurityCheck(check, level);
  let info = infos.get(check);
  if (!info) {
    info = describePodSecurityCheck(check, level);
    infos.set(check, info);
  }
  return info;
}

function describePodSecurityCheck(check: string, level: 'baseline' | 'restricted'): RuleInfo {
  return {
    id: `pss.${check}`,
    title: `Pod Security Standards (${level}): ${check}`,
    severity: podSecuritySeverity(check, level),
    category: 'pss',
    description: `The Kubernetes PodSecurity admission check "${check}" of the ${level} level, exactly as Kubernetes runs it for the policy's spec.podSecurity.version.`,
    remediation: `Change the pod spec to satisfy the ${level} Pod Security Standard (https://kubernetes.io/docs/concepts/security/pod-security-standards/).`,
    optional: false,
  };
}
