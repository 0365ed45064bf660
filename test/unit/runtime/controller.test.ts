import assert from 'node:assert/strict';
import {
  Controller,
  done,
  requeueAfter,
  TerminalError,
  type ReconcileOutcome,
} from '../../../src/runtime/controller.js';
import { ManualClock, settle } from './manual-clock.js';

describe('controller runner', () => {
  let clock: ManualClock;
  let calls: string[];
  let outcomes: ReconcileOutcome[];
  let failures: [string, boolean][];
  let controller: Controller;

  function start(reconcile: (key: string) => Promise<ReturnType<typeof requeueAfter> | void>): void {
    controller = new Controller({
      name: 'test',
      clock,
      reconciler: {
        reconcile: async (key) => {
          calls.push(key);
          return reconcile(key);
        },
      },
      hooks: {
        reconciled: (outcome) => outcomes.push(outcome),
        failed: (key, _error, terminal) => failures.push([key, terminal]),
      },
    });
    controller.start();
  }

  beforeEach(() => {
    clock = new ManualClock();
    calls = [];
    outcomes = [];
    failures = [];
  });

  afterEach(async () => {
    await controller.stop();
  });

  it('runs a key that returns done once', async () => {
    start(async () => done);
    controller.enqueue('a');
    await settle();
    await clock.advance(60_000);
    assert.deepEqual(calls, ['a']);
    assert.deepEqual(outcomes, ['success']);
  });

  it('runs a key again after requeueAfter, and not before', async () => {
    start(async () => requeueAfter(30_000));
    controller.enqueue('a');
    await settle();
    assert.deepEqual(calls, ['a']);
    await clock.advance(29_000);
    assert.deepEqual(calls, ['a'], 'not before its time');
    await clock.advance(1_000);
    assert.deepEqual(calls, ['a', 'a']);
    assert.deepEqual(outcomes, ['requeue', 'requeue']);
    assert.deepEqual(failures, []);
  });

  it('retries a failing key with growing backoff and forgets the failures on success', async () => {
    let attempts = 0;
    start(async () => {
      attempts++;
      if (attempts <= 3) throw new Error('API server said 500');
      return done;
    });
    controller.enqueue('a');
    await settle();
    assert.equal(calls.length, 1);
    // client-go's defaults: 5 ms, then 10 ms, then 20 ms.
    await clock.advance(4);
    assert.equal(calls.length, 1, 'the first retry waits its backoff');
    await clock.advance(1);
    assert.equal(calls.length, 2);
    await clock.advance(9);
    assert.equal(calls.length, 2, 'the second retry waits twice as long');
    await clock.advance(1);
    assert.equal(calls.length, 3);
    await clock.advance(20);
    assert.equal(calls.length, 4);
    await clock.advance(10_000);
    assert.equal(calls.length, 4, 'success ends the retries');
    assert.deepEqual(outcomes, ['error', 'error', 'error', 'success']);
    assert.deepEqual(failures, [
      ['a', false],
      ['a', false],
      ['a', false],
    ]);
  });

  it('reports a terminal error once and never retries it', async () => {
    start(async () => {
      throw new TerminalError('the API server refused the report as invalid');
    });
    controller.enqueue('a');
    await settle();
    await clock.advance(3_600_000);
    assert.deepEqual(calls, ['a']);
    assert.deepEqual(outcomes, ['terminal']);
    assert.deepEqual(failures, [['a', true]]);
    controller.enqueue('a');
    await settle();
    assert.deepEqual(calls, ['a', 'a'], 'a new event for the key runs it again');
  });

  it('drops keys while stopped (a follower enqueues nothing)', async () => {
    start(async () => done);
    await controller.stop();
    controller.enqueue('a');
    await settle();
    assert.deepEqual(calls, []);
    assert.equal(controller.running, false);
  });
});
