import assert from 'node:assert/strict';
import { KubeConfig, type KubernetesObject, type ObjectCallback } from '@kubernetes/client-node';
import {
  ActivityReportingWatch,
  InformerIdleError,
  InformerSupervisor,
  listWatchFactory,
  type InformerSignals,
  type RestartReason,
  type SupervisedInformer,
  type WatchLike,
} from '../../../src/runtime/informer-supervisor.js';
import { ManualClock, settle } from './manual-clock.js';

type Callback = (arg?: unknown) => void;

/** Stands in for client-node's ListWatch: records start/stop, lets a test emit events and errors. */
class FakeInformer implements SupervisedInformer<KubernetesObject> {
  starts = 0;
  stops = 0;
  private readonly callbacks = new Map<string, Callback[]>();

  constructor(readonly signals: InformerSignals) {}

  on(verb: string, cb: Callback | ObjectCallback<KubernetesObject>): void {
    const verbs = verb === 'change' ? ['add', 'update', 'delete'] : [verb];
    for (const v of verbs) this.callbacks.set(v, [...(this.callbacks.get(v) ?? []), cb as Callback]);
  }

  off(): void {}

  async start(): Promise<void> {
    this.starts++;
  }

  async stop(): Promise<void> {
    this.stops++;
  }

  get(): KubernetesObject | undefined {
    return undefined;
  }

  list(): KubernetesObject[] {
    return [];
  }

  emit(verb: string, arg?: unknown): void {
    for (const cb of this.callbacks.get(verb) ?? []) cb(arg);
  }
}

describe('InformerSupervisor', () => {
  let clock: ManualClock;
  let fake: FakeInformer;
  let restarts: RestartReason[];
  let errors: unknown[];
  let supervisor: InformerSupervisor<KubernetesObject>;

  beforeEach(() => {
    clock = new ManualClock();
    restarts = [];
    errors = [];
    supervisor = new InformerSupervisor(
      (signals) => {
        fake = new FakeInformer(signals);
        return fake;
      },
      {
        resource: 'pods',
        clock,
        idleTimeoutMs: 60_000,
        restartBaseDelayMs: 1000,
        restartMaxDelayMs: 8000,
        metrics: { restarted: (reason) => restarts.push(reason) },
        onError: (error) => errors.push(error),
      },
    );
  });

  afterEach(async () => {
    await supervisor.stop();
  });

  it('is not synced while its first list keeps failing, and is once a list succeeds', async () => {
    await supervisor.start();
    let synced = false;
    void supervisor.synced.then(() => (synced = true));
    fake.emit('error', new Error('the server could not find the requested resource'));
    await clock.advance(1000);
    await Promise.resolve();
    assert.equal(supervisor.hasSynced, false, 'a failed list is not a full cache');
    assert.equal(synced, false);
    fake.signals.listed?.();
    await Promise.resolve();
    assert.equal(supervisor.hasSynced, true);
    assert.equal(synced, true);
  });

  it('restarts an informer that reported an error, after the backoff delay', async () => {
    await supervisor.start();
    assert.equal(fake.starts, 1);
    fake.emit('error', new Error('403 forbidden'));
    assert.equal(fake.stops, 1);
    await clock.advance(999);
    assert.equal(fake.starts, 1);
    await clock.advance(1);
    assert.equal(fake.starts, 2);
    assert.deepEqual(restarts, ['error']);
    assert.equal(supervisor.restarts, 1);
    assert.match(String(errors[0]), /403 forbidden/);
  });

  it('doubles the delay for consecutive failures and resets it once the informer is heard from', async () => {
    await supervisor.start();
    fake.emit('error', new Error('a'));
    await clock.advance(1000);
    fake.emit('error', new Error('b'));
    await clock.advance(1999);
    assert.equal(fake.starts, 2, 'second restart waits 2 s');
    await clock.advance(1);
    assert.equal(fake.starts, 3);
    fake.signals.activity();
    fake.emit('error', new Error('c'));
    await clock.advance(1000);
    assert.equal(fake.starts, 4, 'backoff was reset by activity');
  });

  it('caps the restart delay', async () => {
    await supervisor.start();
    for (let i = 0; i < 6; i++) {
      fake.emit('error', new Error('down'));
      await clock.advance(8000);
    }
    assert.equal(fake.starts, 7);
  });

  it('restarts an informer that stays silent longer than the idle timeout', async () => {
    await supervisor.start();
    await clock.advance(59_999);
    assert.equal(fake.starts, 1);
    await clock.advance(1);
    assert.ok(errors[0] instanceof InformerIdleError);
    await clock.advance(1000);
    assert.equal(fake.starts, 2);
    assert.deepEqual(restarts, ['idle']);
  });

  it('does not restart an informer that keeps delivering events or bookmarks', async () => {
    await supervisor.start();
    for (let i = 0; i < 10; i++) {
      await clock.advance(40_000);
      if (i % 2 === 0) fake.emit('add', { metadata: { name: `p${i}` } });
      else fake.signals.activity();
    }
    assert.equal(fake.starts, 1);
    assert.deepEqual(restarts, []);
  });

  it('stops restarting once stopped, even with a restart pending, and stop is idempotent', async () => {
    await supervisor.start();
    fake.emit('error', new Error('x'));
    await supervisor.stop();
    await supervisor.stop();
    await clock.advance(600_000);
    assert.equal(fake.starts, 1);
    fake.emit('error', new Error('late'));
    await clock.advance(600_000);
    assert.equal(fake.starts, 1);
    assert.equal(clock.pendingTimers(), 0);
  });
});

interface WatchCall {
  path: string;
  query: Record<string, string | number | boolean | undefined>;
  callback: (phase: string, obj: unknown) => void;
  done: (err: unknown) => void;
  controller: AbortController;
}

/** A client-node Watch stand-in: each call is recorded and driven by the test. */
class FakeWatch implements WatchLike {
  readonly calls: WatchCall[] = [];
  async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, obj: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const controller = new AbortController();
    // Like the real Watch: aborting makes the request complete with an AbortError.
    controller.signal.addEventListener('abort', () =>
      setImmediate(() => done(Object.assign(new Error('aborted'), { name: 'AbortError' }))),
    );
    this.calls.push({ path, query, callback, done, controller });
    return controller;
  }
}

describe('ActivityReportingWatch', () => {
  it('asks for bookmarks and reports every event, bookmark and established watch as activity', async () => {
    const inner = new FakeWatch();
    let activity = 0;
    const phases: string[] = [];
    const watch = new ActivityReportingWatch(inner, () => activity++);
    await watch.watch(
      '/api/v1/pods',
      { resourceVersion: '5' },
      (phase) => phases.push(phase),
      () => {},
    );
    assert.equal(inner.calls[0]?.query.allowWatchBookmarks, true);
    assert.equal(inner.calls[0]?.query.resourceVersion, '5');
    assert.equal(activity, 1);
    inner.calls[0]?.callback('BOOKMARK', { metadata: { resourceVersion: '9' } });
    inner.calls[0]?.callback('ADDED', { metadata: { name: 'p' } });
    assert.equal(activity, 3);
    assert.deepEqual(phases, ['BOOKMARK', 'ADDED']);
  });

  it('swallows the completion of a request its caller aborted', async () => {
    const inner = new FakeWatch();
    const completions: unknown[] = [];
    const watch = new ActivityReportingWatch(inner, () => {});
    const controller = await watch.watch(
      '/api/v1/pods',
      {},
      () => {},
      (err) => completions.push(err),
    );
    controller.abort();
    await settle();
    assert.equal(inner.calls[0]?.controller.signal.aborted, true);
    assert.deepEqual(completions, []);
  });

  it('passes on a completion it did not cause', async () => {
    const inner = new FakeWatch();
    const completions: unknown[] = [];
    const watch = new ActivityReportingWatch(inner, () => {});
    await watch.watch(
      '/api/v1/pods',
      {},
      () => {},
      (err) => completions.push(err),
    );
    inner.calls[0]?.done(null);
    assert.deepEqual(completions, [null]);
  });
});

describe('listWatchFactory with client-node ListWatch', () => {
  it('keeps the cache across an error restart and re-watches from the last resourceVersion', async () => {
    const clock = new ManualClock();
    const watch = new FakeWatch();
    let lists = 0;
    const factory = listWatchFactory<KubernetesObject>({
      kubeConfig: new KubeConfig(),
      path: '/api/v1/pods',
      watch,
      list: async () => {
        lists++;
        return {
          metadata: { resourceVersion: '10' },
          items: [{ metadata: { namespace: 'a', name: 'p1', resourceVersion: '10' } }],
        };
      },
    });
    const restarts: RestartReason[] = [];
    const supervisor = new InformerSupervisor(factory, {
      resource: 'pods',
      clock,
      restartBaseDelayMs: 1000,
      metrics: { restarted: (reason) => restarts.push(reason) },
    });
    try {
      await supervisor.start();
      assert.equal(lists, 1);
      assert.equal(watch.calls.length, 1);
      assert.equal(watch.calls[0]?.query.allowWatchBookmarks, true);
      watch.calls[0]?.callback('ADDED', { metadata: { namespace: 'a', name: 'p2', resourceVersion: '11' } });
      // A 500 from the apiserver: client-node's ListWatch fires its error callbacks and stops for good.
      watch.calls[0]?.done(Object.assign(new Error('Internal Server Error'), { statusCode: 500 }));
      await settle();
      assert.equal(watch.calls.length, 1, 'ListWatch does not retry by itself');
      await clock.advance(1000);
      assert.deepEqual(restarts, ['error']);
      assert.equal(watch.calls.length, 2);
      assert.equal(watch.calls[1]?.query.resourceVersion, '11');
      assert.equal(lists, 1, 'no relist needed');
      assert.deepEqual(
        supervisor.list().map((pod) => pod.metadata?.name),
        ['p1', 'p2'],
      );
    } finally {
      await supervisor.stop();
    }
    await settle();
    assert.equal(watch.calls[1]?.controller.signal.aborted, true, 'stop aborts the live watch');
    assert.deepEqual(restarts, ['error'], 'the aborted request does not count as a failure');
  });
});
