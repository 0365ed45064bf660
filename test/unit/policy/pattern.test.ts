// Specification of policy patterns: regular expressions from policies (tenant
// SecurityPolicies and admin ClusterSecurityPolicies alike) and the built-in
// credential formats run in linear time, on bounded input, and a pattern the
// engine cannot use is an error the policy status can show.
//
// The hostile cases hang V8's backtracking engine for seconds to centuries. A
// synchronous hang cannot be interrupted by mocha's timeout, so these tests
// measure and assert afterwards, with bounds far above what a linear engine
// needs and far below what a backtracking one takes.
import assert from 'node:assert/strict';
import type { SecurityPolicy } from '../../../src/api/policy-types.js';
import { compilePolicy } from '../../../src/policy/compile.js';
import { evaluateWorkload } from '../../../src/policy/evaluate.js';
import type { ImageFacts } from '../../../src/policy/image-facts.js';
import {
  compilePolicyPattern,
  MAX_POLICY_PATTERN_LENGTH,
  type PolicyPattern,
} from '../../../src/policy/pattern.js';
import { secretImageEnvKeys } from '../../../src/policy/rules/image-config.js';
import {
  ENV_VALUE_SCAN_PREFIX,
  looksLikeCredential,
  looksLikeCredentialName,
  MAX_ENV_NAME_LENGTH,
} from '../../../src/policy/rules/secrets.js';
import { goodContainer, goodPodSpec, pod, policy } from './helpers.js';

/** `^(a|aa)+$` needs Fibonacci(n) steps in a backtracking engine: about 10^8 for 41 characters. */
const CATASTROPHIC = '^(a|aa)+$';
const HOSTILE_NAME = `${'a'.repeat(40)}!`;
/** Far above what a linear match of these inputs takes, far below what backtracking takes. */
const HANG_GUARD_MS = 2000;

function timed<T>(work: () => T): { result: T; ms: number } {
  const start = performance.now();
  const result = work();
  return { result, ms: performance.now() - start };
}

function compiled(source: string, ignoreCase = false): PolicyPattern {
  const result = compilePolicyPattern(source, { field: 'spec.test', ignoreCase });
  assert.ok(result.ok, result.ok ? '' : result.error);
  return result.pattern;
}

function errorOf(source: string): string {
  const result = compilePolicyPattern(source, { field: 'spec.rules.secrets.credentialNamePatterns[0]' });
  assert.ok(!result.ok, `${source} should be refused`);
  return result.error;
}

function tenantPolicy(credentialNamePatterns: string[]): SecurityPolicy {
  return {
    apiVersion: 'shipshape.dev/v1alpha1',
    kind: 'SecurityPolicy',
    metadata: { name: 'tenant', namespace: 'default' },
    spec: { rules: { secrets: { credentialNamePatterns } } },
  };
}

describe('policy patterns', () => {
  it('matches anywhere in the value, as RegExp.test does', () => {
    const p = compiled('stripe_');
    assert.ok(p.test('MY_stripe_KEY'));
    assert.ok(!p.test('MY_STRIPE_KEY'));
    assert.ok(compiled('^stripe_', true).test('STRIPE_KEY'));
    assert.ok(!compiled('^stripe_', true).test('MY_STRIPE_KEY'));
  });

  it('matches a catastrophic pattern in linear time', () => {
    const p = compiled(CATASTROPHIC, true);
    const { result, ms } = timed(() => [p.test(HOSTILE_NAME), p.test(`${'a'.repeat(100_000)}!`)]);
    assert.deepEqual(result, [false, false]);
    assert.ok(p.test('a'.repeat(41)));
    assert.ok(ms < HANG_GUARD_MS, `${ms} ms`);
  });

  it('refuses invalid syntax with the field and the reason', () => {
    const error = errorOf('(unclosed');
    assert.match(error, /^spec\.rules\.secrets\.credentialNamePatterns\[0\] "\(unclosed" /);
    assert.match(error, /not a valid RE2 regular expression: missing closing \)/);
  });

  it('refuses what RE2 does not support, and says so', () => {
    assert.match(errorOf('(?=a)b'), /RE2 has no lookahead, lookbehind or backreferences/);
    assert.match(errorOf('(?<!a)b'), /not a valid RE2 regular expression/);
    assert.match(errorOf('(a)\\1'), /RE2 has no lookahead, lookbehind or backreferences/);
    // Repetitions that would compile to a huge program.
    assert.match(errorOf('((a{1000}){1000}){1000}'), /invalid repeat count/);
  });

  it('refuses a pattern longer than the cap', () => {
    compiled('a'.repeat(MAX_POLICY_PATTERN_LENGTH));
    assert.match(errorOf('a'.repeat(MAX_POLICY_PATTERN_LENGTH + 1)), /at most 256/);
  });
});

describe('credential name patterns from policies', () => {
  const hostilePod = pod(
    goodPodSpec({ containers: [goodContainer({ env: [{ name: HOSTILE_NAME, value: 'x1y2z3w4' }] })] }),
  );

  it('evaluate a tenant policy with a catastrophic pattern in linear time', () => {
    const { result, ms } = timed(() => evaluateWorkload(hostilePod, [tenantPolicy([CATASTROPHIC])]));
    assert.ok(!result.some((f) => f.ruleId === 'secrets.envLiteral'));
    assert.ok(ms < HANG_GUARD_MS, `${ms} ms`);
  });

  it('evaluate a cluster policy with the same engine', () => {
    const admin = policy({ rules: { secrets: { credentialNamePatterns: [CATASTROPHIC, '^x_'] } } });
    const { result, ms } = timed(() => evaluateWorkload(hostilePod, [admin]));
    assert.ok(ms < HANG_GUARD_MS, `${ms} ms`);
    assert.ok(!result.some((f) => f.ruleId === 'secrets.envLiteral'));
    const flagged = pod(
      goodPodSpec({ containers: [goodContainer({ env: [{ name: 'X_ANYTHING', value: 'q9w8e7r6' }] })] }),
    );
    assert.ok(evaluateWorkload(flagged, [admin]).some((f) => f.ruleId === 'secrets.envLiteral'));
  });

  it('match image config env names in linear time', () => {
    const facts: ImageFacts = { digest: `sha256:${'c'.repeat(64)}`, envKeys: [HOSTILE_NAME, 'PATH'] };
    const extra = [compiled(CATASTROPHIC, true)];
    const { result, ms } = timed(() => secretImageEnvKeys(facts, extra));
    assert.deepEqual(result, []);
    assert.ok(ms < HANG_GUARD_MS, `${ms} ms`);
    const p: SecurityPolicy = {
      ...tenantPolicy([CATASTROPHIC]),
      spec: { rules: { enabled: ['image.secretEnv'], secrets: { credentialNamePatterns: [CATASTROPHIC] } } },
    };
    const image = 'ghcr.io/example/app:1.2.3';
    const run = timed(() => evaluateWorkload(hostilePod, [p], new Map([[image, facts]])));
    assert.ok(!run.result.some((f) => f.ruleId === 'image.secretEnv'));
    assert.ok(run.ms < HANG_GUARD_MS, `${run.ms} ms`);
  });

  it('report an invalid pattern as a problem of the policy', () => {
    const compiledPolicy = compilePolicy(tenantPolicy(['(?=lookahead)']));
    assert.ok(
      compiledPolicy.problems.some(
        (p) =>
          p.startsWith('rule secrets.envLiteral skipped: spec.rules.secrets.credentialNamePatterns[0]') &&
          p.includes('not a valid RE2 regular expression'),
      ),
      compiledPolicy.problems.join('\n'),
    );
  });

  it('see only the first MAX_ENV_NAME_LENGTH characters of a name', () => {
    const extra = [compiled('_TAIL$', true)];
    assert.ok(looksLikeCredentialName(`${'A'.repeat(MAX_ENV_NAME_LENGTH - 5)}_TAIL`, extra));
    assert.ok(!looksLikeCredentialName(`${'A'.repeat(MAX_ENV_NAME_LENGTH)}_TAIL`, extra));
  });
});

describe('credential formats in env values', () => {
  // Each `-eyJ` starts a JWT candidate that V8 scans to the end of the value
  // before failing on the missing `.`: quadratic, about 2 s per 120 KB value.
  const hostileValue = '-eyJaaaaaaaa'.repeat(10_000);

  it('scan a hostile 120 KB value without backtracking', () => {
    assert.ok(hostileValue.length >= 120_000);
    const spec = goodPodSpec({
      containers: [
        goodContainer({
          env: Array.from({ length: 10 }, (_, i) => ({ name: `VALUE_${i}`, value: hostileValue })),
        }),
      ],
    });
    const { result, ms } = timed(() => evaluateWorkload(pod(spec), [policy()]));
    assert.ok(!result.some((f) => f.ruleId === 'secrets.envLiteral'));
    assert.ok(ms < HANG_GUARD_MS, `${ms} ms`);
  });

  it('still find each credential format', () => {
    for (const value of [
      'AKIAABCDEFGHIJKLMNOP',
      '-----BEGIN RSA PRIVATE KEY-----',
      `ghp_${'a'.repeat(36)}`,
      'xoxb-1234567890-abc',
      `sk_live_${'a'.repeat(16)}`,
      'eyJhbGciOiJI.eyJzdWIiOiIx.c2lnbmF0dXJl',
      `glpat-${'a'.repeat(20)}`,
      'postgres://app:hunter2@db:5432/app',
    ])
      assert.ok(looksLikeCredential('SETTING', value), value);
    assert.ok(!looksLikeCredential('SETTING', 'xghp_not-a-token'));
  });

  it('look for credential formats in the first ENV_VALUE_SCAN_PREFIX characters', () => {
    const key = 'AKIAABCDEFGHIJKLMNOP';
    assert.ok(looksLikeCredential('SETTING', `${' '.repeat(ENV_VALUE_SCAN_PREFIX - key.length)}${key}`));
    assert.ok(!looksLikeCredential('SETTING', `${' '.repeat(ENV_VALUE_SCAN_PREFIX)}${key}`));
  });

  it('never treat a value beyond the scanned prefix as harmless', () => {
    assert.ok(looksLikeCredential('DB_PASSWORD', `/${'a'.repeat(ENV_VALUE_SCAN_PREFIX)}`));
    assert.ok(!looksLikeCredential('DB_PASSWORD', `/${'a'.repeat(100)}`));
  });
});
