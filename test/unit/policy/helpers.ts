// Builders for rule tests: a compliant pod that each case bends one way, and a
// policy that turns on exactly what a case needs.
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import type {
  ClusterSecurityPolicy,
  PolicyRules,
  SecurityPolicySpec,
} from '../../../src/api/policy-types.js';
import { evaluateWorkload } from '../../../src/policy/evaluate.js';
import type { Finding } from '../../../src/policy/finding.js';

export function goodContainer(overrides: Partial<V1Container> = {}): V1Container {
  return {
    name: 'app',
    image: 'ghcr.io/example/app:1.2.3',
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
    resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } },
    livenessProbe: { tcpSocket: { port: 8080 } },
    readinessProbe: { tcpSocket: { port: 8080 } },
    ...overrides,
  };
}

export function goodPodSpec(overrides: Partial<V1PodSpec> = {}): V1PodSpec {
  return {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [goodContainer()],
    ...overrides,
  };
}

export function policy(spec: SecurityPolicySpec = {}, name = 'test'): ClusterSecurityPolicy {
  return { apiVersion: 'shipshape.dev/v1alpha1', kind: 'ClusterSecurityPolicy', metadata: { name }, spec };
}

export function pod(spec: V1PodSpec, annotations?: Record<string, string>) {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', annotations }, spec };
}

/** Findings of one rule for a pod spec, under a policy that enables that rule. */
export function findingsOf(
  ruleId: string,
  spec: V1PodSpec,
  rules: PolicyRules = {},
  annotations?: Record<string, string>,
): Finding[] {
  const p = policy({ rules: { ...rules, enabled: [...(rules.enabled ?? []), ruleId] } });
  return evaluateWorkload(pod(spec, annotations), [p]).filter((f) => f.ruleId === ruleId);
}
