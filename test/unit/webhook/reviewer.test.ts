// Admission over live state: policies and namespace labels from the cache,
// and on an image cache miss a wait bounded by the budget, then the policy's
// onImageUnknown choice; a signature requirement waits the same way for the
// first verification of a first-seen image.
import assert from 'node:assert/strict';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ImageStatus } from '../../../src/image/image-service.js';
import type { ImageFacts } from '../../../src/policy/image-facts.js';
import { AdmissionReviewer, type AdmissionImages } from '../../../src/webhook/reviewer.js';
import type { AdmissionRequest } from '../../../src/webhook/review.js';
import { goodPodSpec } from '../policy/helpers.js';
import type { VexSource } from '../../../src/controllers/workload/vex.js';

let uid = 0;
const policy = (onImageUnknown: 'Allow' | 'Deny') => ({
  apiVersion: 'shipshape.dev/v1alpha1',
  kind: 'SecurityPolicy',
  metadata: { name: 'p', namespace: 'shop', uid: `p${++uid}`, generation: 1 },
  spec: { enforcement: 'Enforce', onImageUnknown, rules: { enabled: ['image.runsAsRoot'] } },
});

function store(policies: KubernetesObject[]) {
  return {
    get: () => undefined,
    list: <T extends KubernetesObject>(kind: string) => (kind === 'SecurityPolicy' ? policies : []) as T[],
  };
}

/** An image service whose analysis finishes `afterMs` after the first question. */
function images(afterMs: number, facts: ImageFacts): AdmissionImages & { asked: number } {
  let started: number | undefined;
  const status = (): ImageStatus => {
    started ??= Date.now();
    return Date.now() - started >= afterMs
      ? {
          state: 'Analyzed',
          digest: 'sha256:1',
          facts,
          summary: { digest: 'sha256:1', manifestDigest: 'sha256:1', packages: 0 },
        }
      : { state: 'Pending' };
  };
  const service = {
    asked: 0,
    statusOf: () => {
      service.asked++;
      return status();
    },
    factsSource: () => (image: string) => {
      void image;
      const s = status();
      return s.state === 'Analyzed' ? s.facts : undefined;
    },
  };
  return service;
}

const request: AdmissionRequest = {
  uid: 'u1',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  operation: 'CREATE',
  namespace: 'shop',
  object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' }, spec: goodPodSpec() },
};

const signingPolicy = (onImageUnknown: 'Allow' | 'Deny') => ({
  apiVersion: 'shipshape.dev/v1alpha1',
  kind: 'SecurityPolicy',
  metadata: { name: 'signed', namespace: 'shop', uid: `s${++uid}`, generation: 1 },
  spec: {
    enforcement: 'Enforce',
    onImageUnknown,
    signatures: {
      required: true,
      attestors: [{ name: 'release', publicKeyRef: { name: 'release-key', key: 'cosign.pub' } }],
    },
  },
});

/** Analysed at once; the signature verdict arrives `afterMs` after the first question. */
function signedImages(
  afterMs: number,
  verdict: 'Verified' | 'Unsigned',
): AdmissionImages & { verified: string[] } {
  const base = images(0, {});
  let started: number | undefined;
  const verified: string[] = [];
  return {
    ...base,
    verified,
    signatures: {
      defaults: {},
      verdictOf: (_ns, _spec, image, digest) => {
        started ??= Date.now();
        verified.push(`${image}@${digest}`);
        return Date.now() - started >= afterMs ? { verdict, message: `test ${verdict}` } : undefined;
      },
    },
  };
}

describe('admission reviewer', () => {
  it('waits for the first signature verification of a first-seen image and judges by its verdict', async () => {
    for (const [verdict, allowed] of [
      ['Verified', true],
      ['Unsigned', false],
    ] as const) {
      const service = signedImages(60, verdict);
      const reviewer = new AdmissionReviewer({
        store: store([signingPolicy('Deny') as KubernetesObject]),
        images: service,
        excludedNamespaces: new Set(),
        imageBudgetMs: 1000,
        pollMs: 5,
      });
      const started = Date.now();
      const d = await reviewer.review(request);
      assert.ok(Date.now() - started >= 50, verdict);
      assert.equal(d.response.allowed, allowed, `${verdict}: ${d.response.status?.message ?? ''}`);
      assert.equal(
        d.findings.some((f) => f.ruleId === 'signatures.verified'),
        !allowed,
        verdict,
      );
      assert.ok(
        service.verified.every((v) => v.endsWith('@sha256:1')),
        'asked by the analysed digest',
      );
    }
  });

  it('answers a verification that does not finish in time by onImageUnknown', async () => {
    for (const [choice, allowed] of [
      ['Allow', true],
      ['Deny', false],
    ] as const) {
      const reviewer = new AdmissionReviewer({
        store: store([signingPolicy(choice) as KubernetesObject]),
        images: signedImages(10_000, 'Verified'),
        excludedNamespaces: new Set(),
        imageBudgetMs: 80,
        pollMs: 5,
      });
      const d = await reviewer.review(request);
      assert.equal(d.response.allowed, allowed, choice);
      if (!allowed) assert.ok(d.findings.some((f) => f.ruleId === 'admission.imageUnknown'));
    }
  });

  it('waits for an analysis that finishes within the budget and judges by its facts', async () => {
    const reviewer = new AdmissionReviewer({
      store: store([policy('Allow') as KubernetesObject]),
      images: images(60, { user: 'root' }),
      excludedNamespaces: new Set(),
      imageBudgetMs: 1000,
      pollMs: 5,
    });
    const started = Date.now();
    const d = await reviewer.review(request);
    assert.ok(Date.now() - started >= 50);
    assert.equal(d.response.allowed, false);
    assert.ok(d.findings.some((f) => f.ruleId === 'image.runsAsRoot'));
  });

  it('answers by onImageUnknown once the budget is spent', async () => {
    for (const [choice, allowed] of [
      ['Allow', true],
      ['Deny', false],
    ] as const) {
      const reviewer = new AdmissionReviewer({
        store: store([policy(choice) as KubernetesObject]),
        images: images(10_000, { user: 'root' }),
        excludedNamespaces: new Set(),
        imageBudgetMs: 80,
        pollMs: 5,
      });
      const started = Date.now();
      const d = await reviewer.review(request);
      const took = Date.now() - started;
      assert.ok(took >= 75 && took < 500, String(took));
      assert.equal(d.response.allowed, allowed, choice);
    }
  });

  it('does not wait when no Warn/Enforce policy needs image facts', async () => {
    const reviewer = new AdmissionReviewer({
      store: store([]),
      images: images(10_000, {}),
      excludedNamespaces: new Set(),
      imageBudgetMs: 5_000,
    });
    const started = Date.now();
    assert.equal((await reviewer.review(request)).result, 'skipped');
    assert.ok(Date.now() - started < 100);
  });

  describe('with OpenVEX statements', () => {
    const vulnerable: ImageFacts = {
      digest: 'sha256:1',
      vulnerabilities: { Critical: 1 },
      vulnerabilityFindings: [
        {
          id: 'CVE-2026-0001',
          aliases: [],
          severity: { level: 'CRITICAL' },
          package: { name: 'openssl', purl: 'pkg:deb/debian/libssl3@3.0.1-1' },
          installedVersion: '3.0.1-1',
          fixedVersions: ['3.0.2-1'],
        },
      ],
    };
    const vexPolicy = {
      apiVersion: 'shipshape.dev/v1alpha1',
      kind: 'SecurityPolicy',
      metadata: { name: 'vex', namespace: 'shop', uid: `p${++uid}`, generation: 1 },
      spec: {
        enforcement: 'Enforce',
        vulnerabilities: { vex: { configMapRef: { name: 'vex', key: 'openvex.json' } } },
      },
    } as KubernetesObject;
    const notAffected: VexSource = {
      read: (ref) => {
        assert.deepEqual(ref, {
          namespace: 'shop',
          name: 'vex',
          key: 'openvex.json',
          sourceKey: 'shop/vex/openvex.json',
        });
        return Promise.resolve({
          statements: [
            {
              vulnerabilities: ['CVE-2026-0001'],
              products: [{ id: 'sha256:1', subcomponents: [] }],
              status: 'not_affected',
              justification: 'component_not_present',
              source: 'ConfigMap shop/vex key openvex.json',
            },
          ],
        });
      },
    };
    const review = (vex: VexSource | undefined) =>
      new AdmissionReviewer({
        store: store([vexPolicy]),
        images: images(0, vulnerable),
        excludedNamespaces: new Set(),
        imageBudgetMs: 100,
        ...(vex === undefined ? {} : { vex }),
        vexBudgetMs: 50,
      }).review(request);

    it('denies a critical vulnerability, and admits it when the policy VEX says not_affected', async () => {
      assert.equal((await review(undefined)).response.allowed, false);
      assert.equal((await review(notAffected)).response.allowed, true);
    });

    it('suppresses nothing when the VEX document does not come within its budget', async () => {
      const stalled: VexSource = { read: () => new Promise(() => undefined) };
      const started = Date.now();
      assert.equal((await review(stalled)).response.allowed, false);
      assert.ok(Date.now() - started < 1000);
    });

    it('keeps the VEX suppression when a signature policy merges its verdicts into the facts', async () => {
      // One policy with both: its own VEX statements must survive the signature verdicts' merge.
      const signing = signingPolicy('Deny');
      const signedVexPolicy = {
        ...vexPolicy,
        // Its own uid: compiled policies are cached by uid and generation.
        metadata: { ...signing.metadata, name: 'vex' },
        spec: {
          ...signing.spec,
          vulnerabilities: { vex: { configMapRef: { name: 'vex', key: 'openvex.json' } } },
        },
      } as KubernetesObject;
      const asked: string[] = [];
      const verified: AdmissionImages = {
        ...images(0, vulnerable),
        signatures: {
          defaults: {},
          verdictOf: (_ns, _spec, image) => {
            asked.push(image);
            return { verdict: 'Verified', message: 'test Verified' };
          },
        },
      };
      const reviewWith = (vex: VexSource | undefined) =>
        new AdmissionReviewer({
          store: store([signedVexPolicy]),
          images: verified,
          excludedNamespaces: new Set(),
          imageBudgetMs: 100,
          ...(vex === undefined ? {} : { vex }),
          vexBudgetMs: 50,
        }).review(request);
      const strict = await reviewWith(undefined);
      assert.equal(strict.response.allowed, false);
      assert.ok(strict.findings.some((f) => f.ruleId === 'vulnerabilities.critical'));
      const suppressed = await reviewWith(notAffected);
      assert.equal(suppressed.response.allowed, true, suppressed.response.status?.message ?? '');
      assert.ok(!suppressed.findings.some((f) => f.ruleId === 'signatures.verified'));
      assert.ok(asked.length > 0, 'the signature verdict was consulted');
    });
  });
});
