// Evaluates a pod against a Pod Security Standards level and version: the verdicts
// the Kubernetes PodSecurity admission would give, one violation per failed check.
import { podSecurityChecks } from './catalog.js';
import { PodSecurityRegistry } from './registry.js';
import type { PodSecurityLevel, PodSecuritySubject, PodSecurityViolation } from './types.js';
import { parsePodSecurityVersion } from './version.js';

const registry = new PodSecurityRegistry(podSecurityChecks);

export function evaluatePodSecurity(
  level: PodSecurityLevel,
  version: string,
  pod: PodSecuritySubject,
): PodSecurityViolation[] {
  // Callers from JSON (policies, CLI flags) are not held to the type; 'privileged' has no checks.
  if (level !== 'baseline' && level !== 'restricted') {
    throw new Error(
      `invalid Pod Security Standards level ${JSON.stringify(level)}: must be "baseline" or "restricted"`,
    );
  }
  const parsed = parsePodSecurityVersion(version);
  const metadata = pod.metadata ?? {};
  const violations: PodSecurityViolation[] = [];
  for (const check of registry.activeChecks(level, parsed)) {
    const verdict = check.checkPod(metadata, pod.spec);
    if (verdict !== undefined) {
      violations.push({
        check: check.id,
        level: check.level,
        reason: verdict.reason,
        detail: verdict.detail,
      });
    }
  }
  return violations;
}

/** The policy minor that 'latest' (and any newer version) evaluates as. */
export const newestPodSecurityPolicyMinor = registry.newestPolicyMinor;
