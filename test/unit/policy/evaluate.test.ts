// Evaluation of workloads against policies: templates of every workload kind,
// policy matching, exceptions, overrides and the Pod Security Standards.
import assert from 'node:assert/strict';
import type { V1PodSpec } from '@kubernetes/client-node';
import type { SecurityPolicy } from '../../../src/api/policy-types.js';
import { compilePolicy } from '../../../src/policy/compile.js';
import { defaultPolicy } from '../../../src/policy/default-policy.js';
import { evaluateWorkload } from '../../../src/policy/evaluate.js';
import { compileGlob } from '../../../src/policy/glob.js';
import { parseContainerImage } from '../../../src/policy/container-image.js';
import { policyAppliesTo } from '../../../src/policy/match.js';
import { podTemplateOf } from '../../../src/policy/workload.js';
import { goodContainer, goodPodSpec, pod, policy } from './helpers.js';

const template = (spec: V1PodSpec) => ({ metadata: { labels: { app: 'x' } }, spec });

describe('podTemplateOf', () => {
  const spec = goodPodSpec();
  const cases: [string, Record<string, unknown>][] = [
    ['Deployment', { template: template(spec) }],
    ['StatefulSet', { template: template(spec) }],
    ['DaemonSet', { template: template(spec) }],
    ['ReplicaSet', { template: template(spec) }],
    ['ReplicationController', { template: template(spec) }],
    ['Job', { template: template(spec) }],
    ['CronJob', { jobTemplate: { spec: { template: template(spec) } } }],
  ];
  for (const [kind, workloadSpec] of cases) {
    it(`finds the pod template of a ${kind}`, () => {
      const t = podTemplateOf({ apiVersion: 'apps/v1', kind, metadata: { name: 'w' }, spec: workloadSpec });
      assert.equal(t?.spec, spec);
      assert.deepEqual(t?.metadata.labels, { app: 'x' });
    });
  }

  it('uses a Pod’s own metadata and spec', () => {
    assert.equal(podTemplateOf(pod(spec))?.spec, spec);
  });

  it('returns nothing for kinds without pods', () => {
    assert.equal(podTemplateOf({ apiVersion: 'v1', kind: 'Service', metadata: {}, spec: {} }), undefined);
  });

  it('evaluates a CronJob the same way as its pod', () => {
    const bad = goodPodSpec({ containers: [goodContainer({ image: 'nginx' })] });
    const cron = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c', namespace: 'default' },
      spec: { jobTemplate: { spec: { template: template(bad) } } },
    };
    const ids = (w: Parameters<typeof evaluateWorkload>[0]) =>
      evaluateWorkload(w, [policy()]).map((f) => f.ruleId);
    assert.deepEqual(ids(cron), ids(pod(bad)));
  });
});

describe('image references', () => {
  it('normalizes Docker Hub names', () => {
    assert.equal(parseContainerImage('nginx').normalized, 'docker.io/library/nginx');
    assert.equal(parseContainerImage('bitnami/redis:7').normalized, 'docker.io/bitnami/redis:7');
  });

  it('splits registry with port, tag and digest', () => {
    const ref = parseContainerImage(`localhost:5000/a/b:1.0@sha256:${'c'.repeat(64)}`);
    assert.deepEqual([ref.registry, ref.repository, ref.tag], ['localhost:5000', 'a/b', '1.0']);
    assert.equal(ref.digest, `sha256:${'c'.repeat(64)}`);
  });

  it('keeps * within a segment and lets ** cross segments', () => {
    assert.ok(compileGlob('ghcr.io/*')('ghcr.io/x'));
    assert.ok(!compileGlob('ghcr.io/*')('ghcr.io/x/y'));
    assert.ok(compileGlob('ghcr.io/**')('ghcr.io/x/y:1'));
    assert.ok(compileGlob('a/**/b')('a/b'));
  });
});

describe('policyAppliesTo', () => {
  const namespaced: SecurityPolicy = {
    apiVersion: 'shipshape.dev/v1alpha1',
    kind: 'SecurityPolicy',
    metadata: { name: 'p', namespace: 'team-a' },
    spec: { match: { podSelector: { matchLabels: { tier: 'web' } } } },
  };

  it('applies a SecurityPolicy only in its own namespace', () => {
    assert.ok(policyAppliesTo(namespaced, { namespace: 'team-a', labels: { tier: 'web' } }));
    assert.ok(!policyAppliesTo(namespaced, { namespace: 'team-b', labels: { tier: 'web' } }));
  });

  it('honours the pod selector', () => {
    assert.ok(!policyAppliesTo(namespaced, { namespace: 'team-a', labels: { tier: 'db' } }));
  });

  it('selects namespaces of a cluster policy by labels and exclusions', () => {
    const p = policy({
      match: {
        namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] },
        excludedNamespaces: ['kube-system'],
      },
    });
    assert.ok(policyAppliesTo(p, { namespace: 'shop', namespaceLabels: { env: 'prod' } }));
    assert.ok(!policyAppliesTo(p, { namespace: 'shop', namespaceLabels: { env: 'dev' } }));
    assert.ok(!policyAppliesTo(p, { namespace: 'kube-system', namespaceLabels: { env: 'prod' } }));
  });

  it('matches namespaces by name through kubernetes.io/metadata.name', () => {
    const p = policy({
      match: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } } },
    });
    assert.ok(policyAppliesTo(p, { namespace: 'shop' }));
    assert.ok(!policyAppliesTo(p, { namespace: 'other' }));
  });

  it('filters by workload kind, images and excluded pods', () => {
    const p = policy({
      match: {
        kinds: ['Deployment'],
        images: ['ghcr.io/**'],
        exclude: { podSelector: { matchLabels: { skip: 'yes' } } },
      },
    });
    assert.ok(policyAppliesTo(p, { namespace: 'n', kind: 'Deployment', images: ['ghcr.io/a/b:1'] }));
    assert.ok(!policyAppliesTo(p, { namespace: 'n', kind: 'Job', images: ['ghcr.io/a/b:1'] }));
    assert.ok(!policyAppliesTo(p, { namespace: 'n', kind: 'Deployment', images: ['quay.io/a/b:1'] }));
    assert.ok(!policyAppliesTo(p, { namespace: 'n', kind: 'Deployment', labels: { skip: 'yes' } }));
  });
});

describe('evaluateWorkload', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const badImage = pod(
    goodPodSpec({
      containers: [
        goodContainer({ image: 'nginx' }),
        goodContainer({ name: 'side', image: 'ghcr.io/x/side' }),
      ],
    }),
  );

  it('reports nothing for a compliant pod under the default policy', () => {
    assert.deepEqual(evaluateWorkload(pod(goodPodSpec()), [defaultPolicy()]), []);
  });

  it('names the policy, container and image of each finding', () => {
    const [f] = evaluateWorkload(badImage, [policy({}, 'base')]);
    assert.deepEqual(
      [f?.ruleId, f?.policy, f?.container, f?.image, f?.severity],
      ['image.tag', 'base', 'app', 'nginx', 'Medium'],
    );
  });

  it('reports each policy’s findings under its own name', () => {
    const findings = evaluateWorkload(badImage, [policy({}, 'a'), policy({}, 'b')]);
    assert.deepEqual(
      findings.map((f) => f.policy),
      ['a', 'a', 'b', 'b'],
    );
  });

  it('checks only containers whose image the policy matches', () => {
    const findings = evaluateWorkload(badImage, [policy({ match: { images: ['ghcr.io/**'] } })]);
    assert.deepEqual(
      findings.map((f) => f.container),
      ['side'],
    );
  });

  it('skips disabled rules and applies severity overrides', () => {
    assert.deepEqual(evaluateWorkload(badImage, [policy({ rules: { disabled: ['image.tag'] } })]), []);
    const [f] = evaluateWorkload(badImage, [
      policy({ rules: { severityOverrides: [{ rule: 'image.tag', severity: 'Critical' }] } }),
    ]);
    assert.equal(f?.severity, 'Critical');
  });

  it('drops findings covered by an unexpired exception, and only those', () => {
    const exception = {
      name: 'e',
      rules: ['image.*'],
      containers: ['app'],
      reason: 'r',
      expires: '2026-06-01T00:00:00Z',
    };
    const findings = evaluateWorkload(badImage, [policy({ exceptions: [exception] })], undefined, { now });
    assert.deepEqual(
      findings.map((f) => f.container),
      ['side'],
    );
    const expired = evaluateWorkload(
      badImage,
      [policy({ exceptions: [{ ...exception, expires: '2025-01-01T00:00:00Z' }] })],
      undefined,
      { now },
    );
    assert.equal(expired.length, 2);
  });

  it('reports Pod Security Standards violations as pss.<check>', () => {
    const spec = goodPodSpec({ hostNetwork: true, securityContext: {} });
    const findings = evaluateWorkload(pod(spec), [
      policy({
        podSecurity: { level: 'restricted' },
        rules: {
          disabled: [
            'securityContext.hostNamespaces',
            'securityContext.runAsNonRoot',
            'securityContext.seccomp',
          ],
        },
      }),
    ]);
    const ids = findings.map((f) => f.ruleId).sort();
    assert.ok(ids.includes('pss.hostNamespaces'), ids.join());
    assert.ok(ids.includes('pss.runAsNonRoot'), ids.join());
    const host = findings.find((f) => f.ruleId === 'pss.hostNamespaces')!;
    assert.equal(host.severity, 'High');
    assert.match(host.message, /host namespaces/);
  });

  it('runs only baseline checks for the baseline level', () => {
    const spec = goodPodSpec({ securityContext: {} });
    const findings = evaluateWorkload(pod(spec), [policy({ podSecurity: { level: 'baseline' } })]);
    assert.ok(!findings.some((f) => f.ruleId.startsWith('pss.')));
  });

  it('evaluates the same policy object once per generation', () => {
    const p = policy({});
    p.metadata.uid = 'u1';
    p.metadata.generation = 1;
    assert.equal(compilePolicy(p), compilePolicy(structuredClone(p)));
  });

  it('reports a policy setting the engine cannot use instead of failing', () => {
    const p = compilePolicy(policy({ rules: { secrets: { credentialNamePatterns: ['(?=x)y'] } } }));
    // Both rules that read spec.rules.secrets.credentialNamePatterns are skipped, and say so.
    assert.deepEqual(p.problems.map((m) => m.split(' ')[1]).sort(), [
      'image.secretEnv',
      'secrets.envLiteral',
    ]);
  });
});
