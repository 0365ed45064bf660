// Specification of label selectors: Kubernetes semantics for matchLabels and
// each matchExpressions operator, with keys that name properties of
// Object.prototype treated as the plain label keys they are.
import assert from 'node:assert/strict';
import type { V1LabelSelector } from '@kubernetes/client-node';
import { policyAppliesTo } from '../../../src/policy/match.js';
import { compileLabelSelector, MAX_LABEL_VALUE_LENGTH, type Labels } from '../../../src/policy/selector.js';
import { policy } from './helpers.js';

const PROTOTYPE_KEYS = ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf'];

/** Labels as they arrive from JSON, where `__proto__` is an ordinary own key. */
const labelsOf = (entries: Record<string, string>): Labels => JSON.parse(JSON.stringify(entries)) as Labels;
const withLabel = (key: string, value: string): Labels =>
  JSON.parse(`{${JSON.stringify(key)}: ${JSON.stringify(value)}}`) as Labels;

function matches(selector: V1LabelSelector, labels: Labels): boolean {
  return compileLabelSelector(selector)(labels);
}

describe('label selectors', () => {
  it('match everything when absent or empty', () => {
    assert.ok(matches({}, {}));
    assert.ok(compileLabelSelector(undefined)({}));
  });

  it('apply matchLabels and every operator', () => {
    const labels = labelsOf({ tier: 'web', app: 'shop' });
    assert.ok(matches({ matchLabels: { tier: 'web' } }, labels));
    assert.ok(!matches({ matchLabels: { tier: 'db' } }, labels));
    assert.ok(
      matches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'db'] }] }, labels),
    );
    assert.ok(!matches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] }, labels));
    assert.ok(matches({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, labels));
    assert.ok(matches({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels));
    assert.ok(!matches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels));
    assert.ok(!matches({ matchExpressions: [{ key: 'app', operator: 'Near' }] }, labels));
  });

  for (const key of PROTOTYPE_KEYS) {
    describe(`with the key ${key}`, () => {
      it('finds it neither Existing nor In on a pod without labels', () => {
        assert.equal(matches({ matchExpressions: [{ key, operator: 'Exists' }] }, {}), false);
        assert.equal(matches({ matchExpressions: [{ key, operator: 'DoesNotExist' }] }, {}), true);
        assert.equal(matches({ matchExpressions: [{ key, operator: 'In', values: ['x'] }] }, {}), false);
        assert.equal(matches({ matchExpressions: [{ key, operator: 'NotIn', values: ['x'] }] }, {}), true);
        assert.equal(matches({ matchLabels: withLabel(key, 'x') }, {}), false);
      });

      it('treats it as a label when the pod has it', () => {
        const labels = withLabel(key, 'x');
        assert.equal(matches({ matchExpressions: [{ key, operator: 'Exists' }] }, labels), true);
        assert.equal(matches({ matchExpressions: [{ key, operator: 'DoesNotExist' }] }, labels), false);
        assert.equal(matches({ matchExpressions: [{ key, operator: 'In', values: ['x'] }] }, labels), true);
        assert.equal(
          matches({ matchExpressions: [{ key, operator: 'NotIn', values: ['x'] }] }, labels),
          false,
        );
        assert.equal(matches({ matchLabels: withLabel(key, 'x') }, labels), true);
        assert.equal(matches({ matchLabels: withLabel(key, 'y') }, labels), false);
      });
    });
  }

  it('does not let a prototype key select a pod without labels into a policy', () => {
    const p = policy({
      match: { podSelector: { matchExpressions: [{ key: 'toString', operator: 'Exists' }] } },
    });
    assert.equal(policyAppliesTo(p, { namespace: 'default', labels: {} }), false);
    assert.equal(policyAppliesTo(p, { namespace: 'default' }), false);
    const ns = policy({
      match: { namespaceSelector: { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] } },
    });
    assert.equal(policyAppliesTo(ns, { namespace: 'default', namespaceLabels: {} }), false);
  });

  it('compares no label value longer than Kubernetes allows', () => {
    const long = 'v'.repeat(MAX_LABEL_VALUE_LENGTH + 1);
    const selector = { matchExpressions: [{ key: 'k', operator: 'In', values: [long] }] };
    assert.equal(matches(selector, { k: long }), false);
    assert.equal(matches({ matchExpressions: [{ key: 'k', operator: 'Exists' }] }, { k: long }), true);
    const longest = 'v'.repeat(MAX_LABEL_VALUE_LENGTH);
    assert.equal(matches({ matchLabels: { k: longest } }, { k: longest }), true);
  });
});
