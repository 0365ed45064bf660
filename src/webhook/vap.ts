// ValidatingAdmissionPolicy generation: the rules CEL can express exactly,
// turned into an admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy and
// binding per Enforce/Warn policy, so the API server checks them in process
// (no webhook round trip) and the webhook can skip them (decision skipRule).
//
// Covered (see CEL_RULES): securityContext.privileged, .hostNamespaces,
// .allowPrivilegeEscalation, .readOnlyRootFilesystem, .runAsUser, over init
// and regular containers. Not covered, and left to the webhook: ephemeral
// containers (a different schema type CEL cannot concatenate; they arrive
// through a subresource the webhook does not register anyway), image-based
// rules, anything with exceptions or image globs. A policy is generated only
// when its scoping is expressible too (eligibility below); otherwise none is,
// and the webhook keeps judging every rule. Conformance with the TypeScript
// engine is proven against a real API server in test/e2e/admission.test.ts.
import type {
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
  V1LabelSelector,
} from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { compilePolicy, type CompiledPolicy } from '../policy/compile.js';
import type { AnySecurityPolicy } from '../api/policy-types.js';
import { excludedNamespacesOf } from './configuration.js';

interface CelRule {
  /** A CEL expression that is true when the pod spec complies. */
  expression: string;
  message: string;
}

// `variables.containers`: init and regular containers; `variables.spec`: the pod spec.
const sc = (field: string) => `has(c.securityContext) && has(c.securityContext.${field})`;
export const CEL_RULES: Readonly<Record<string, CelRule>> = {
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

export function vapName(policy: CompiledPolicy): string {
  const hash = createHash('sha256').update(policy.name).digest('hex').slice(0, 10);
  const base = policy.name.replace(/[^a-z0-9-]/g, '-').slice(0, 40);
  return `shipshape-${base}-${hash}`;
}

export interface GeneratedVap {
  policy: V1ValidatingAdmissionPolicy;
  binding: V1ValidatingAdmissionPolicyBinding;
  rules: string[];
}

/** The ValidatingAdmissionPolicy and binding for a policy, or undefined when it is not eligible. */
export function generateVap(
  source: AnySecurityPolicy | CompiledPolicy,
  operatorNamespace: string,
): GeneratedVap | undefined {
  const p = compilePolicy(source);
  const eligibility = vapEligibility(p);
  if (!eligibility.eligible) return undefined;
  const name = vapName(p);
  const kinds = [...(p.kinds ?? Object.keys(RESOURCES))].filter((k) => k in RESOURCES);
  const byGroup = new Map<string, string[]>();
  for (const kind of kinds) {
    const r = RESOURCES[kind]!;
    byGroup.set(r.group, [...(byGroup.get(r.group) ?? []), r.resource]);
  }
  const podSelector = selectorCel(p.spec.match?.podSelector);
  const excluded = excludedNamespacesOf(operatorNamespace);
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
  const labels = { 'app.kubernetes.io/managed-by': 'shipshape', 'shipshape.dev/policy': name };
  return {
    rules: eligibility.rules,
    policy: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name, labels, ...(ownerReferences ? { ownerReferences } : {}) },
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
          expression: podSelector
            ? `!(${podSelector}) || (${CEL_RULES[id]!.expression})`
            : CEL_RULES[id]!.expression,
          message: `shipshape policy ${p.name}: ${CEL_RULES[id]!.message}`,
          reason: 'Forbidden',
        })),
      },
    },
    binding: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name, labels, ...(ownerReferences ? { ownerReferences } : {}) },
      spec: {
        policyName: name,
        validationActions: p.enforcement === 'Enforce' ? ['Deny'] : ['Warn'],
        matchResources: { namespaceSelector },
      },
    },
  };
}
