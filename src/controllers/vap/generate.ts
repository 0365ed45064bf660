// ValidatingAdmissionPolicy generation: the rules CEL can express exactly,
// turned into an admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy and
// binding per Enforce/Warn policy, so the API server checks them in process
// (no webhook round trip) and the webhook can skip them (decision skipRule).
//
// Covered (see CEL_RULES): securityContext.privileged, .hostNamespaces,
// .allowPrivilegeEscalation, .readOnlyRootFilesystem, .runAsUser,
// .runAsNonRoot, .capabilitiesDropAll, .capabilitiesAdd (with the policy's
// forbidden/allowed lists), over init and regular containers. Not the image
// rules (tag, registry): the engine reads references through the registry's
// parser, and an invalid reference would be judged differently by a regex. Not covered, and left to the webhook: ephemeral
// containers (a different schema type CEL cannot concatenate; they arrive
// through a subresource the webhook does not register anyway), image-based
// rules, anything with exceptions or image globs. A policy is generated only
// when its scoping is expressible too (eligibility below); otherwise none is,
// and the webhook keeps judging every rule. Conformance with the TypeScript
// engine is proven against a real API server in test/e2e/admission.test.ts.
// It lives beside its controller (reconciler.ts) because the controller layer
// applies it and the webhook, above, reads what it covers (vapCoverage).
//
// The generated objects carry what the rest of the operator needs to know of
// them in annotations: which policy (its display name, to map a change back to
// a key), which revision of it (uid@generation), the rules covered, and a hash
// of the generated content, since the API server defaults fields of the spec
// and a field-by-field comparison would never settle. The webhook skips a rule
// only when the VAP *in the cluster* says it covers it for the current policy
// revision and was written long enough ago for the API server to apply it
// (vapCoverage, VAP_SETTLE_MS), so a VAP not yet written, or just written,
// never leaves a gap.
import type {
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
  V1LabelSelector,
} from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { compilePolicy, type CompiledPolicy } from '../../policy/compile.js';
import type { AnySecurityPolicy } from '../../api/policy-types.js';

interface CelRule {
  /** A CEL expression that is true when the pod spec complies; a function of the rule's compiled params when they matter. */
  expression: string | ((params: unknown) => string);
  message: string;
}

/** Kubernetes accepts capability names in any case, with or without CAP_ (normalizeCapability, in CEL). */
const NORMALIZED_CAP = "(a.upperAscii().startsWith('CAP_') ? a.upperAscii().substring(4) : a.upperAscii())";
const podSc = (field: string) =>
  `has(variables.spec.securityContext) && has(variables.spec.securityContext.${field})`;
const celList = (values: Iterable<string>) => `[${[...values].map((v) => quote(v)).join(', ')}]`;

// `variables.containers`: init and regular containers; `variables.spec`: the pod spec.
const sc = (field: string) => `has(c.securityContext) && has(c.securityContext.${field})`;
export const CEL_RULES: Readonly<Record<string, CelRule>> = {
  'securityContext.runAsNonRoot': {
    // The container's runAsNonRoot wins over the pod's; without either, a non-zero runAsUser (container, then pod) will do.
    expression: `variables.containers.all(c, (${sc('runAsNonRoot')}) ? c.securityContext.runAsNonRoot : ((${podSc('runAsNonRoot')}) ? variables.spec.securityContext.runAsNonRoot : ((${sc('runAsUser')}) ? c.securityContext.runAsUser > 0 : ((${podSc('runAsUser')}) && variables.spec.securityContext.runAsUser > 0))))`,
    message:
      'every container must run as non-root: runAsNonRoot: true, or a non-zero runAsUser (pod or container) [securityContext.runAsNonRoot]',
  },
  'securityContext.capabilitiesDropAll': {
    expression: `variables.containers.all(c, ${sc('capabilities')} && has(c.securityContext.capabilities.drop) && c.securityContext.capabilities.drop.exists(d, d.upperAscii() == 'ALL' || d.upperAscii() == 'CAP_ALL'))`,
    message:
      'every container must set securityContext.capabilities.drop: ["ALL"] [securityContext.capabilitiesDropAll]',
  },
  'securityContext.capabilitiesAdd': {
    expression: (params) => {
      const { forbidden, allowed } = params as {
        forbidden: ReadonlySet<string>;
        allowed: ReadonlySet<string> | undefined;
      };
      const allowedTest = allowed ? ` && ${NORMALIZED_CAP} in ${celList(allowed)}` : '';
      return `variables.containers.all(c, !(${sc('capabilities')} && has(c.securityContext.capabilities.add)) || c.securityContext.capabilities.add.all(a, !(${NORMALIZED_CAP} in ${celList(forbidden)})${allowedTest}))`;
    },
    message:
      'a container adds a capability the policy forbids (securityContext.capabilities.add) [securityContext.capabilitiesAdd]',
  },
  'securityContext.privileged': {
    expression: `variables.containers.all(c, !(${sc('privileged')} && c.securityContext.privileged))`,
    message: 'a container sets securityContext.privileged: true [securityContext.privileged]',
  },
  'securityContext.hostNamespaces': {
    expression:
      '!((has(variables.spec.hostNetwork) && variables.spec.hostNetwork) || (has(variables.spec.hostPID) && variables.spec.hostPID) || (has(variables.spec.hostIPC) && variables.spec.hostIPC))',
    message:
      'the pod shares host namespaces (hostNetwork, hostPID or hostIPC) [securityContext.hostNamespaces]',
  },
  'securityContext.allowPrivilegeEscalation': {
    expression: `variables.containers.all(c, ${sc('allowPrivilegeEscalation')} && c.securityContext.allowPrivilegeEscalation == false)`,
    message:
      'every container must set securityContext.allowPrivilegeEscalation: false [securityContext.allowPrivilegeEscalation]',
  },
  'securityContext.readOnlyRootFilesystem': {
    expression: `variables.containers.all(c, ${sc('readOnlyRootFilesystem')} && c.securityContext.readOnlyRootFilesystem == true)`,
    message:
      'every container must set securityContext.readOnlyRootFilesystem: true [securityContext.readOnlyRootFilesystem]',
  },
  'securityContext.runAsUser': {
    // The container's runAsUser wins over the pod's, as in the engine.
    expression: `variables.containers.all(c, ${sc('runAsUser')} ? c.securityContext.runAsUser != 0 : !(has(variables.spec.securityContext) && has(variables.spec.securityContext.runAsUser) && variables.spec.securityContext.runAsUser == 0))`,
    message: 'a container runs as user 0 (runAsUser: 0) [securityContext.runAsUser]',
  },
};

const SPEC_EXPRESSION =
  "object.kind == 'Pod' ? object.spec : (object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec)";
const LABELS_EXPRESSION =
  "object.kind == 'Pod' ? (has(object.metadata.labels) ? object.metadata.labels : {}) : (object.kind == 'CronJob' ? (has(object.spec.jobTemplate.spec.template.metadata.labels) ? object.spec.jobTemplate.spec.template.metadata.labels : {}) : (has(object.spec.template.metadata.labels) ? object.spec.template.metadata.labels : {}))";

const RESOURCES: Record<string, { group: string; resource: string }> = {
  Pod: { group: '', resource: 'pods' },
  ReplicationController: { group: '', resource: 'replicationcontrollers' },
  Deployment: { group: 'apps', resource: 'deployments' },
  StatefulSet: { group: 'apps', resource: 'statefulsets' },
  DaemonSet: { group: 'apps', resource: 'daemonsets' },
  ReplicaSet: { group: 'apps', resource: 'replicasets' },
  Job: { group: 'batch', resource: 'jobs' },
  CronJob: { group: 'batch', resource: 'cronjobs' },
};

export type VapEligibility = { eligible: true; rules: string[] } | { eligible: false; reason: string };

/** Which of a policy's rules a ValidatingAdmissionPolicy can take over, or why none can. */
export function vapEligibility(policy: AnySecurityPolicy | CompiledPolicy): VapEligibility {
  const p = compilePolicy(policy);
  if (p.enforcement !== 'Enforce' && p.enforcement !== 'Warn')
    return { eligible: false, reason: 'Audit policy' };
  const match = p.spec.match ?? {};
  if (p.filtersImages) return { eligible: false, reason: 'image globs are not expressible in CEL exactly' };
  if (match.exclude?.podSelector) return { eligible: false, reason: 'exclude.podSelector is not generated' };
  const rules = p.rules.map((r) => r.rule.id).filter((id) => id in CEL_RULES);
  const excepted = rules.filter((id) => p.exceptions.some((e) => e.rule(id)));
  const covered = rules.filter((id) => !excepted.includes(id));
  if (covered.length === 0) return { eligible: false, reason: 'no rule CEL expresses exactly' };
  return { eligible: true, rules: covered };
}

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** A label selector over `variables.labels`, in CEL. */
export function selectorCel(selector: V1LabelSelector | undefined): string | undefined {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {}))
    parts.push(`(${quote(k)} in variables.labels && variables.labels[${quote(k)}] == ${quote(v)})`);
  for (const e of selector?.matchExpressions ?? []) {
    const key = quote(e.key);
    const values = `[${(e.values ?? []).map(quote).join(', ')}]`;
    if (e.operator === 'In')
      parts.push(`(${key} in variables.labels && variables.labels[${key}] in ${values})`);
    else if (e.operator === 'NotIn')
      parts.push(`!(${key} in variables.labels && variables.labels[${key}] in ${values})`);
    else if (e.operator === 'Exists') parts.push(`(${key} in variables.labels)`);
    else if (e.operator === 'DoesNotExist') parts.push(`!(${key} in variables.labels)`);
  }
  return parts.length > 0 ? parts.join(' && ') : undefined;
}

/** The name of a policy's VAP and binding, from its display name ("ns/name" or "name"). */
export function vapName(policyName: string): string {
  const hash = createHash('sha256').update(policyName).digest('hex').slice(0, 10);
  const base = policyName.replace(/[^a-z0-9-]/g, '-').slice(0, 40);
  return `shipshape-${base}-${hash}`;
}

export const VAP_ANNOTATIONS = {
  policy: 'shipshape.dev/policy',
  revision: 'shipshape.dev/policy-revision',
  rules: 'shipshape.dev/rules',
  hash: 'shipshape.dev/generated-hash',
  /** When the operator last wrote the object (not part of the hash). */
  appliedAt: 'shipshape.dev/applied-at',
} as const;

/**
 * How long after a write the webhook keeps judging the covered rules itself:
 * the API server applies a VAP through its own informer, a moment after the
 * object is stored, and until then only the webhook would refuse.
 */
export const VAP_SETTLE_MS = 10_000;

/** Label selecting the objects the VAP controller owns (and only those). */
export const VAP_MANAGED_LABEL = { key: 'app.kubernetes.io/managed-by', value: 'shipshape' } as const;

/** uid@generation: the policy revision a generated VAP was made from. */
export function policyRevision(policy: CompiledPolicy): string {
  const { uid, generation } = policy.source.metadata;
  return `${uid ?? ''}@${generation ?? ''}`;
}

/**
 * Whether the operator should keep a VAP for this policy: the operator-wide
 * switch is on, the policy does not opt out, and some rule is expressible.
 */
export function wantsVap(policy: AnySecurityPolicy | CompiledPolicy, operatorWide: boolean): boolean {
  if (!operatorWide) return false;
  const p = compilePolicy(policy);
  return p.spec.admission?.validatingAdmissionPolicy !== false && vapEligibility(p).eligible;
}

type Annotated = { metadata?: { annotations?: Record<string, string> } } | undefined;

/**
 * The rules of `policy` the ValidatingAdmissionPolicy in the cluster enforces
 * now: both objects exist, were generated from this revision of the policy,
 * and were written at least `settleMs` before `now` (VAP_SETTLE_MS). Anything
 * else (not written yet, just written, stale, deleted by hand) covers nothing.
 */
export function vapCoverage(
  policy: CompiledPolicy,
  lookup: (kind: 'ValidatingAdmissionPolicy' | 'ValidatingAdmissionPolicyBinding', name: string) => Annotated,
  { now, settleMs }: { now: number; settleMs: number },
): ReadonlySet<string> {
  const name = vapName(policy.name);
  const revision = policyRevision(policy);
  const vap = lookup('ValidatingAdmissionPolicy', name)?.metadata?.annotations;
  const binding = lookup('ValidatingAdmissionPolicyBinding', name)?.metadata?.annotations;
  if (vap?.[VAP_ANNOTATIONS.revision] !== revision || binding?.[VAP_ANNOTATIONS.revision] !== revision)
    return new Set();
  const settled = (annotations: Record<string, string>) => {
    const at = Date.parse(annotations[VAP_ANNOTATIONS.appliedAt] ?? '');
    return Number.isFinite(at) && now - at >= settleMs;
  };
  if (!settled(vap) || !settled(binding)) return new Set();
  return new Set((vap[VAP_ANNOTATIONS.rules] ?? '').split(',').filter(Boolean));
}

export interface GeneratedVap {
  policy: V1ValidatingAdmissionPolicy;
  binding: V1ValidatingAdmissionPolicyBinding;
  rules: string[];
}

/** The ValidatingAdmissionPolicy and binding for a policy, or undefined when it is not eligible. */
export function generateVap(
  source: AnySecurityPolicy | CompiledPolicy,
  /** Namespaces a cluster policy never binds to: the operator's own and the control plane's, as the webhook. */
  excludedNamespaces: readonly string[],
): GeneratedVap | undefined {
  const p = compilePolicy(source);
  const eligibility = vapEligibility(p);
  if (!eligibility.eligible) return undefined;
  const name = vapName(p.name);
  const kinds = [...(p.kinds ?? Object.keys(RESOURCES))].filter((k) => k in RESOURCES);
  const byGroup = new Map<string, string[]>();
  for (const kind of kinds) {
    const r = RESOURCES[kind]!;
    byGroup.set(r.group, [...(byGroup.get(r.group) ?? []), r.resource]);
  }
  const podSelector = selectorCel(p.spec.match?.podSelector);
  const excluded = excludedNamespaces;
  const namespaceSelector: V1LabelSelector = p.cluster
    ? {
        ...(p.spec.match?.namespaceSelector?.matchLabels
          ? { matchLabels: p.spec.match.namespaceSelector.matchLabels }
          : {}),
        matchExpressions: [
          ...(p.spec.match?.namespaceSelector?.matchExpressions ?? []),
          {
            key: 'kubernetes.io/metadata.name',
            operator: 'NotIn',
            values: [...new Set([...excluded, ...(p.spec.match?.excludedNamespaces ?? [])])],
          },
        ],
      }
    : { matchLabels: { 'kubernetes.io/metadata.name': p.namespace ?? 'default' } };
  const ownerReferences =
    p.cluster && p.source.metadata.uid
      ? [
          {
            apiVersion: 'shipshape.dev/v1alpha1',
            kind: 'ClusterSecurityPolicy',
            name: p.source.metadata.name ?? '',
            uid: p.source.metadata.uid,
          },
        ]
      : undefined;
  const labels = { [VAP_MANAGED_LABEL.key]: VAP_MANAGED_LABEL.value, 'shipshape.dev/policy': name };
  const annotations = {
    [VAP_ANNOTATIONS.policy]: p.name,
    [VAP_ANNOTATIONS.revision]: policyRevision(p),
    [VAP_ANNOTATIONS.rules]: eligibility.rules.join(','),
  };
  const generated: GeneratedVap = {
    rules: eligibility.rules,
    policy: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name, labels, annotations, ...(ownerReferences ? { ownerReferences } : {}) },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [...byGroup].map(([group, resources]) => ({
            apiGroups: [group],
            apiVersions: ['v1'],
            resources,
            operations: ['CREATE', 'UPDATE'],
          })),
        },
        matchConditions: [
          // As the webhook: a deleting object, or an update that leaves the pod template alone, is not judged.
          { name: 'not-deleting', expression: '!has(object.metadata.deletionTimestamp)' },
          {
            name: 'template-changed',
            expression:
              "request.operation == 'CREATE' || oldObject == null || (object.kind == 'Pod' ? object.spec != oldObject.spec || object.metadata.labels != oldObject.metadata.labels : (object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template != oldObject.spec.jobTemplate.spec.template : object.spec.template != oldObject.spec.template))",
          },
        ],
        variables: [
          { name: 'spec', expression: SPEC_EXPRESSION },
          { name: 'labels', expression: LABELS_EXPRESSION },
          {
            name: 'containers',
            expression:
              '(has(variables.spec.initContainers) ? variables.spec.initContainers : []) + variables.spec.containers',
          },
        ],
        validations: eligibility.rules.map((id) => ({
          expression: podSelector ? `!(${podSelector}) || (${celExpression(p, id)})` : celExpression(p, id),
          message: `shipshape policy ${p.name}: ${CEL_RULES[id]!.message}`,
          reason: 'Forbidden',
        })),
      },
    },
    binding: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name, labels, annotations, ...(ownerReferences ? { ownerReferences } : {}) },
      spec: {
        policyName: name,
        validationActions: p.enforcement === 'Enforce' ? ['Deny'] : ['Warn'],
        matchResources: { namespaceSelector },
      },
    },
  };
  for (const object of [generated.policy, generated.binding])
    object.metadata!.annotations![VAP_ANNOTATIONS.hash] = contentHash(object);
  return generated;
}

/** The CEL of one covered rule, with the policy's settings of it. */
function celExpression(policy: CompiledPolicy, id: string): string {
  const { expression } = CEL_RULES[id]!;
  if (typeof expression === 'string') return expression;
  return expression(policy.rules.find((r) => r.rule.id === id)?.params);
}

/** A hash of what the operator generates for an object (metadata it sets, and spec). */
export function contentHash(object: {
  metadata?: { labels?: object; annotations?: Record<string, string>; ownerReferences?: unknown };
  spec?: unknown;
}): string {
  const { [VAP_ANNOTATIONS.hash]: _hash, ...annotations } = object.metadata?.annotations ?? {};
  const content = JSON.stringify([
    object.metadata?.labels ?? {},
    annotations,
    object.metadata?.ownerReferences ?? [],
    object.spec ?? {},
  ]);
  return createHash('sha256').update(content).digest('hex').slice(0, 32);
}
