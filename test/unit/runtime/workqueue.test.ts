import assert from 'node:assert/strict';
import {
  ExponentialFailureRateLimiter,
  WorkQueue,
  type WorkQueueMetrics,
} from '../../../src/runtime/workqueue.js';
import { ManualClock, settle } from './manual-clock.js';

/** A handler whose calls a test completes (or fails) one at a time. */
class ControlledHandler {
  readonly started: string[] = [];
  private readonly pending = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  active = 0;
  maxActive = 0;

  readonly handle = (key: string): Promise<void> => {
    this.started.push(key);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    return new Promise<void>((resolve, reject) => {
      this.pending.set(key, {
        resolve: () => {
          this.active--;
          resolve();
        },
        reject: (e) => {
          this.active--;
          reject(e);
        },
      });
    });
  };

  async finish(key: string): Promise<void> {
    const call = this.pending.get(key);
    assert.ok(call, `no running call for ${key}`);
    this.pending.delete(key);
    call.resolve();
    await settle();
  }

  async fail(key: string): Promise<void> {
    const call = this.pending.get(key);
    assert.ok(call, `no running call for ${key}`);
    this.pending.delete(key);
    call.reject(new Error(`boom ${key}`));
    await settle();
  }
}

class RecordingMetrics implements WorkQueueMetrics {
  depths: number[] = [];
  adds = 0;
  latencies: number[] = [];
  durations: number[] = [];
  retries = 0;
  depth(keys: number): void {
    this.depths.push(keys);
  }
  added(): void {
    this.adds++;
  }
  queueLatency(seconds: number): void {
    this.latencies.push(seconds);
  }
  workDuration(seconds: number): void {
    this.durations.push(seconds);
  }
  retried(): void {
    this.retries++;
  }
}

describe('ExponentialFailureRateLimiter', () => {
  it('doubles the delay from 5 ms on each failure of the same key, like client-go', () => {
    const limiter = new ExponentialFailureRateLimiter();
    assert.deepEqual(
      [1, 2, 3, 4].map(() => limiter.when('a')),
      [5, 10, 20, 40],
    );
    assert.equal(limiter.when('b'), 5);
    assert.equal(limiter.retries('a'), 4);
  });

  it('caps the delay at 1000 s', () => {
    const limiter = new ExponentialFailureRateLimiter();
    let last = 0;
    for (let i = 0; i < 2000; i++) last = limiter.when('a');
    assert.equal(last, 1_000_000);
  });

  it('starts over after forget', () => {
    const limiter = new ExponentialFailureRateLimiter(10, 100);
    limiter.when('a');
    limiter.when('a');
    limiter.forget('a');
    assert.equal(limiter.retries('a'), 0);
    assert.equal(limiter.when('a'), 10);
  });
});

describe('WorkQueue', () => {
  let clock: ManualClock;
  let queue: WorkQueue;
  let handler: ControlledHandler;

  beforeEach(() => {
    clock = new ManualClock();
    queue = new WorkQueue({ clock });
    handler = new ControlledHandler();
  });

  afterEach(async () => {
    void queue.shutDown();
    await settle();
  });

  it('gives the event loop a turn between keys, however quickly a handler settles', async () => {
    const handled: string[] = [];
    for (let i = 0; i < 50; i++) queue.add(`k${i}`);
    queue.run(1, (key) => {
      handled.push(key);
      return Promise.resolve(undefined);
    });
    // A macrotask queued now runs after at most a key or two, not after the whole burst.
    const before = await new Promise<number>((resolve) => setImmediate(() => resolve(handled.length)));
    assert.ok(before <= 2, `${before} keys were handled before the event loop had a turn`);
    while (handled.length < 50) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(new Set(handled).size, 50);
  });

  it('hands out keys in the order they were first added', async () => {
    queue.add('a');
    queue.add('b');
    queue.add('c');
    assert.deepEqual([await queue.get(), await queue.get(), await queue.get()], ['a', 'b', 'c']);
  });

  it('runs a key added many times before processing only once', async () => {
    queue.add('a');
    queue.add('b');
    queue.add('a');
    queue.add('a');
    assert.equal(queue.len(), 2);
    queue.run(1, handler.handle);
    await settle();
    await handler.finish('a');
    await handler.finish('b');
    assert.deepEqual(handler.started, ['a', 'b']);
  });

  it('never processes a key twice at once, and runs it again after done when re-added in flight', async () => {
    queue.run(4, handler.handle);
    queue.add('a');
    await settle();
    queue.add('a');
    await settle();
    assert.deepEqual(handler.started, ['a'], 'second add must wait for the first run');
    await handler.finish('a');
    assert.deepEqual(handler.started, ['a', 'a']);
    await handler.finish('a');
    assert.equal(handler.maxActive, 1);
  });

  it('runs no more handlers at once than the number of workers', async () => {
    queue.run(2, handler.handle);
    for (const key of ['a', 'b', 'c', 'd']) queue.add(key);
    await settle();
    assert.deepEqual(handler.started, ['a', 'b']);
    await handler.finish('a');
    assert.deepEqual(handler.started, ['a', 'b', 'c']);
    await handler.finish('b');
    await handler.finish('c');
    await handler.finish('d');
    assert.equal(handler.maxActive, 2);
  });

  it('retries a failing key with exponential backoff and forgets it on success', async () => {
    const errors: string[] = [];
    queue = new WorkQueue({
      clock,
      onError: (key, error) => errors.push(`${key}: ${(error as Error).message}`),
    });
    queue.run(1, handler.handle);
    queue.add('a');
    await settle();
    await handler.fail('a');
    assert.equal(queue.numRequeues('a'), 1);
    await clock.advance(4);
    assert.equal(handler.started.length, 1, 'must not retry before 5 ms');
    await clock.advance(1);
    assert.equal(handler.started.length, 2);
    await handler.fail('a');
    await clock.advance(9);
    assert.equal(handler.started.length, 2, 'second retry waits 10 ms');
    await clock.advance(1);
    assert.equal(handler.started.length, 3);
    await handler.finish('a');
    assert.equal(queue.numRequeues('a'), 0);
    assert.deepEqual(errors, ['a: boom a', 'a: boom a']);
  });

  it('runs a key again after the requeueAfter its handler returns', async () => {
    let runs = 0;
    queue.run(1, async () => {
      runs++;
      return runs === 1 ? { requeueAfter: 30_000 } : {};
    });
    queue.add('a');
    await settle();
    assert.equal(runs, 1);
    await clock.advance(29_999);
    assert.equal(runs, 1);
    await clock.advance(1);
    assert.equal(runs, 2);
    await clock.advance(60_000);
    assert.equal(runs, 2);
  });

  it('keeps the earliest of several pending addAfter calls for one key', async () => {
    queue.addAfter('a', 1000);
    queue.addAfter('a', 100);
    queue.addAfter('a', 5000);
    await clock.advance(100);
    assert.equal(queue.len(), 1);
    assert.equal(await queue.get(), 'a');
    queue.done('a');
    await clock.advance(10_000);
    assert.equal(queue.len(), 0, 'the later delays were superseded');
  });

  it('keeps the worker alive when the error handler itself throws', async () => {
    queue = new WorkQueue({
      clock,
      onError: () => {
        throw new Error('broken logger');
      },
    });
    queue.run(1, handler.handle);
    queue.add('a');
    await settle();
    await handler.fail('a');
    queue.add('b');
    await settle();
    assert.deepEqual(handler.started, ['a', 'b']);
    await handler.finish('b');
  });

  it('waits for in-flight handlers on shutDown, drops queued and delayed keys, and is idempotent', async () => {
    queue.run(1, handler.handle);
    queue.add('a');
    queue.add('b');
    queue.addAfter('c', 10);
    await settle();
    let stopped = false;
    const first = queue.shutDown();
    const second = queue.shutDown();
    assert.equal(first, second);
    void first.then(() => (stopped = true));
    await settle();
    assert.equal(stopped, false, 'a handler is still running');
    await handler.finish('a');
    assert.equal(stopped, true);
    await clock.advance(100);
    assert.deepEqual(handler.started, ['a']);
    queue.add('d');
    assert.equal(await queue.get(), undefined);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('refuses a second run() and a non-positive worker count', () => {
    assert.throws(() => queue.run(0, handler.handle), /positive integer/);
    queue.run(1, handler.handle);
    assert.throws(() => queue.run(1, handler.handle), /already/);
  });

  it('reports depth, adds, queue latency, work duration and retries', async () => {
    const metrics = new RecordingMetrics();
    queue = new WorkQueue({ clock, metrics });
    queue.add('a');
    queue.add('a');
    queue.add('b');
    assert.equal(metrics.adds, 2);
    assert.equal(metrics.depths.at(-1), 2);
    await clock.advance(1500);
    queue.run(1, handler.handle);
    await settle();
    assert.deepEqual(metrics.latencies, [1.5]);
    assert.equal(metrics.depths.at(-1), 1);
    await clock.advance(250);
    await handler.fail('a');
    assert.deepEqual(metrics.durations, [0.25]);
    assert.equal(metrics.retries, 1);
    await handler.finish('b');
  });
});
