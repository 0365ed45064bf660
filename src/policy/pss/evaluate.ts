// Evaluates a pod against a Pod Security Standards level and version: the verdicts
// the Kubernetes PodSecurity admission would give, one violation per failed check.
import { LRUCache } from 'lru-cache';
import type { V1ObjectMeta, V1PodSpec } from '@kubernetes/client-node';
import { podSecurityChecks } from './catalog.js';
import { PodSecurityRegistry, type ActiveCheck } from './registry.js';
import type { CheckVerdict, PodSecurityLevel, PodSecuritySubject, PodSecurityViolation } from './types.js';
import { parsePodSecurityVersion } from './version.js';

const registry = new PodSecurityRegistry(podSecurityChecks);

export function evaluatePodSecurity(
  level: PodSecurityLevel,
  version: string,
  pod: PodSecuritySubject,
): PodSecurityViolation[] {
  return podSecurityViolations(level, version, pod, undefined);
}

/** A check revision's verdict on one pod; null: allowed. Absent: not run yet. */
export type PodSecurityVerdicts = (CheckVerdict | null)[];

/**
 * evaluatePodSecurity for several levels and versions of the same pod: `verdicts`
 * (start with [], one per pod, never shared between pods) keeps each check
 * revision's answer, so the baseline checks that restricted repeats, and the
 * revisions versions share, run once per pod.
 */
export function podSecurityViolations(
  level: PodSecurityLevel,
  version: string,
  pod: PodSecuritySubject,
  verdicts: PodSecurityVerdicts | undefined,
): PodSecurityViolation[] {
  // Callers from JSON (policies, CLI flags) are not held to the type; 'privileged' has no checks.
  if (level !== 'baseline' && level !== 'restricted') {
    throw new Error(
      `invalid Pod Security Standards level ${JSON.stringify(level)}: must be "baseline" or "restricted"`,
    );
  }
  const checks = checksFor(version)[level];
  const metadata = pod.metadata ?? {};
  const violations: PodSecurityViolation[] = [];
  for (let i = 0; i < checks.length; i++) {
    const check = checks[i]!;
    const verdict =
      verdicts === undefined
        ? check.checkPod(metadata, pod.spec)
        : rememberedVerdict(check, metadata, pod.spec, verdicts);
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

function rememberedVerdict(
  check: ActiveCheck,
  metadata: V1ObjectMeta,
  spec: V1PodSpec,
  verdicts: PodSecurityVerdicts,
): CheckVerdict {
  const known = verdicts[check.revision];
  if (known !== undefined) return known ?? undefined;
  const verdict = check.checkPod(metadata, spec);
  verdicts[check.revision] = verdict ?? null;
  return verdict;
}

type ChecksByLevel = Readonly<Record<PodSecurityLevel, readonly ActiveCheck[]>>;

/** Checks by version string as written, so a pod's evaluation neither parses nor selects. */
const checksByVersion = new LRUCache<string, ChecksByLevel>({ max: 1_000 });

function checksFor(version: string): ChecksByLevel {
  let checks = checksByVersion.get(version);
  if (checks === undefined) {
    // Throws for an invalid version, which is therefore never cached.
    const parsed = parsePodSecurityVersion(version);
    checks = {
      baseline: registry.activeChecks('baseline', parsed),
      restricted: registry.activeChecks('restricted', parsed),
    };
    // Valid spellings are few ("latest", "v1.N"); the bound only guards against hostile input.
    checksByVersion.set(version, checks);
  }
  return checks;
}

/** The policy minor that 'latest' (and any newer version) evaluates as. */
export const newestPodSecurityPolicyMinor = registry.newestPolicyMinor;
