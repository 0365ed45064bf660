// The ImageReport reconciler: a report the API server would refuse for good is not
// only logged — the workloads that run the digest hear of it (reportRefused, which
// the manager turns into a Warning Event on each of them).
import { strict as assert } from 'node:assert';
import type { ImageRecord } from '../../../../src/image/image-service.js';
import { ImageReconciler } from '../../../../src/controllers/image/reconciler.js';
import { TerminalError } from '../../../../src/runtime/controller.js';
import type { ImageFacts } from '../../../../src/policy/image-facts.js';

const DIGEST = `sha256:${'b'.repeat(64)}`;

function record(): ImageRecord {
  return {
    summary: { digest: DIGEST, manifestDigest: DIGEST, packages: 3 },
    facts: {} as ImageFacts,
    references: new Set(['registry.test/app:1']),
    analyzedAt: 0,
  };
}

function reconcilerFailingWith(error: Error): {
  reconciler: ImageReconciler;
  refused: Array<{ digest: string; references: readonly string[]; problem: string }>;
} {
  const refused: Array<{ digest: string; references: readonly string[]; problem: string }> = [];
  const reconciler = new ImageReconciler({
    imageRecord: () => record(),
    writer: {
      publish: () => Promise.reject(error),
    },
    workloadsRunning: () => [],
    requeueWorkload: () => undefined,
    reportRefused: (digest, references, problem) => refused.push({ digest, references, problem }),
  });
  return { reconciler, refused };
}

describe('image reconciler, a report that cannot be written', () => {
  it('tells reportRefused when the write fails for good, and still fails the reconcile for good', async () => {
    const problem = `${DIGEST.replace(':', '-')} would be refused by the API server: status.packages: must be >= 0`;
    const { reconciler, refused } = reconcilerFailingWith(new TerminalError(problem));
    await assert.rejects(reconciler.reconcile(DIGEST), TerminalError);
    assert.deepEqual(refused, [{ digest: DIGEST, references: ['registry.test/app:1'], problem }]);
  });

  it('says nothing of a failure that will be retried', async () => {
    const { reconciler, refused } = reconcilerFailingWith(new Error('connect ECONNREFUSED'));
    await assert.rejects(reconciler.reconcile(DIGEST), /ECONNREFUSED/);
    assert.deepEqual(refused, []);
  });
});
