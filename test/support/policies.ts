// Creating SecurityPolicies in e2e tests.
import type { CustomObjectsApi } from '@kubernetes/client-node';
import type { SecurityPolicySpec } from '../../src/api/policy-types.js';

export async function createSecurityPolicy(
  custom: CustomObjectsApi,
  namespace: string,
  name: string,
  spec: SecurityPolicySpec = {},
): Promise<void> {
  await custom.createNamespacedCustomObject({
    group: 'shipshape.dev',
    version: 'v1alpha1',
    plural: 'securitypolicies',
    namespace,
    body: { apiVersion: 'shipshape.dev/v1alpha1', kind: 'SecurityPolicy', metadata: { name }, spec },
  });
}
