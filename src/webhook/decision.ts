// The admission decision, pure: one AdmissionRequest, the policies and what is
// known of the namespace and the images in; the AdmissionResponse out. It uses
// the reconciler's own evaluation (policyTargetOf, matchingPolicies,
// evaluateWorkload), so a pod refused here is exactly a pod the SecurityReport
// would flag. Enforce policies deny, Warn policies add warnings, Audit policies
// are not evaluated at admission at all. Dry-run requests are answered like
// real ones (kubectl --dry-run=server must show what a real apply would get).
// An image whose facts (analysis, or a required signature's verdict) are not
// there yet is "unknown", and the policy's onImageUnknown decides.
import { isViolation } from '../report/security-report.js';
import { isDeepStrictEqual } from 'node:util';
import type { AnySecurityPolicy } from '../api/policy-types.js';
import type { AdmissionResultLabel } from '../metrics/registry.js';
import { compilePolicy, type CompiledPolicy } from '../policy/compile.js';
import { evaluateWorkload } from '../policy/evaluate.js';
import type { Finding } from '../policy/finding.js';
import type { ImageFactsSource } from '../policy/image-facts.js';
import { matchingPolicies } from '../policy/match.js';
import type { Labels } from '../policy/selector.js';
import { policyTargetOf } from '../policy/target.js';
import { podTemplateOf, type WorkloadObject } from '../policy/workload.js';
import { errorText } from '../runtime/text.js';
import type { AdmissionRequest, AdmissionResponse } from './review.js';
import { oneLine, warningsFor } from './warnings.js';

/** The kinds whose pod templates are judged (group/kind), as the webhook configuration registers them. */
export const ADMITTED_KINDS: ReadonlySet<string> = new Set([
  '/Pod',
  '/ReplicationController',
  'apps/Deployment',
  'apps/StatefulSet',
  'apps/DaemonSet',
  'apps/ReplicaSet',
  'batch/Job',
  'batch/CronJob',
]);

/**
 * Rules that read image facts (the image configuration). Kept here rather than
 * read from the catalog because the catalog has no such flag yet; the unit
 * test checks each id still exists.
 */
export const IMAGE_FACT_RULES: ReadonlySet<string> = new Set([
  'image.runsAsRoot',
  'image.healthcheck',
  'image.secretEnv',
  'image.size',
  'image.age',
]);

export type AdmissionResult = AdmissionResultLabel;

export interface AdmissionContext {
  policies: readonly (AnySecurityPolicy | CompiledPolicy)[];
  namespaceLabels?: Labels | undefined;
  /** Facts of the images that are known; an image it has no facts for is "unknown". */
  imageFacts?: ImageFactsSource | undefined;
  /** Whether facts for `image` are known (default: whether imageFacts returns some). */
  imageKnown?: (image: string) => boolean;
  /**
   * Facts for the policies judged, which replace imageFacts: signature verdicts
   * depend on which policies require what. `unverified`: images a requirement
   * covers whose first verification has not finished (unknown, like a cache miss).
   */
  imageFactsFor?: (policies: readonly CompiledPolicy[]) => {
    facts: ImageFactsSource | undefined;
    unverified: readonly string[];
  };
  /** Rules another layer already enforces (a generated ValidatingAdmissionPolicy); skipped here. */
  skipRule?: (policy: CompiledPolicy, ruleId: string) => boolean;
  /** Namespaces never judged (the operator's own, kube-system), whatever the webhook configuration says. */
  excludedNamespaces?: ReadonlySet<string>;
  now?: Date;
}

export interface AdmissionDecision {
  response: AdmissionResponse;
  result: AdmissionResult;
  /** The findings of Enforce and Warn policies (empty when skipped). */
  findings: Finding[];
  /** Images without facts that an Enforce/Warn policy with image rules would have needed. */
  unknownImages: string[];
}

/** Upper bound of the deny message: the API server returns it to kubectl, which prints it whole. */
export const MAX_DENY_MESSAGE = 4096;

const allow = (request: AdmissionRequest, result: AdmissionResult): AdmissionDecision => ({
  response: { uid: request.uid, allowed: true },
  result,
  findings: [],
  unknownImages: [],
});

function kindKey(request: AdmissionRequest): string {
  return `${request.kind.group ?? ''}/${request.kind.kind}`;
}

/** Whether an UPDATE leaves what the policies judge (pod template labels and spec) as it was. */
function templateUnchanged(request: AdmissionRequest, workload: WorkloadObject): boolean {
  if (request.operation !== 'UPDATE' || !request.oldObject) return false;
  const before = podTemplateOf({ ...request.oldObject, kind: workload.kind });
  const after = podTemplateOf(workload);
  if (!before || !after) return false;
  return (
    isDeepStrictEqual(before.spec, after.spec) &&
    isDeepStrictEqual(before.metadata.labels ?? {}, after.metadata.labels ?? {})
  );
}

/** Decides one admission request. Never throws: a request it cannot judge is admitted with result `error`. */
export function decideAdmission(request: AdmissionRequest, context: AdmissionContext): AdmissionDecision {
  try {
    return decide(request, context);
  } catch (error) {
    // Fail open on our own bug rather than block a rollout; the reconciler still reports the workload.
    return {
      response: {
        uid: request.uid,
        allowed: true,
        warnings: [`shipshape could not evaluate this object (${errorText(error).slice(0, 180)}); admitted`],
      },
      result: 'error',
      findings: [],
      unknownImages: [],
    };
  }
}

function decide(request: AdmissionRequest, context: AdmissionContext): AdmissionDecision {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return allow(request, 'skipped');
  if (request.subResource) return allow(request, 'skipped');
  if (!ADMITTED_KINDS.has(kindKey(request))) return allow(request, 'skipped');
  const namespace = request.namespace ?? request.object?.metadata?.namespace;
  if (!namespace || context.excludedNamespaces?.has(namespace)) return allow(request, 'skipped');
  const object = request.object;
  if (!object) return allow(request, 'skipped');
  // A deleting object only sheds finalizers; refusing that would keep it forever.
  if (object.metadata?.deletionTimestamp) return allow(request, 'skipped');
  const workload: WorkloadObject = { ...object, kind: request.kind.kind };
  const template = podTemplateOf(workload);
  if (!template) return allow(request, 'skipped');
  // Scaling, annotations, status-like metadata: the pod template did not change, so neither did the verdict.
  if (templateUnchanged(request, workload)) return allow(request, 'skipped');

  const target = policyTargetOf({
    namespace,
    namespaceLabels: context.namespaceLabels,
    kind: request.kind.kind,
    template,
  });
  const judged = matchingPolicies(
    context.policies.map((p) => compilePolicy(p)),
    target,
  ).filter((p) => p.enforcement === 'Enforce' || p.enforcement === 'Warn');
  if (judged.length === 0) return allow(request, 'skipped');

  const named: WorkloadObject = {
    ...workload,
    metadata: { ...workload.metadata, name: workload.metadata?.name ?? request.name, namespace },
  };
  const forPolicies = context.imageFactsFor?.(judged);
  const evaluated = evaluateWorkload(
    named,
    judged,
    forPolicies ? forPolicies.facts : context.imageFacts,
    context.now ? { now: context.now } : {},
  );
  const byName = new Map(judged.map((p) => [p.name, p]));
  // Info findings (a vulnerability the policy accepts, say) are no violation here either.
  const findings = evaluated.filter((f) => {
    const policy = byName.get(f.policy);
    return isViolation(f) && policy !== undefined && !(context.skipRule?.(policy, f.ruleId) ?? false);
  });

  const unknownImages = [
    ...new Set([
      ...unknownImagesFor(judged, target.images ?? [], context),
      ...(forPolicies?.unverified ?? []),
    ]),
  ];
  for (const policy of judged) {
    if (policy.spec.onImageUnknown !== 'Deny') continue;
    for (const image of unknownImages) {
      if (policy.filtersImages && !target.images?.includes(image)) continue;
      findings.push(unknownImageFinding(policy, image));
    }
  }

  const enforced = findings.filter((f) => byName.get(f.policy)?.enforcement === 'Enforce');
  const warned = findings.filter((f) => byName.get(f.policy)?.enforcement === 'Warn');
  const subject = `${request.kind.kind} ${JSON.stringify(named.metadata?.name ?? '')}`;
  const warnings = warningsFor(warned, subject);
  if (enforced.length > 0) {
    return {
      response: {
        uid: request.uid,
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: denyMessage(subject, enforced) },
        ...(warnings.length > 0 ? { warnings } : {}),
      },
      result: 'denied',
      findings,
      unknownImages,
    };
  }
  return {
    response: { uid: request.uid, allowed: true, ...(warnings.length > 0 ? { warnings } : {}) },
    result: warnings.length > 0 ? 'warned' : 'allowed',
    findings,
    unknownImages,
  };
}

/** Images that some judged policy with image-fact rules needs facts for and has none. */
function unknownImagesFor(
  policies: readonly CompiledPolicy[],
  images: readonly string[],
  context: AdmissionContext,
): string[] {
  const needsFacts = policies.some((p) => p.rules.some((r) => IMAGE_FACT_RULES.has(r.rule.id)));
  if (!needsFacts) return [];
  const known =
    context.imageKnown ??
    ((image: string) => {
      const source = context.imageFacts;
      if (!source) return false;
      return (typeof source === 'function' ? source(image) : source.get(image)) !== undefined;
    });
  return [...new Set(images)].filter((image) => image !== '' && !known(image));
}

function unknownImageFinding(policy: CompiledPolicy, image: string): Finding {
  return {
    ruleId: 'admission.imageUnknown',
    title: 'Image not analysed in time',
    severity: 'Medium',
    category: 'image',
    policy: policy.name,
    image,
    message: `image ${JSON.stringify(image)} could not be analysed within the admission time budget`,
    remediation:
      'Retry in a moment (the analysis continues in the background), or set spec.onImageUnknown: Allow on the policy.',
  };
}

/** One line per violation: policy, rule, container, what is wrong and what to change; cut to MAX_DENY_MESSAGE. */
export function denyMessage(subject: string, findings: readonly Finding[]): string {
  const head = `shipshape: ${subject} violates ${findings.length === 1 ? 'an Enforce policy' : 'Enforce policies'} (${findings.length} violation${findings.length === 1 ? '' : 's'}):`;
  let message = head;
  for (let i = 0; i < findings.length; i++) {
    const f = findings[i]!;
    const line = `\n- [${f.ruleId}] policy ${f.policy}: ${oneLine(f.message)}. Fix: ${oneLine(f.remediation)}`;
    const rest = `\n... and ${findings.length - i} more (see the workload's SecurityReport or run shipshape audit)`;
    if (message.length + line.length + (i + 1 < findings.length ? rest.length : 0) > MAX_DENY_MESSAGE) {
      message += rest;
      break;
    }
    message += line;
  }
  return message;
}
