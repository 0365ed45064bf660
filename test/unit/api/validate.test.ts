// Offline schema checks and defaults, as `shipshape audit --policy` uses them.
import assert from 'node:assert/strict';
import { applyDefaults, policySpecSchema, validateAgainstSchema } from '../../../src/api/index.js';
import { compareSeverity, isAtLeast, parseSeverity, SEVERITIES } from '../../../src/api/severity.js';

describe('validateAgainstSchema', () => {
  const schema = policySpecSchema(true);

  it('names the field of an unknown enum value', () => {
    const [problem] = validateAgainstSchema(schema, { enforcement: 'Block' }, 'spec');
    assert.equal(problem?.path, 'spec.enforcement');
    assert.match(problem!.message, /Unsupported value: "Block"/);
  });

  it('names a missing required field inside a list', () => {
    const problems = validateAgainstSchema(
      schema,
      { exceptions: [{ name: 'x', rules: ['image.tag'], reason: 'r' }] },
      'spec',
    );
    assert.deepEqual(
      problems.map((p) => p.path),
      ['spec.exceptions[0].expires'],
    );
  });

  it('refuses unknown fields and duplicate set entries', () => {
    const problems = validateAgainstSchema(
      schema,
      { rules: { disabled: ['image.tag', 'image.tag'], bogus: 1 } },
      'spec',
    );
    assert.deepEqual(problems.map((p) => p.path).sort(), ['spec.rules.bogus', 'spec.rules.disabled[1]']);
  });
});

describe('applyDefaults', () => {
  it('fills in the defaults the API server would', () => {
    const spec = applyDefaults(policySpecSchema(false), {}) as Record<string, Record<string, unknown>>;
    assert.equal(spec.enforcement, 'Audit');
    assert.deepEqual(spec.rescan, { schedule: '0 */6 * * *' });
    assert.deepEqual((spec.rules!.resources as Record<string, unknown>).requests, ['cpu', 'memory']);
  });

  it('keeps what the user set', () => {
    const spec = applyDefaults(policySpecSchema(false), {
      enforcement: 'Enforce',
      rules: { resources: { requests: [] } },
    });
    assert.equal(spec.enforcement, 'Enforce');
    assert.deepEqual(spec.rules?.resources?.requests, []);
  });
});

describe('severity order', () => {
  it('sorts most severe first', () => {
    assert.deepEqual([...SEVERITIES].reverse().sort(compareSeverity), [...SEVERITIES]);
  });

  it('compares at or above', () => {
    assert.ok(isAtLeast('Critical', 'High'));
    assert.ok(isAtLeast('High', 'High'));
    assert.ok(!isAtLeast('Medium', 'High'));
  });

  it('parses any letter case and refuses unknown names', () => {
    assert.equal(parseSeverity('high'), 'High');
    assert.equal(parseSeverity('CRITICAL'), 'Critical');
    assert.equal(parseSeverity('severe'), undefined);
  });
});
