// Admission over live state: policies and namespace labels from the cache,
// and on an image cache miss a wait bounded by the budget, then the policy's
// onImageUnknown choice.
import assert from 'node:assert/strict';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ImageStatus } from '../../../src/image/image-service.js';
import type { ImageFacts } from '../../../src/policy/image-facts.js';
import { AdmissionReviewer, type AdmissionImages } from '../../../src/webhook/reviewer.js';
import type { AdmissionRequest } from '../../../src/webhook/review.js';
import { goodPodSpec } from '../policy/helpers.js';

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

describe('admission reviewer', () => {
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
});
