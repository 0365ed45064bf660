// Specification of the image configuration rules (image.runsAsRoot,
// image.healthcheck, image.secretEnv, image.size, image.age): table-driven pass
// and fail cases with image facts, init containers, the securityContext
// override of the image user, the evaluation clock, and silence for images
// whose facts are not known.
import assert from 'node:assert/strict';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import type { PolicyRules } from '../../../src/api/policy-types.js';
import { policySpecSchema } from '../../../src/api/policy-schema.js';
import { validateAgainstSchema } from '../../../src/api/validate.js';
import { compilePolicy } from '../../../src/policy/compile.js';
import { evaluateWorkload } from '../../../src/policy/evaluate.js';
import type { Finding } from '../../../src/policy/finding.js';
import type { ImageFacts, ImageFactsSource } from '../../../src/policy/image-facts.js';
import { RULES } from '../../../src/policy/rules/catalog.js';
import { imageConfigRules, isRootImageUser } from '../../../src/policy/rules/image-config.js';
import { goodContainer, goodPodSpec, pod, policy } from './helpers.js';

const NOW = new Date('2025-06-01T00:00:00Z');
const DAY = 86_400_000;
const APP = 'ghcr.io/example/app:1.2.3';
const INIT = 'ghcr.io/example/setup:1.0.0';
const daysAgo = (days: number, from = NOW): string => new Date(from.getTime() - days * DAY).toISOString();

/** Facts of an image that breaks none of the rules. */
const goodFacts = (overrides: Partial<ImageFacts> = {}): ImageFacts => ({
  digest: `sha256:${'c'.repeat(64)}`,
  user: '10001',
  healthcheck: true,
  envKeys: ['PATH', 'APP_HOME'],
  sizeBytes: 50_000_000,
  layers: 5,
  created: daysAgo(30),
  os: 'linux',
  architecture: 'amd64',
  ...overrides,
});

const IMAGE_CONFIG_RULE_IDS = imageConfigRules.map((r) => r.id);

/** Findings of one rule under a policy that enables it, with facts for the images named in `facts`. */
function findingsOf(
  ruleId: string,
  spec: V1PodSpec,
  facts: ImageFactsSource | undefined,
  rules: PolicyRules = {},
  now: Date = NOW,
): Finding[] {
  const p = policy({ rules: { ...rules, enabled: [...(rules.enabled ?? []), ruleId] } });
  return evaluateWorkload(pod(spec), [p], facts, { now }).filter((f) => f.ruleId === ruleId);
}

const c = (overrides: Partial<V1Container>): V1Container => goodContainer(overrides);
/** The good pod spec without runAsNonRoot, so the image decides the user. */
const noPodUser = (pod: Partial<V1PodSpec> = {}): V1PodSpec =>
  goodPodSpec({ securityContext: { seccompProfile: { type: 'RuntimeDefault' } }, ...pod });
const withInit = (init: Partial<V1Container>, pod: Partial<V1PodSpec> = {}): V1PodSpec =>
  noPodUser({ initContainers: [c({ name: 'setup', image: INIT, ...init })], ...pod });
const noProbes = { livenessProbe: undefined, readinessProbe: undefined };
const appFacts = (overrides: Partial<ImageFacts>) => new Map([[APP, goodFacts(overrides)]]);

interface Case {
  it: string;
  spec: V1PodSpec;
  facts: ReadonlyMap<string, ImageFacts>;
  rules?: PolicyRules;
  now?: Date;
  /** Containers expected in findings; empty: compliant. */
  expect: string[];
  /** Fragments every finding message must contain. */
  message?: string[];
  /** Fragments no finding message may contain. */
  absent?: string[];
}

const TABLE: Record<string, Case[]> = {
  'image.runsAsRoot': [
    {
      it: 'passes an image with a numeric non-root USER',
      spec: noPodUser(),
      facts: appFacts({}),
      expect: [],
    },
    {
      it: 'passes a named non-root USER',
      spec: noPodUser(),
      facts: appFacts({ user: 'nobody' }),
      expect: [],
    },
    {
      it: 'passes a non-root uid with the root group',
      spec: noPodUser(),
      facts: appFacts({ user: '1000:0' }),
      expect: [],
    },
    {
      it: 'fails an image that configures no USER',
      spec: noPodUser(),
      facts: appFacts({ user: '' }),
      expect: ['app'],
      message: [`"${APP}"`, 'configures no USER', 'no securityContext runAsUser overrides it'],
    },
    {
      it: 'fails USER root',
      spec: noPodUser(),
      facts: appFacts({ user: 'root' }),
      expect: ['app'],
      message: ['USER "root"'],
    },
    { it: 'fails USER 0', spec: noPodUser(), facts: appFacts({ user: '0' }), expect: ['app'] },
    { it: 'fails USER 0:0', spec: noPodUser(), facts: appFacts({ user: '0:0' }), expect: ['app'] },
    {
      it: 'fails USER root:wheel',
      spec: noPodUser(),
      facts: appFacts({ user: 'root:wheel' }),
      expect: ['app'],
    },
    {
      it: 'passes a root image when the pod sets a non-zero runAsUser',
      spec: noPodUser({ securityContext: { runAsUser: 1000 } }),
      facts: appFacts({ user: '' }),
      expect: [],
    },
    {
      it: 'passes a root image when the container sets a non-zero runAsUser',
      spec: noPodUser({ containers: [c({ securityContext: { runAsUser: 1000 } })] }),
      facts: appFacts({ user: 'root' }),
      expect: [],
    },
    {
      it: 'lets a container runAsUser of non-zero win over a pod runAsUser of 0',
      spec: noPodUser({
        securityContext: { runAsUser: 0 },
        containers: [c({ securityContext: { runAsUser: 1000 } })],
      }),
      facts: appFacts({ user: '' }),
      expect: [],
    },
    {
      it: 'lets a container runAsUser of 0 win over a non-zero pod runAsUser',
      spec: noPodUser({
        securityContext: { runAsUser: 1000 },
        containers: [c({ securityContext: { runAsUser: 0 } })],
      }),
      facts: appFacts({ user: '' }),
      expect: ['app'],
      message: ['runAsUser: 0'],
      absent: ['overrides'],
    },
    {
      it: 'says that the kubelet refuses a root image under runAsNonRoot without runAsUser',
      spec: goodPodSpec(),
      facts: appFacts({ user: '' }),
      expect: ['app'],
      message: ['runAsNonRoot: true', 'kubelet refuses to start it'],
    },
    {
      it: 'checks init containers',
      spec: withInit({}),
      facts: new Map([
        [APP, goodFacts()],
        [INIT, goodFacts({ user: '' })],
      ]),
      expect: ['setup'],
      message: ['init container "setup"', `"${INIT}"`],
    },
    {
      it: 'does not check Windows images',
      spec: noPodUser(),
      facts: appFacts({ user: '', os: 'windows' }),
      expect: [],
    },
    {
      it: 'reports nothing when the user is not known',
      spec: noPodUser(),
      facts: appFacts({ user: undefined }),
      expect: [],
    },
  ],
  'image.healthcheck': [
    {
      it: 'passes an image with a HEALTHCHECK and no probes',
      spec: noPodUser({ containers: [c(noProbes)] }),
      facts: appFacts({}),
      expect: [],
    },
    {
      it: 'passes an image without HEALTHCHECK when the container has both probes',
      spec: noPodUser(),
      facts: appFacts({ healthcheck: false }),
      expect: [],
    },
    {
      it: 'passes an image without HEALTHCHECK when the container has a livenessProbe',
      spec: noPodUser({ containers: [c({ readinessProbe: undefined })] }),
      facts: appFacts({ healthcheck: false }),
      expect: [],
    },
    {
      it: 'passes an image without HEALTHCHECK when the container has a readinessProbe',
      spec: noPodUser({ containers: [c({ livenessProbe: undefined })] }),
      facts: appFacts({ healthcheck: false }),
      expect: [],
    },
    {
      it: 'fails an image without HEALTHCHECK in a container without probes',
      spec: noPodUser({ containers: [c(noProbes)] }),
      facts: appFacts({ healthcheck: false }),
      expect: ['app'],
      message: [`"${APP}"`, 'no HEALTHCHECK', 'no livenessProbe or readinessProbe'],
    },
    {
      it: 'does not check an init container that runs to completion',
      spec: withInit(noProbes),
      facts: new Map([
        [APP, goodFacts()],
        [INIT, goodFacts({ healthcheck: false })],
      ]),
      expect: [],
    },
    {
      it: 'checks a sidecar init container',
      spec: withInit({ ...noProbes, restartPolicy: 'Always' }),
      facts: new Map([
        [APP, goodFacts()],
        [INIT, goodFacts({ healthcheck: false })],
      ]),
      expect: ['setup'],
      message: ['init container "setup"'],
    },
    {
      it: 'does not check batch pods',
      spec: noPodUser({ restartPolicy: 'Never', containers: [c(noProbes)] }),
      facts: appFacts({ healthcheck: false }),
      expect: [],
    },
    {
      it: 'reports nothing when the health check is not known',
      spec: noPodUser({ containers: [c(noProbes)] }),
      facts: appFacts({ healthcheck: undefined }),
      expect: [],
    },
  ],
  'image.secretEnv': [
    {
      it: 'passes ordinary env names, versions, checksums and key ids',
      spec: noPodUser(),
      facts: appFacts({
        envKeys: ['PATH', 'NGINX_VERSION', 'GPG_KEY', 'PYTHON_SHA256', 'DB_PASSWORD_FILE', 'TOKEN_URL'],
      }),
      expect: [],
    },
    {
      it: 'fails env names that hold credentials, naming each key',
      spec: noPodUser(),
      facts: appFacts({ envKeys: ['PATH', 'AWS_SECRET_ACCESS_KEY', 'githubToken', 'DB_PASSWORD'] }),
      expect: ['app'],
      message: [`"${APP}"`, '"AWS_SECRET_ACCESS_KEY", "githubToken", "DB_PASSWORD"'],
      absent: ['"PATH"'],
    },
    {
      it: 'fails keys that the analyzer flagged for their value',
      spec: noPodUser(),
      facts: appFacts({ envKeys: ['PATH', 'DATABASE_URL'], secretEnvKeys: ['DATABASE_URL'] }),
      expect: ['app'],
      message: ['"DATABASE_URL"'],
    },
    {
      it: 'reports a key flagged both ways once',
      spec: noPodUser(),
      facts: appFacts({ envKeys: ['API_TOKEN'], secretEnvKeys: ['API_TOKEN'] }),
      expect: ['app'],
      absent: ['"API_TOKEN", "API_TOKEN"'],
    },
    {
      it: 'uses the policy’s extra credential name patterns',
      spec: noPodUser(),
      facts: appFacts({ envKeys: ['STRIPE_LIVE'] }),
      rules: { secrets: { credentialNamePatterns: ['^stripe_'] } },
      expect: ['app'],
      message: ['"STRIPE_LIVE"'],
    },
    {
      it: 'checks init containers',
      spec: withInit({}),
      facts: new Map([
        [APP, goodFacts()],
        [INIT, goodFacts({ envKeys: ['REGISTRY_TOKEN'] })],
      ]),
      expect: ['setup'],
      message: ['init container "setup"', '"REGISTRY_TOKEN"'],
    },
  ],
  'image.size': [
    { it: 'passes an image below the default limit', spec: noPodUser(), facts: appFacts({}), expect: [] },
    {
      it: 'passes an image of exactly the limit',
      spec: noPodUser(),
      facts: appFacts({ sizeBytes: 1024 * 1_000_000 }),
      expect: [],
    },
    {
      it: 'fails an image above the default limit of 1024 MB, naming both sizes',
      spec: noPodUser(),
      facts: appFacts({ sizeBytes: 1_500_000_000 }),
      expect: ['app'],
      message: [`"${APP}"`, '1500 MB compressed', 'limit of 1024 MB'],
    },
    {
      it: 'never prints a size just above the limit as the limit',
      spec: noPodUser(),
      facts: appFacts({ sizeBytes: 1024 * 1_000_000 + 1 }),
      expect: ['app'],
      message: ['1024.1 MB'],
    },
    {
      it: 'uses spec.rules.image.maxSizeMB',
      spec: noPodUser(),
      facts: appFacts({ sizeBytes: 150_000_000 }),
      rules: { image: { maxSizeMB: 100 } },
      expect: ['app'],
      message: ['150 MB', 'limit of 100 MB'],
    },
    {
      it: 'checks init containers',
      spec: withInit({}),
      facts: new Map([
        [APP, goodFacts()],
        [INIT, goodFacts({ sizeBytes: 2_000_000_000 })],
      ]),
      expect: ['setup'],
      message: ['init container "setup"'],
    },
    {
      it: 'reports nothing when the size is not known',
      spec: noPodUser(),
      facts: appFacts({ sizeBytes: undefined }),
      rules: { image: { maxSizeMB: 1 } },
      expect: [],
    },
  ],
  'image.age': [
    { it: 'passes an image built 30 days ago', spec: noPodUser(), facts: appFacts({}), expect: [] },
    {
      it: 'passes an image 365 and a half days old under the default limit of 365 days',
      spec: noPodUser(),
      facts: appFacts({ created: daysAgo(365.5) }),
      expect: [],
    },
    {
      it: 'fails an image 366 days old, naming its age, date and the limit',
      spec: noPodUser(),
      facts: appFacts({ created: daysAgo(366) }),
      expect: ['app'],
      message: [`"${APP}"`, 'created 366 days ago (2024-05-31)', 'limit of 365 days'],
    },
    {
      it: 'uses spec.rules.image.maxAgeDays',
      spec: noPodUser(),
      facts: appFacts({ created: daysAgo(31) }),
      rules: { image: { maxAgeDays: 30 } },
      expect: ['app'],
      message: ['31 days ago', 'limit of 30 days'],
    },
    {
      it: 'measures age against the evaluation clock',
      spec: noPodUser(),
      facts: appFacts({ created: '2020-01-01T00:00:00Z' }),
      now: new Date('2020-06-01T00:00:00Z'),
      expect: [],
    },
    {
      it: 'does not report the 1970 creation time of reproducible builds',
      spec: noPodUser(),
      facts: appFacts({ created: '1970-01-01T00:00:00Z' }),
      expect: [],
    },
    {
      it: 'does not report the zero time of Go-built images',
      spec: noPodUser(),
      facts: appFacts({ created: '0001-01-01T00:00:00Z' }),
      expect: [],
    },
    {
      it: 'ignores an unreadable creation time',
      spec: noPodUser(),
      facts: appFacts({ created: 'yesterday' }),
      expect: [],
    },
    {
      it: 'checks init containers',
      spec: withInit({}),
      facts: new Map([
        [APP, goodFacts()],
        [INIT, goodFacts({ created: daysAgo(1000) })],
      ]),
      expect: ['setup'],
      message: ['init container "setup"', '1000 days ago'],
    },
  ],
};

describe('image configuration rules', () => {
  it('has a table of cases for every image configuration rule', () => {
    assert.deepEqual(Object.keys(TABLE).sort(), [...IMAGE_CONFIG_RULE_IDS].sort());
  });

  it('are in the catalog, in the image category; only image.healthcheck is optional', () => {
    for (const id of IMAGE_CONFIG_RULE_IDS) {
      const rule = RULES.find((r) => r.id === id);
      assert.ok(rule, id);
      assert.equal(rule.category, 'image');
      assert.equal(rule.optional === true, id === 'image.healthcheck', id);
    }
  });

  for (const [ruleId, cases] of Object.entries(TABLE)) {
    describe(ruleId, () => {
      it('has a passing and a failing case', () => {
        assert.ok(cases.some((k) => k.expect.length === 0));
        assert.ok(cases.some((k) => k.expect.length > 0));
      });
      for (const k of cases) {
        it(k.it, () => {
          const findings = findingsOf(ruleId, k.spec, k.facts, k.rules, k.now);
          assert.deepEqual(
            findings.map((f) => f.container ?? ''),
            k.expect,
            findings.map((f) => f.message).join('; '),
          );
          for (const f of findings) {
            assert.ok(f.message.includes(`"${f.container}"`), 'message names the container');
            assert.equal(f.category, 'image');
            for (const m of k.message ?? [])
              assert.ok(f.message.includes(m), `${f.message} should include ${m}`);
            for (const m of k.absent ?? [])
              assert.ok(!f.message.includes(m), `${f.message} should not include ${m}`);
          }
        });
      }
    });
  }
});

describe('image rules without image facts', () => {
  // A pod and facts that break every image configuration rule at once.
  const spec = noPodUser({ containers: [c(noProbes)] });
  const badFacts = goodFacts({
    user: '',
    healthcheck: false,
    envKeys: ['API_TOKEN'],
    secretEnvKeys: ['DATABASE_URL'],
    sizeBytes: 5_000_000_000,
    created: daysAgo(2000),
  });
  const all = (facts: ImageFactsSource | undefined): Finding[] =>
    evaluateWorkload(pod(spec), [policy({ rules: { enabled: ['image.healthcheck'] } })], facts, {
      now: NOW,
    }).filter((f) => IMAGE_CONFIG_RULE_IDS.includes(f.ruleId));

  it('reports every rule when the facts are known (the control case)', () => {
    assert.deepEqual(
      all(new Map([[APP, badFacts]]))
        .map((f) => f.ruleId)
        .sort(),
      [...IMAGE_CONFIG_RULE_IDS].sort(),
    );
  });

  it('reports nothing when no facts source is given', () => {
    assert.deepEqual(all(undefined), []);
  });

  it('reports nothing for an image missing from the facts (not analysed yet, or analysis failed)', () => {
    assert.deepEqual(all(new Map([['ghcr.io/example/other:1', badFacts]])), []);
  });

  it('reports nothing when the lookup function knows nothing', () => {
    assert.deepEqual(
      all(() => undefined),
      [],
    );
  });

  it('reports nothing for facts with no fields known', () => {
    assert.deepEqual(all(new Map([[APP, {}]])), []);
  });

  it('looks facts up by the image reference as written in the pod spec', () => {
    const asked = new Set<string>();
    const found = all((image) => {
      asked.add(image);
      return image === APP ? badFacts : undefined;
    });
    assert.deepEqual([...asked], [APP]);
    assert.equal(found.length, IMAGE_CONFIG_RULE_IDS.length);
  });

  it('leaves image.healthcheck off unless the policy enables it', () => {
    const findings = evaluateWorkload(pod(spec), [policy()], new Map([[APP, badFacts]]), { now: NOW });
    assert.ok(findings.some((f) => f.ruleId === 'image.runsAsRoot'));
    assert.ok(!findings.some((f) => f.ruleId === 'image.healthcheck'));
  });
});

describe('image rule settings', () => {
  it('default to 1024 MB and 365 days', () => {
    const compiled = compilePolicy(policy());
    assert.equal(compiled.spec.rules?.image?.maxSizeMB, 1024);
    assert.equal(compiled.spec.rules?.image?.maxAgeDays, 365);
  });

  it('are accepted by the schema within their bounds', () => {
    const spec = { rules: { image: { maxSizeMB: 500, maxAgeDays: 90 } } };
    assert.deepEqual(validateAgainstSchema(policySpecSchema(true), spec, 'spec'), []);
  });

  it('are refused by the schema at zero, below zero, above the bounds, or fractional', () => {
    for (const image of [
      { maxSizeMB: 0 },
      { maxSizeMB: -5 },
      { maxSizeMB: 2_000_000 },
      { maxSizeMB: 1.5 },
      { maxAgeDays: 0 },
      { maxAgeDays: 100_000 },
    ]) {
      const problems = validateAgainstSchema(policySpecSchema(false), { rules: { image } }, 'spec');
      const field = Object.keys(image)[0]!;
      assert.ok(
        problems.some((p) => p.path === `spec.rules.image.${field}`),
        `${JSON.stringify(image)}: ${JSON.stringify(problems)}`,
      );
    }
  });
});

describe('image user', () => {
  it('is root for no user, root and uid 0, with or without a group', () => {
    for (const user of ['', ' ', 'root', '0', '00', 'root:root', '0:1000'])
      assert.ok(isRootImageUser(user), user);
  });

  it('is not root for other names and uids', () => {
    for (const user of ['nobody', '1000', '1000:0', '10', 'rooty', 'app:root'])
      assert.ok(!isRootImageUser(user), user);
  });
});
