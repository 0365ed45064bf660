// Reconciles one workload: evaluate its pod template against the policies that
// match it, then make its SecurityReport, the compliance tally, Events and
// metrics agree with the result. Idempotent; writes only differences. When a
// matching policy has a rescan schedule, the result asks to run again then.
import type { KubernetesObject, V1Namespace, V1PodSpec } from '@kubernetes/client-node';
import type { AnySecurityPolicy } from '../../api/policy-types.js';
import type {
  ReportedImage,
  SecurityReport,
  SeverityCounts,
  SignatureVerdict,
  WorkloadSignatureState,
} from '../../api/report-types.js';
import { compilePolicy, type CompiledPolicy } from '../../policy/compile.js';
import { evaluateWorkload } from '../../policy/evaluate.js';
import {
  lookupImageFacts,
  type ImageFacts,
  type ImageFactsSource,
  type ImageSignatureFact,
  type VexStatementFact,
} from '../../policy/image-facts.js';
import { expiredIgnores } from '../../policy/rules/vulnerabilities.js';
import { withTransition } from '../../api/conditions.js';
import { withSharedStrings } from '../../report/shared-strings.js';
import type { Condition } from '../../api/policy-types.js';
import { vexStatementsOf, withVex, type VexSource } from './vex.js';
import { matchingPolicies } from '../../policy/match.js';
import { policyTargetOf } from '../../policy/target.js';
import { podTemplateOf, type WorkloadObject } from '../../policy/workload.js';
import { regardingOf, type EventSpec } from '../../runtime/event-recorder.js';
import {
  buildSecurityReport,
  findingIdentity,
  isViolation,
  sameReport,
} from '../../report/security-report.js';
import { reportedAnalysisOf, type ImageStatus } from '../../image/image-service.js';
import {
  coveredImages,
  requirementOf,
  type SignatureRequirement,
  type SignatureService,
} from '../../image/signature-service.js';
import type { ObjectStore } from '../../runtime/cluster-cache.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { done, requeueAfter, TerminalError, type ReconcileResult } from '../../runtime/controller.js';
import type { ComplianceIndex } from '../compliance-index.js';
import type { ReportWriter } from './io.js';
import { parseWorkloadKey, reportNameFor, type WorkloadKey } from './key.js';
import { msUntilNextRescan } from './rescan.js';
import { Workloads } from './workloads.js';

export type { ObjectStore } from '../../runtime/cluster-cache.js';

/** The seam to image analysis (the ImageService in production). */
export interface ImageFactsProvider {
  /** What is known of `image` for pods with this spec; starts a scan when nothing (fresh) is. */
  statusOf(namespace: string, podSpec: V1PodSpec, image: string): ImageStatus;
  factsSource(namespace: string, podSpec: V1PodSpec): ImageFactsSource;
}

export interface WorkloadReconcilerDeps {
  store: ObjectStore;
  writer: ReportWriter;
  index: ComplianceIndex;
  recordEvent: (event: EventSpec) => void;
  /** Called with policies whose status summary may have changed. */
  policiesTouched: (policies: Set<string>) => void;
  /** Image analysis: starts scans of a workload's images and tells what is known of them. */
  images?: ImageFactsProvider;
  /** Signature verdicts for the policies that require signatures (needs `images`). */
  signatures?: Pick<SignatureService, 'verdictOf' | 'retryMs' | 'defaults'>;
  /** OpenVEX statements from the ConfigMaps policies name (spec.vulnerabilities.vex). */
  vex?: VexSource;
  /** Namespaces never reported on (the operator's own, kube-system, flags). */
  isExcludedNamespace: (namespace: string) => boolean;
  clock?: Pick<Clock, 'now'>;
}

/** How long our own write may stay ahead of the informer cache before we stop trusting it. */
const OWN_WRITE_TTL_MS = 30_000;
/** How often own writes the cache has caught up with are forgotten. */
const OWN_WRITE_SWEEP_MS = 5_000;

export class WorkloadReconciler {
  private readonly clock: Pick<Clock, 'now'>;
  readonly workloads: Workloads;
  /**
   * Reports this replica wrote that the cache may not show yet, keyed by
   * namespace/name, with the resourceVersions they replaced: reconciling again
   * before the watch delivers our write must not create or rewrite it again.
   * A write over our own earlier write inherits its versions, as the cache may
   * still show any of them (or no report at all).
   */
  private readonly ownWrites = new Map<
    string,
    { replacedVersions: Set<string | undefined>; report: SecurityReport; at: number }
  >();

  private lastOwnWriteSweep = 0;

  constructor(private readonly deps: WorkloadReconcilerDeps) {
    this.clock = deps.clock ?? systemClock;
    this.workloads = new Workloads(deps.store);
  }

  private now(): Date {
    return new Date(this.clock.now());
  }

  policies(): AnySecurityPolicy[] {
    return [
      ...this.deps.store.list<AnySecurityPolicy & KubernetesObject>('SecurityPolicy'),
      ...this.deps.store.list<AnySecurityPolicy & KubernetesObject>('ClusterSecurityPolicy'),
    ];
  }

  async reconcile(keyText: string): Promise<ReconcileResult> {
    const key = parseWorkloadKey(keyText);
    const workload = this.deps.store.get<WorkloadObject>(key.kind, key.namespace, key.name);
    const stillTop = workload && !workload.metadata?.deletionTimestamp && this.workloads.isTop(workload, key);
    const template = stillTop ? podTemplateOf(workload) : undefined;
    if (!workload || !template || this.deps.isExcludedNamespace(key.namespace)) {
      // Gone (Kubernetes GC removes its report through the owner reference) or no longer ours.
      this.deps.policiesTouched(this.deps.index.delete(keyText));
      return done;
    }

    const namespace = this.deps.store.get<V1Namespace>('Namespace', undefined, key.namespace);
    if (namespace?.metadata?.deletionTimestamp) {
      // A terminating namespace refuses new objects, and its workloads are going away with it.
      this.deps.policiesTouched(this.deps.index.delete(keyText));
      return done;
    }
    const target = policyTargetOf({
      namespace: key.namespace,
      namespaceLabels: namespace?.metadata?.labels,
      kind: key.kind,
      template,
    });
    const images = target.images ?? [];
    const policies: CompiledPolicy[] = matchingPolicies(
      this.policies().map(safeCompile).filter(isDefined),
      target,
    );
    const existing = this.latestReport(key, workload);
    if (policies.length === 0 && !existing) {
      this.deps.policiesTouched(this.deps.index.delete(keyText));
      return done;
    }
    const rescanIn = msUntilNextRescan(policies.flatMap((p) => p.spec.rescan?.schedule ?? []));
    const rescanResult = rescanIn === undefined ? done : requeueAfter(rescanIn);

    const imageStatus = new Map<string, ImageStatus>();
    for (const image of new Set(images)) {
      const status = this.deps.images?.statusOf(key.namespace, template.spec, image);
      if (status) imageStatus.set(image, status);
    }
    const verdicts = signatureVerdicts(
      this.deps.signatures,
      key.namespace,
      template.spec,
      policies,
      imageStatus,
    );
    const vex = await this.vexStatements(workload, policies);
    const facts = withVex(
      withSignatures(this.deps.images?.factsSource(key.namespace, template.spec), verdicts),
      vex,
    );
    const findings = evaluateWorkload(workload, policies, facts, { now: this.now() });
    const desired = buildSecurityReport({
      name: reportNameFor(key),
      workload,
      template,
      pods: this.workloads.podsOf(key),
      findings,
      policies: policies.map((p) => p.name),
      existing,
      now: this.now(),
      imageAnalysis: (image) => {
        const status = imageStatus.get(image);
        const signature = reportedSignature(verdicts.get(image));
        if (!status) return signature;
        const reported = reportedAnalysisOf(status);
        const counts = lookupImageFacts(facts, image)?.vulnerabilities;
        return status.state === 'Analyzed'
          ? {
              ...reported,
              digest: status.digest,
              ...(counts === undefined ? {} : { vulnerabilities: reportedCounts(counts) }),
              ...signature,
            }
          : { ...reported, ...signature };
      },
    });
    const matched = vulnerabilityCondition(images, facts, existing, this.now().toISOString());
    if (matched !== undefined && desired.status)
      desired.status.conditions = [...(desired.status.conditions ?? []), matched];
    const signed = workloadSignatureState(verdicts);
    if (signed !== undefined && desired.status) desired.status.signed = signed;
    const retryIn = [...verdicts.values()].some((v) => [...v.values()].some((f) => f?.verdict === 'Error'))
      ? this.deps.signatures?.retryMs
      : undefined;
    const result =
      retryIn === undefined
        ? rescanResult
        : requeueAfter(Math.min(retryIn, rescanIn ?? Number.POSITIVE_INFINITY));
    // After a restart (or a rescan) the image service knows less than the stored report did. Do not
    // rewrite a report with less knowledge: the scan's result requeues this workload.
    const waitingForImages =
      [...imageStatus.values()].some((status) => status.state === 'Pending') ||
      [...verdicts.values()].some((v) => [...v.values()].some((f) => f === undefined));
    if (waitingForImages && existing) {
      this.deps.policiesTouched(
        this.deps.index.set(keyText, {
          namespace: key.namespace,
          policies: policies.map((p) => p.name),
          findings,
        }),
      );
      return result;
    }
    if (!sameReport(existing, desired)) {
      const { stored } = await this.deps.writer.write(desired, existing).catch((error: unknown) => {
        // A report our own schema refuses would be refused forever: say so on the workload, once per cause.
        if (error instanceof TerminalError) this.announceRefused(workload, error.message);
        throw error;
      });
      const id = `${key.namespace}/${reportNameFor(key)}`;
      const previous = this.ownWrites.get(id);
      const replacedVersions = new Set(
        previous && previous.report === existing ? previous.replacedVersions : [],
      );
      replacedVersions.add(existing?.metadata.resourceVersion);
      this.forgetStaleOwnWrites();
      this.ownWrites.set(id, {
        replacedVersions,
        report: withSharedStrings(stored),
        at: this.now().getTime(),
      });
    }
    this.announce(workload, existing, desired);
    this.announceExpired(workload, existing, desired, policies);
    this.announceSignatures(workload, existing, desired);
    this.deps.policiesTouched(
      this.deps.index.set(keyText, {
        namespace: key.namespace,
        policies: policies.map((p) => p.name),
        findings,
      }),
    );
    return result;
  }

  /** An Event per image whose signature verdict changed: it names the image, the verdict and why. */
  private announceSignatures(
    workload: KubernetesObject,
    existing: SecurityReport | undefined,
    desired: SecurityReport,
  ): void {
    const before = new Map((existing?.status?.images ?? []).map((i) => [i.image, i]));
    let told = 0;
    for (const image of desired.status?.images ?? []) {
      const verdict = image.signature;
      if (verdict === undefined || told >= MAX_SIGNATURE_EVENTS) continue;
      const previous = before.get(image.image);
      if (previous?.signature === verdict && previous.signatureMessage === image.signatureMessage) continue;
      // A first Verified is no news; a change to or from anything else is.
      if (verdict === 'Verified' && previous?.signature === undefined) continue;
      told++;
      const digest = image.digest === undefined ? '' : ` (${image.digest})`;
      this.deps.recordEvent({
        regarding: regardingOf(workload),
        type: verdict === 'Verified' ? 'Normal' : 'Warning',
        reason: `Signature${verdict}`,
        action: 'VerifySignature',
        note: `Image ${image.image}${digest} signature ${verdict}${
          previous?.signature === undefined || previous.signature === verdict
            ? ''
            : ` (was ${previous.signature})`
        }: ${image.signatureMessage ?? ''}`,
      });
    }
  }

  /**
   * The OpenVEX statements of the policies that name a VEX ConfigMap, by source key. One that
   * cannot be read suppresses nothing, and a Warning on the workload says why.
   */
  private async vexStatements(
    workload: KubernetesObject,
    policies: readonly CompiledPolicy[],
  ): Promise<Map<string, readonly VexStatementFact[]>> {
    const source = this.deps.vex;
    if (source === undefined) return new Map();
    return vexStatementsOf(source, policies, (policy, problem) =>
      this.deps.recordEvent({
        regarding: regardingOf(workload),
        type: 'Warning',
        reason: 'VexUnreadable',
        action: 'Evaluate',
        note: `Policy ${policy.name} names OpenVEX statements that cannot be used, so they suppress nothing: ${problem}`,
      }),
    );
  }

  /**
   * A vulnerability ignore or an exception that expired makes its findings count again:
   * the first time one is reported again, a Warning names the expired entry.
   */
  private announceExpired(
    workload: KubernetesObject,
    existing: SecurityReport | undefined,
    desired: SecurityReport,
    policies: readonly CompiledPolicy[],
  ): void {
    const now = this.now().getTime();
    const known = new Set((existing?.status?.findings ?? []).map(findingIdentity));
    const byName = new Map(policies.map((p) => [p.name, p]));
    const told = new Set<string>();
    for (const f of desired.status?.findings ?? []) {
      if (!isViolation(f) || known.has(findingIdentity(f)) || told.size >= MAX_EXPIRY_EVENTS) continue;
      const policy = byName.get(f.policy);
      if (policy === undefined) continue;
      const expired: string[] = [];
      if (f.subject !== undefined)
        for (const i of expiredIgnores(policy.spec, now))
          if (i.id === f.subject) expired.push(`spec.vulnerabilities.ignore ${i.id} (expired ${i.expires})`);
      for (const e of policy.exceptions)
        if (!(e.expiresAt > now) && e.rule(f.ruleId))
          expired.push(`exception ${e.name} (expired ${new Date(e.expiresAt).toISOString()})`);
      for (const entry of expired) {
        const id = `${policy.name}\u0000${entry}`;
        if (told.has(id)) continue;
        told.add(id);
        this.deps.recordEvent({
          regarding: regardingOf(workload),
          type: 'Warning',
          reason: 'ExceptionExpired',
          action: 'Evaluate',
          note: `Policy ${policy.name}: ${entry} no longer applies, so ${f.ruleId}${f.subject === undefined ? '' : ` ${f.subject}`}${f.container === undefined ? '' : ` in ${f.container}`} counts again.`,
        });
      }
    }
  }

  /**
   * Drops the own writes latestReport would drop when next asked — the cache has caught up
   * with them, or they are past OWN_WRITE_TTL_MS — so that a workload not reconciled again
   * keeps no second copy of its report (a burst of writes held one per workload). At most
   * one sweep per OWN_WRITE_SWEEP_MS.
   */
  private forgetStaleOwnWrites(): void {
    const now = this.now().getTime();
    if (now - this.lastOwnWriteSweep < OWN_WRITE_SWEEP_MS) return;
    this.lastOwnWriteSweep = now;
    for (const [id, own] of this.ownWrites) {
      const slash = id.indexOf('/');
      const cached = this.deps.store.get<SecurityReport & KubernetesObject>(
        'SecurityReport',
        id.slice(0, slash),
        id.slice(slash + 1),
      );
      const behind = own.replacedVersions.has(cached?.metadata.resourceVersion ?? undefined);
      if (!behind || now - own.at >= OWN_WRITE_TTL_MS) this.ownWrites.delete(id);
    }
  }

  /** The cached report, or our own newer write when the cache has not caught up with it yet. */
  private latestReport(key: WorkloadKey, workload: KubernetesObject): SecurityReport | undefined {
    const id = `${key.namespace}/${reportNameFor(key)}`;
    const cached = this.deps.store.get<SecurityReport & KubernetesObject>(
      'SecurityReport',
      key.namespace,
      reportNameFor(key),
    );
    this.forgetStaleOwnWrites();
    const own = this.ownWrites.get(id);
    if (!own) return cached;
    const behind = own.replacedVersions.has(cached?.metadata.resourceVersion ?? undefined);
    const fresh = this.now().getTime() - own.at < OWN_WRITE_TTL_MS;
    if (behind && fresh && own.report.spec.subject.uid === workload.metadata?.uid) return own.report;
    this.ownWrites.delete(id);
    return cached;
  }

  private announceRefused(workload: KubernetesObject, why: string): void {
    this.deps.recordEvent({
      regarding: regardingOf(workload),
      type: 'Warning',
      reason: 'ReportRefused',
      action: 'Report',
      note: `Shipshape cannot write this workload's SecurityReport: ${why}`,
    });
  }

  /** Events on transitions only: new violations (Warning) and becoming compliant (Normal). */
  private announce(
    workload: KubernetesObject,
    existing: SecurityReport | undefined,
    desired: SecurityReport,
  ): void {
    const regarding = regardingOf(workload);
    const known = new Set((existing?.status?.findings ?? []).map(findingIdentity));
    const fresh = (desired.status?.findings ?? []).filter(
      (f) => isViolation(f) && !known.has(findingIdentity(f)),
    );
    if (fresh.length > 0) {
      const shown = fresh
        .slice(0, 5)
        .map(
          (f) =>
            `${f.ruleId}${f.subject ? ` ${f.subject}` : ''} (${f.severity})${f.container ? ` in ${f.container}` : ''}`,
        );
      const more = fresh.length > shown.length ? ` and ${fresh.length - shown.length} more` : '';
      this.deps.recordEvent({
        regarding,
        type: 'Warning',
        reason: 'PolicyViolation',
        action: 'Evaluate',
        note: `${fresh.length} new policy ${fresh.length === 1 ? 'violation' : 'violations'}: ${shown.join(', ')}${more}. See securityreport ${desired.metadata.name}.`,
      });
    }
    if (existing?.status?.compliant === false && desired.status?.compliant === true) {
      this.deps.recordEvent({
        regarding,
        type: 'Normal',
        reason: 'Compliant',
        action: 'Evaluate',
        note:
          (desired.status.policies?.length ?? 0) === 0
            ? 'No policy applies to this workload any more; its earlier violations are cleared.'
            : `Workload now complies with ${desired.status.policies?.length} applicable policies.`,
      });
    }
  }
}

function safeCompile(policy: AnySecurityPolicy): CompiledPolicy | undefined {
  try {
    return compilePolicy(policy);
  } catch {
    // An invalid policy is reported on its own status (PolicyStatusReconciler), not applied.
    return undefined;
  }
}

const isDefined = <T>(value: T | undefined): value is T => value !== undefined;

const MAX_SIGNATURE_EVENTS = 5;
const MAX_EXPIRY_EVENTS = 5;

/** An image's vulnerability counts as a SecurityReport's images[] entry shows them. */
function reportedCounts(counts: NonNullable<ImageFacts['vulnerabilities']>): SeverityCounts {
  return {
    critical: counts.Critical ?? 0,
    high: counts.High ?? 0,
    medium: counts.Medium ?? 0,
    low: counts.Low ?? 0,
    info: counts.Info ?? 0,
  };
}

/**
 * Whether the vulnerability findings are complete: Unknown, naming the images and why, while
 * any image's vulnerabilities are not known (no database yet, say), so a report never reads as
 * "no vulnerabilities" when nothing was matched. Absent when no image carries any (matching off).
 */
function vulnerabilityCondition(
  images: readonly string[],
  facts: ImageFactsSource | undefined,
  existing: SecurityReport | undefined,
  now: string,
): Condition | undefined {
  let any = false;
  const unknown: string[] = [];
  for (const image of new Set(images)) {
    const f = lookupImageFacts(facts, image);
    if (f?.vulnerabilitiesUnknown !== undefined) unknown.push(`${image}: ${f.vulnerabilitiesUnknown}`);
    if (f?.vulnerabilitiesUnknown !== undefined || f?.vulnerabilities !== undefined) any = true;
  }
  if (!any) return undefined;
  return withTransition(
    existing?.status?.conditions,
    unknown.length === 0
      ? {
          type: 'VulnerabilitiesMatched',
          status: 'True',
          reason: 'Matched',
          message: 'Every analysed image was matched against the vulnerability database.',
        }
      : {
          type: 'VulnerabilitiesMatched',
          status: 'Unknown',
          reason: 'VulnerabilitiesUnknown',
          message: `Vulnerabilities are not known for ${unknown.join('; ')}`.slice(0, 1024),
        },
    now,
  );
}

/** Worst first: what a workload's signed state and an image's verdict show. */
const SIGNATURE_ORDER: readonly WorkloadSignatureState[] = [
  'Error',
  'Invalid',
  'Unsigned',
  'Pending',
  'Verified',
];

function worse(a: WorkloadSignatureState, b: WorkloadSignatureState): WorkloadSignatureState {
  return SIGNATURE_ORDER.indexOf(a) <= SIGNATURE_ORDER.indexOf(b) ? a : b;
}

/**
 * Verdicts by image, then by requirement key, for the images a signature requirement of a
 * matching policy covers; undefined while the first verification runs. An image whose analysis
 * failed cannot be verified: Error (retried with the analysis), never Unsigned.
 */
export function signatureVerdicts(
  service: Pick<SignatureService, 'verdictOf' | 'defaults'> | undefined,
  namespace: string,
  podSpec: V1PodSpec,
  policies: readonly CompiledPolicy[],
  imageStatus: ReadonlyMap<string, ImageStatus>,
): Map<string, Map<string, ImageSignatureFact | undefined>> {
  const out = new Map<string, Map<string, ImageSignatureFact | undefined>>();
  if (service === undefined) return out;
  const requirements = policies
    .map((p) => requirementOf(p, service.defaults))
    .filter((r): r is SignatureRequirement => r !== undefined);
  if (requirements.length === 0) return out;
  for (const [image, applying] of coveredImages(imageStatus.keys(), requirements)) {
    const status = imageStatus.get(image);
    const byKey = new Map<string, ImageSignatureFact | undefined>();
    for (const requirement of applying) {
      if (byKey.has(requirement.key)) continue;
      if (status?.state === 'Analyzed') {
        byKey.set(requirement.key, service.verdictOf(namespace, podSpec, image, status.digest, requirement));
      } else if (status?.state === 'Failed') {
        byKey.set(requirement.key, {
          verdict: 'Error',
          reason: status.reason,
          message: `the image could not be read, so its signatures were not checked: ${status.message}`,
        });
      } else {
        byKey.set(requirement.key, undefined);
      }
    }
    out.set(image, byKey);
  }
  return out;
}

/** Facts with the signature verdicts merged in; an image with verdicts but no facts gets only those. */
export function withSignatures(
  source: ImageFactsSource | undefined,
  verdicts: ReadonlyMap<string, ReadonlyMap<string, ImageSignatureFact | undefined>>,
): ImageFactsSource | undefined {
  if (verdicts.size === 0) return source;
  return (image: string): ImageFacts | undefined => {
    const base = lookupImageFacts(source, image);
    const byKey = verdicts.get(image);
    if (byKey === undefined) return base;
    const signatures: Record<string, ImageSignatureFact> = {};
    for (const [key, fact] of byKey) if (fact !== undefined) signatures[key] = fact;
    return { ...(base ?? {}), signatures };
  };
}

/** The SecurityReport image entry's verdict: the worst over the requirements, with its message. */
function reportedSignature(
  byKey: ReadonlyMap<string, ImageSignatureFact | undefined> | undefined,
): Pick<ReportedImage, 'signature' | 'signatureMessage'> {
  let worst: ImageSignatureFact | undefined;
  for (const fact of byKey?.values() ?? []) {
    if (fact === undefined) continue;
    if (
      worst === undefined ||
      (worse(fact.verdict, worst.verdict) === fact.verdict && fact.verdict !== worst.verdict)
    )
      worst = fact;
  }
  if (worst === undefined) return {};
  const reason = worst.reason === undefined ? '' : `${worst.reason}: `;
  return {
    signature: worst.verdict satisfies SignatureVerdict,
    signatureMessage: `${reason}${worst.message}`.slice(0, 1024),
  };
}

/** The worst signature state over the covered images; undefined when no policy requires signatures. */
function workloadSignatureState(
  verdicts: ReadonlyMap<string, ReadonlyMap<string, ImageSignatureFact | undefined>>,
): WorkloadSignatureState | undefined {
  let state: WorkloadSignatureState | undefined;
  for (const byKey of verdicts.values())
    for (const fact of byKey.values()) {
      const s: WorkloadSignatureState = fact === undefined ? 'Pending' : fact.verdict;
      state = state === undefined ? s : worse(state, s);
    }
  return state;
}
