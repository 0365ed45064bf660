// ValidatingAdmissionPolicy generation: which policies and rules CEL takes
// over, and the shape of what is generated. Agreement of the CEL with the
// engine is proven against a real API server in test/e2e/admission.test.ts.
import assert from 'node:assert/strict';
import type { AnySecurityPolicy, SecurityPolicySpec } from '../../../src/api/policy-types.js';
import {
  CEL_RULES,
  generateVap as generateWithExclusions,
  selectorCel,
  vapEligibility,
} from '../../../src/controllers/vap/generate.js';
import { excludedNamespacesOf } from '../../../src/webhook/configuration.js';

const generateVap = (p: AnySecurityPolicy, operatorNamespace: string) =>
  generateWithExclusions(p, excludedNamespacesOf(operatorNamespace));

let n = 0;
const policy = (spec: SecurityPolicySpec, cluster = false): AnySecurityPolicy => ({
  apiVersion: 'shipshape.dev/v1alpha1',
  kind: cluster ? 'ClusterSecurityPolicy' : 'SecurityPolicy',
  metadata: { name: 'p', namespace: cluster ? undefined : 'shop', uid: `vap-test-${++n}`, generation: 1 },
  spec,
});

describe('ValidatingAdmissionPolicy generation', () => {
  it('covers the CEL-exact rules of an Enforce policy and denies', () => {
    const vap = generateVap(policy({ enforcement: 'Enforce' }), 'shipshape-system');
    assert.ok(vap);
    assert.deepEqual(new Set(vap.rules), new Set(Object.keys(CEL_RULES)));
    assert.deepEqual(vap.binding.spec?.validationActions, ['Deny']);
    assert.deepEqual(vap.binding.spec?.matchResources?.namespaceSelector?.matchLabels, {
      'kubernetes.io/metadata.name': 'shop',
    });
    assert.equal(vap.policy.spec?.validations?.length, vap.rules.length);
  });

  it('warns for Warn policies and generates nothing for Audit ones', () => {
    assert.deepEqual(generateVap(policy({ enforcement: 'Warn' }), 'ops')?.binding.spec?.validationActions, [
      'Warn',
    ]);
    assert.equal(generateVap(policy({ enforcement: 'Audit' }), 'ops'), undefined);
  });

  it('leaves to the webhook what it cannot express exactly: image globs, excepted and disabled rules', () => {
    assert.deepEqual(
      vapEligibility(policy({ enforcement: 'Enforce', match: { images: ['ghcr.io/*'] } })).eligible,
      false,
    );
    const excepted = vapEligibility(
      policy({
        enforcement: 'Enforce',
        rules: { disabled: ['securityContext.privileged'] },
        exceptions: [
          {
            name: 'legacy',
            reason: 'migrating',
            rules: ['securityContext.runAsUser'],
            expires: '2999-01-01T00:00:00Z',
          },
        ],
      }),
    );
    assert.ok(excepted.eligible);
    assert.ok(!excepted.rules.includes('securityContext.privileged'));
    assert.ok(!excepted.rules.includes('securityContext.runAsUser'));
  });

  it('keeps the operator and control plane namespaces out of a cluster policy binding, and owns it', () => {
    const vap = generateVap(
      policy({ enforcement: 'Enforce', match: { excludedNamespaces: ['legacy'] } }, true),
      'ops',
    );
    const values = vap?.binding.spec?.matchResources?.namespaceSelector?.matchExpressions?.[0]?.values ?? [];
    for (const ns of ['kube-system', 'ops', 'legacy']) assert.ok(values.includes(ns), ns);
    assert.equal(vap?.policy.metadata?.ownerReferences?.[0]?.kind, 'ClusterSecurityPolicy');
  });

  it('writes label selectors as CEL over the pod template labels, quoting tenant strings', () => {
    assert.equal(
      selectorCel({ matchLabels: { app: "it's" }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] }),
      "('app' in variables.labels && variables.labels['app'] == 'it\\'s') && ('tier' in variables.labels)",
    );
    assert.equal(selectorCel(undefined), undefined);
  });
});
