// The verdict of one signature rule for one image, from its discovered evidence (pure): subject
// checks, each attestor's verification, required annotations, N of M with no signature or log
// entry counted twice (a maximum matching of attestors to distinct signatures), and required
// attestations with predicate conditions.
import { RE2JS } from 're2js';

import type { PreparedAttestor } from './attestor.js';
import type { DiscoveredSignatures } from './discovery.js';
import { COSIGN_SIGN_PREDICATE, type SignatureEvidence } from './evidence.js';
import type {
  AttestationRequirement,
  InvalidReason,
  PredicateCondition,
  SignatureProblem,
  SignatureRule,
  SignatureVerdict,
} from './types.js';

/** Most specific first: the reason an Invalid verdict names when several signatures failed differently. */
const REASON_ORDER: readonly InvalidReason[] = [
  'DigestMismatch',
  'SubjectMismatch',
  'IdentityMismatch',
  'CertificateInvalid',
  'TransparencyLogMissing',
  'TransparencyLogInvalid',
  'TimestampMissing',
  'MissingAnnotation',
  'WrongKey',
  'BadSignature',
  'MalformedArtifact',
];

const MAX_MESSAGE_PROBLEMS = 3;

function isPlainSignature(e: SignatureEvidence): boolean {
  return e.statement.predicateType === undefined || e.statement.predicateType === COSIGN_SIGN_PREDICATE;
}

/** Attestor-independent: the signature must be about this image. */
function subjectProblem(e: SignatureEvidence, digest: string): SignatureProblem | undefined {
  if (e.statement.subjects.includes(digest)) return undefined;
  const named = e.statement.subjects.slice(0, 3).join(', ');
  if (e.format === 'cosign-classic') {
    return {
      reason: 'DigestMismatch',
      artifact: e.artifact,
      message: `${e.artifact}: the signed payload names image ${named}, not ${digest}`,
    };
  }
  return {
    reason: 'SubjectMismatch',
    artifact: e.artifact,
    message: `${e.artifact}: the in-toto statement's subject is ${named}, not the image ${digest}`,
  };
}

function missingAnnotations(
  e: SignatureEvidence,
  digest: string,
  required: Readonly<Record<string, string>>,
): string[] {
  const own = e.statement.annotations.get(digest) ?? {};
  return Object.entries(required)
    .filter(([k, v]) => !Object.hasOwn(own, k) || own[k] !== v)
    .map(([k, v]) => `${k}=${v}`);
}

/** Groups evidence that shares a signature or a log entry: one group counts once. */
function identityGroups(evidence: readonly SignatureEvidence[]): number[] {
  const parent = evidence.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i] ?? i] ?? i;
    return i;
  };
  const owner = new Map<string, number>();
  evidence.forEach((e, i) => {
    for (const id of e.identities) {
      const j = owner.get(id);
      if (j === undefined) owner.set(id, i);
      else parent[find(i)] = find(j);
    }
  });
  return evidence.map((_, i) => find(i));
}

/** Maximum bipartite matching (Kuhn): which attestors can be credited with distinct signatures. */
function matchAttestors(accepted: ReadonlyMap<number, ReadonlySet<number>>, attestors: number): number[] {
  const groupOwner = new Map<number, number>();
  const tryAssign = (a: number, seen: Set<number>): boolean => {
    for (const g of accepted.get(a) ?? []) {
      if (seen.has(g)) continue;
      seen.add(g);
      const current = groupOwner.get(g);
      if (current === undefined || tryAssign(current, seen)) {
        groupOwner.set(g, a);
        return true;
      }
    }
    return false;
  };
  for (let a = 0; a < attestors; a++) tryAssign(a, new Set());
  return [...groupOwner.values()].sort((x, y) => x - y);
}

const MAX_PATH_SEGMENTS = 16;

/** Reads `a.b.0.c` out of a predicate; undefined when any step is missing. */
export function predicateField(predicate: unknown, path: string): unknown {
  let value: unknown = predicate;
  const segments = path.split('.');
  if (segments.length > MAX_PATH_SEGMENTS) return undefined;
  for (const segment of segments) {
    if (Array.isArray(value) && /^\d+$/.test(segment)) value = value[Number(segment)];
    else if (typeof value === 'object' && value !== null && Object.hasOwn(value, segment))
      value = (value as Record<string, unknown>)[segment];
    else return undefined;
  }
  return value;
}

/** Undefined when the condition holds, else why not. */
export function conditionProblem(predicate: unknown, condition: PredicateCondition): string | undefined {
  const value = predicateField(predicate, condition.path);
  const shown = value === undefined ? 'absent' : JSON.stringify(value).slice(0, 120);
  if (condition.equals !== undefined && value !== condition.equals) {
    return `${condition.path} is ${shown}, not ${JSON.stringify(condition.equals)}`;
  }
  if (condition.oneOf !== undefined && !(typeof value === 'string' && condition.oneOf.includes(value))) {
    return `${condition.path} is ${shown}, not one of ${condition.oneOf.join(', ')}`;
  }
  if (condition.regExp !== undefined) {
    let matches: boolean;
    try {
      // RE2 (linear time: the pattern comes from a policy), matched against the whole value.
      matches = typeof value === 'string' && RE2JS.compile(condition.regExp).matches(value);
    } catch {
      return `${condition.path}: the pattern ${condition.regExp} is not valid RE2`;
    }
    if (!matches) return `${condition.path} is ${shown}, which does not match /${condition.regExp}/`;
  }
  return undefined;
}

function invalid(
  reason: InvalidReason,
  problems: readonly SignatureProblem[],
  lead: string,
): SignatureVerdict {
  const shown = problems.slice(0, MAX_MESSAGE_PROBLEMS).map((p) => p.message);
  const more =
    problems.length > MAX_MESSAGE_PROBLEMS ? ` (and ${problems.length - MAX_MESSAGE_PROBLEMS} more)` : '';
  return {
    status: 'Invalid',
    reason,
    problems,
    message: [lead, ...shown].filter((s) => s !== '').join('; ') + more,
  };
}

function mostSpecific(problems: readonly SignatureProblem[]): InvalidReason {
  for (const reason of REASON_ORDER) if (problems.some((p) => p.reason === reason)) return reason;
  return problems[0]?.reason ?? 'BadSignature';
}

function checkAttestation(
  requirement: AttestationRequirement,
  attestors: readonly PreparedAttestor[],
  evidence: readonly SignatureEvidence[],
  digest: string,
): SignatureProblem[] | undefined {
  const allowed = attestors.filter(
    (a) => requirement.attestors === undefined || requirement.attestors.includes(a.name),
  );
  const candidates = evidence.filter((e) => e.statement.predicateType === requirement.predicateType);
  const problems: SignatureProblem[] = [];
  if (candidates.length === 0) {
    return [
      {
        reason: 'AttestationMissing',
        artifact: 'attestations',
        message: `no attestation of predicate type ${requirement.predicateType} was found`,
      },
    ];
  }
  for (const e of candidates) {
    const subject = subjectProblem(e, digest);
    if (subject !== undefined) {
      problems.push(subject);
      continue;
    }
    const signedBy = allowed.find((a) => {
      const result = a.verifyEvidence(e);
      if (!result.ok) problems.push(result.problem);
      return result.ok;
    });
    if (signedBy === undefined) continue;
    const failed = (requirement.conditions ?? [])
      .map((c) => conditionProblem(e.statement.predicate, c))
      .filter((p): p is string => p !== undefined);
    if (failed.length === 0) return undefined;
    problems.push({
      reason: 'PredicateMismatch',
      attestor: signedBy.name,
      artifact: e.artifact,
      message: `${e.artifact}: the ${requirement.predicateType} attestation signed by ${signedBy.name} fails: ${failed.join('; ')}`,
    });
  }
  return problems;
}

/** The verdict of `rule` for the image `digest`, given its discovered signatures and prepared attestors. */
export function evaluateSignatures(
  rule: SignatureRule,
  attestors: readonly PreparedAttestor[],
  digest: string,
  discovered: DiscoveredSignatures,
): SignatureVerdict {
  const signatures = discovered.evidence.filter(isPlainSignature);
  const attestations = discovered.evidence.filter((e) => !isPlainSignature(e));
  const problems: SignatureProblem[] = [...discovered.problems];
  const required = Math.max(1, Math.min(rule.count ?? 1, attestors.length));

  if (signatures.length === 0 && problems.length === 0) {
    const looked = discovered.consulted.join(', ');
    return { status: 'Unsigned', message: `no signature found for ${digest} (looked at: ${looked})` };
  }

  const groups = identityGroups(signatures);
  const accepted = new Map<number, Set<number>>();
  signatures.forEach((e, i) => {
    const subject = subjectProblem(e, digest);
    if (subject !== undefined) {
      problems.push(subject);
      return;
    }
    attestors.forEach((a, ai) => {
      const result = a.verifyEvidence(e);
      if (!result.ok) {
        problems.push(result.problem);
        return;
      }
      const missing = missingAnnotations(e, digest, rule.annotations ?? {});
      if (missing.length > 0) {
        problems.push({
          reason: 'MissingAnnotation',
          attestor: a.name,
          artifact: e.artifact,
          message: `${e.artifact}: signed by ${a.name} but lacks the required annotation ${missing.join(', ')}`,
        });
        return;
      }
      const set = accepted.get(ai) ?? new Set<number>();
      set.add(groups[i] ?? i);
      accepted.set(ai, set);
    });
  });

  const credited = matchAttestors(accepted, attestors.length).map((ai) => attestors[ai]?.name ?? '');
  if (credited.length < required) {
    if (credited.length > 0) {
      return invalid(
        'ThresholdNotMet',
        problems,
        `${required} of ${attestors.length} attestors must sign; only ${credited.join(', ')} did (with distinct signatures)`,
      );
    }
    if (signatures.length === 0) {
      // Only unreadable artifacts: the image carries something, but no signature we can read.
      return invalid(mostSpecific(problems), problems, 'no readable signature');
    }
    return invalid(
      mostSpecific(problems),
      problems,
      `no signature verified for ${attestors.map((a) => a.name).join(', ')}`,
    );
  }

  for (const requirement of rule.attestations ?? []) {
    const failed = checkAttestation(requirement, attestors, attestations, digest);
    if (failed !== undefined) {
      const reason = failed.some((p) => p.reason === 'PredicateMismatch')
        ? 'PredicateMismatch'
        : failed.every((p) => p.reason === 'AttestationMissing')
          ? 'AttestationMissing'
          : mostSpecific(failed);
      return invalid(
        reason,
        failed,
        `signed by ${credited.join(', ')}, but the ${requirement.predicateType} attestation is not satisfied`,
      );
    }
  }

  const attestationNote =
    (rule.attestations ?? []).length > 0
      ? ` and attested (${(rule.attestations ?? []).map((a) => a.predicateType).join(', ')})`
      : '';
  return {
    status: 'Verified',
    attestors: credited,
    message: `signed by ${credited.join(', ')}${attestationNote}`,
  };
}
