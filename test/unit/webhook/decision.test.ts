// The admission decision: Enforce denies with every violation named, Warn
// admits with capped warnings, Audit is not evaluated, dry-run is answered as
// a real request, the uid is echoed, and unchanged templates are not re-judged.
import assert from 'node:assert/strict';
import type { V1PodSpec } from '@kubernetes/client-node';
import type {
  ClusterSecurityPolicy,
  EnforcementMode,
  SecurityPolicySpec,
} from '../../../src/api/policy-types.js';
import { RULES } from '../../../src/policy/index.js';
import type { Finding } from '../../../src/policy/finding.js';
import {
  decideAdmission,
  denyMessage,
  IMAGE_FACT_RULES,
  MAX_DENY_MESSAGE,
} from '../../../src/webhook/decision.js';
import { parseAdmissionReview, type AdmissionRequest } from '../../../src/webhook/review.js';
import { MAX_WARNING_LENGTH, MAX_WARNINGS_TOTAL, warningsFor } from '../../../src/webhook/warnings.js';
import { goodContainer, goodPodSpec } from '../policy/helpers.js';

let policies = 0;
function policy(
  enforcement: EnforcementMode,
  spec: SecurityPolicySpec = {},
  name = enforcement.toLowerCase(),
): ClusterSecurityPolicy {
  return {
    apiVersion: 'shipshape.dev/v1alpha1',
    kind: 'ClusterSecurityPolicy',
    // A fresh uid each: compilePolicy caches by uid and generation.
    metadata: { name, uid: `uid-${name}-${++policies}`, generation: 1 },
    spec: { enforcement, ...spec },
  };
}

const badSpec = (): V1PodSpec =>
  goodPodSpec({
    containers: [goodContainer({ image: 'ghcr.io/example/app:latest', securityContext: { runAsUser: 0 } })],
  });

function deploymentRequest(spec: V1PodSpec, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: 'req-7f3a',
    kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    operation: 'CREATE',
    namespace: 'shop',
    name: 'web',
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec },
      },
    },
    ...extra,
  };
}

describe('admission decision', () => {
  it('denies a violating Deployment under an Enforce policy, naming rule, container and fix', () => {
    const d = decideAdmission(deploymentRequest(badSpec()), { policies: [policy('Enforce')] });
    assert.equal(d.result, 'denied');
    assert.equal(d.response.allowed, false);
    assert.equal(d.response.uid, 'req-7f3a');
    assert.equal(d.response.status?.code, 403);
    const message = d.response.status?.message ?? '';
    assert.match(message, /Deployment "web" violates/);
    assert.match(message, /\[image\.tag\] policy enforce: container "app"/);
    assert.match(message, /\[securityContext\.runAsUser\]/);
    assert.match(message, /Fix: /);
  });

  it('admits a compliant Deployment under an Enforce policy without warnings', () => {
    const d = decideAdmission(deploymentRequest(goodPodSpec()), { policies: [policy('Enforce')] });
    assert.equal(d.result, 'allowed');
    assert.deepEqual(d.response, { uid: 'req-7f3a', allowed: true });
  });

  it('admits with warnings under a Warn policy', () => {
    const d = decideAdmission(deploymentRequest(badSpec()), { policies: [policy('Warn')] });
    assert.equal(d.result, 'warned');
    assert.equal(d.response.allowed, true);
    assert.ok(
      d.response.warnings?.some((w) => w.includes('[image.tag] (policy warn)')),
      String(d.response.warnings),
    );
  });

  it('does not evaluate Audit policies at admission', () => {
    const d = decideAdmission(deploymentRequest(badSpec()), { policies: [policy('Audit')] });
    assert.equal(d.result, 'skipped');
    assert.deepEqual(d.response, { uid: 'req-7f3a', allowed: true });
  });

  it('answers a dry-run request exactly like a real one', () => {
    const real = decideAdmission(deploymentRequest(badSpec()), { policies: [policy('Enforce')] });
    const dry = decideAdmission(deploymentRequest(badSpec(), { dryRun: true }), {
      policies: [policy('Enforce')],
    });
    assert.deepEqual(dry.response, real.response);
  });

  it('denies under Enforce and still carries the warnings of Warn policies', () => {
    const d = decideAdmission(deploymentRequest(badSpec()), {
      policies: [policy('Enforce'), policy('Warn')],
    });
    assert.equal(d.response.allowed, false);
    assert.ok((d.response.warnings?.length ?? 0) > 0);
    assert.doesNotMatch(d.response.status?.message ?? '', /policy warn/);
  });

  it('judges the pod template of every workload kind it registers', () => {
    const template = { metadata: { labels: { app: 'x' } }, spec: badSpec() };
    const kinds: [string, string, Record<string, unknown>][] = [
      ['', 'Pod', badSpec() as unknown as Record<string, unknown>],
      ['apps', 'StatefulSet', { template }],
      ['apps', 'DaemonSet', { template }],
      ['apps', 'ReplicaSet', { template }],
      ['batch', 'Job', { template }],
      ['batch', 'CronJob', { schedule: '* * * * *', jobTemplate: { spec: { template } } }],
    ];
    for (const [group, kind, spec] of kinds) {
      const d = decideAdmission(
        {
          uid: kind,
          kind: { group, version: 'v1', kind },
          operation: 'CREATE',
          namespace: 'shop',
          object: { apiVersion: 'v1', kind, metadata: { name: 'x', namespace: 'shop' }, spec },
        },
        { policies: [policy('Enforce')] },
      );
      assert.equal(d.result, 'denied', kind);
      assert.equal(d.response.uid, kind);
    }
  });

  it('re-judges an UPDATE that changes the template, and not one that only scales', () => {
    const old = deploymentRequest(badSpec()).object!;
    const scaled = structuredClone(old) as typeof old & { spec: { replicas?: number } };
    scaled.spec.replicas = 5;
    const scale = decideAdmission(
      deploymentRequest(badSpec(), { operation: 'UPDATE', object: scaled, oldObject: old }),
      {
        policies: [policy('Enforce')],
      },
    );
    assert.equal(scale.result, 'skipped');
    const fixed = deploymentRequest(goodPodSpec()).object!;
    const broke = decideAdmission(deploymentRequest(badSpec(), { operation: 'UPDATE', oldObject: fixed }), {
      policies: [policy('Enforce')],
    });
    assert.equal(broke.result, 'denied');
  });

  it('admits DELETE, subresources, deleting objects, other kinds and excluded namespaces untouched', () => {
    const policies = [policy('Enforce')];
    const base = deploymentRequest(badSpec());
    const cases: AdmissionRequest[] = [
      { ...base, operation: 'DELETE' },
      { ...base, subResource: 'scale' },
      { ...base, object: { ...base.object!, metadata: { name: 'web', deletionTimestamp: new Date() } } },
      { ...base, kind: { group: '', version: 'v1', kind: 'ConfigMap' } },
    ];
    for (const request of cases) assert.equal(decideAdmission(request, { policies }).result, 'skipped');
    const own = decideAdmission(base, { policies, excludedNamespaces: new Set(['shop']) });
    assert.equal(own.result, 'skipped');
  });

  it('uses the namespace labels for cluster policy namespace selectors', () => {
    const p = policy('Enforce', { match: { namespaceSelector: { matchLabels: { tier: 'prod' } } } });
    assert.equal(decideAdmission(deploymentRequest(badSpec()), { policies: [p] }).result, 'skipped');
    assert.equal(
      decideAdmission(deploymentRequest(badSpec()), { policies: [p], namespaceLabels: { tier: 'prod' } })
        .result,
      'denied',
    );
  });

  it('skips the rules another layer (a ValidatingAdmissionPolicy) already enforces', () => {
    const d = decideAdmission(deploymentRequest(badSpec()), {
      policies: [policy('Enforce')],
      skipRule: (_, ruleId) => ruleId !== 'image.tag',
    });
    assert.equal(d.result, 'denied');
    assert.deepEqual(new Set(d.findings.map((f) => f.ruleId)), new Set(['image.tag']));
  });

  describe('images without facts', () => {
    const withImageRule = (onImageUnknown?: 'Allow' | 'Deny') =>
      policy('Enforce', {
        ...(onImageUnknown ? { onImageUnknown } : {}),
        rules: { enabled: ['image.runsAsRoot'] },
      });

    it('names every image-fact rule id from the catalog', () => {
      const ids = new Set(RULES.map((r) => r.id));
      for (const id of IMAGE_FACT_RULES) assert.ok(ids.has(id), id);
    });

    it('admits by default (onImageUnknown: Allow) and reports the unknown image', () => {
      const d = decideAdmission(deploymentRequest(goodPodSpec()), { policies: [withImageRule()] });
      assert.equal(d.response.allowed, true);
      assert.deepEqual(d.unknownImages, ['ghcr.io/example/app:1.2.3']);
    });

    it('denies with onImageUnknown: Deny', () => {
      const d = decideAdmission(deploymentRequest(goodPodSpec()), { policies: [withImageRule('Deny')] });
      assert.equal(d.response.allowed, false);
      assert.match(d.response.status?.message ?? '', /admission\.imageUnknown.*could not be analysed/);
    });

    it('judges by the facts once they are known', () => {
      const facts = new Map([['ghcr.io/example/app:1.2.3', { user: '' }]]);
      const spec = goodPodSpec();
      const d = decideAdmission(deploymentRequest(spec), {
        policies: [withImageRule('Deny')],
        imageFacts: facts,
      });
      assert.deepEqual(d.unknownImages, []);
      assert.equal(d.response.allowed, false);
      assert.match(d.response.status?.message ?? '', /\[image\.runsAsRoot\]/);
    });
  });
});

describe('deny message', () => {
  const finding = (i: number): Finding => ({
    ruleId: 'image.tag',
    title: 't',
    severity: 'High',
    category: 'image',
    policy: 'p',
    container: `c${i}`,
    message: `container "c${i}" uses a mutable tag\nwith a newline`,
    remediation: 'pin a version',
  });

  it('stays within its bound and says how many it left out', () => {
    const message = denyMessage(
      'Deployment "x"',
      Array.from({ length: 500 }, (_, i) => finding(i)),
    );
    assert.ok(message.length <= MAX_DENY_MESSAGE, String(message.length));
    assert.match(message, /\.\.\. and \d+ more/);
    assert.doesNotMatch(message.split('\n')[1] ?? '', /\n/);
  });
});

describe('admission warnings', () => {
  const finding = (message: string): Finding => ({
    ruleId: 'securityContext.runAsNonRoot',
    title: 't',
    severity: 'High',
    category: 'securityContext',
    policy: 'team/warn',
    message,
    remediation: 'r',
  });

  it('cuts each warning to 256 characters', () => {
    const [w] = warningsFor([finding('x'.repeat(1000))], 'Pod "p"');
    assert.equal(w?.length, MAX_WARNING_LENGTH);
    assert.ok(w?.endsWith('…'));
  });

  it('keeps the total within 4,096 characters and summarises the rest', () => {
    const many = Array.from({ length: 100 }, (_, i) => finding(`container "c${i}" ${'y'.repeat(200)}`));
    const warnings = warningsFor(many, 'Pod "p"');
    const total = warnings.reduce((n, w) => n + w.length, 0);
    assert.ok(total <= MAX_WARNINGS_TOTAL, String(total));
    assert.ok(warnings.every((w) => w.length <= MAX_WARNING_LENGTH));
    const shown = warnings.length - 1;
    assert.match(warnings.at(-1) ?? '', new RegExp(`and ${100 - shown} more violations`));
  });

  it('lists every warning when they fit', () => {
    assert.equal(warningsFor([finding('a'), finding('b')], 'Pod "p"').length, 2);
  });

  it('removes control characters a tenant put in names', () => {
    const [w] = warningsFor([finding('container "a\r\nX-Injected: 1"')], 'Pod "p"');
    assert.doesNotMatch(w ?? '', /[\r\n]/);
  });
});

describe('AdmissionReview parsing', () => {
  it('accepts a v1 review and refuses other shapes with a reason', () => {
    const ok = parseAdmissionReview({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: 'u', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE' },
    });
    assert.ok('request' in ok);
    const cases: [unknown, RegExp][] = [
      [[], /not a JSON object/],
      [{ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview' }, /admission\.k8s\.io\/v1/],
      [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /no request/],
      [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { kind: {} } }, /uid/],
      [
        {
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: { uid: 'u', kind: { version: 'v1', kind: 'Pod' }, operation: 'PATCH' },
        },
        /operation/,
      ],
    ];
    for (const [body, reason] of cases) {
      const parsed = parseAdmissionReview(body);
      assert.ok('error' in parsed && reason.test(parsed.error), JSON.stringify(parsed));
    }
  });
});
