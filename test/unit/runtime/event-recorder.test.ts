import assert from 'node:assert/strict';
import type { EventsV1Api, EventsV1Event, V1ObjectReference } from '@kubernetes/client-node';
import {
  EventRecorder,
  TokenBucket,
  truncateBytes,
  type EventOutcome,
  type EventsClient,
  type EventSpec,
} from '../../../src/runtime/event-recorder.js';
import { ManualClock, settle } from './manual-clock.js';

// Compile-time proof that client-node's EventsV1Api can be passed as the client.
const _realClientFits = (api: EventsV1Api): EventsClient => api;

class FakeEventsApi implements EventsClient {
  created: EventsV1Event[] = [];
  patches: Array<{ name: string; namespace: string; body: object }> = [];
  failCreates = false;
  failPatchesWith: number | undefined;

  async createNamespacedEvent(param: { namespace: string; body: EventsV1Event }): Promise<EventsV1Event> {
    if (this.failCreates) throw Object.assign(new Error('HTTP 500'), { code: 500 });
    this.created.push(JSON.parse(JSON.stringify(param.body)) as EventsV1Event);
    return param.body;
  }

  async patchNamespacedEvent(param: {
    name: string;
    namespace: string;
    body: object;
  }): Promise<EventsV1Event> {
    if (this.failPatchesWith !== undefined)
      throw Object.assign(new Error('HTTP'), { code: this.failPatchesWith });
    this.patches.push(JSON.parse(JSON.stringify(param)) as { name: string; namespace: string; body: object });
    return {} as EventsV1Event;
  }
}

function pod(name: string): V1ObjectReference {
  return { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name, uid: `uid-${name}` };
}

function crashLoop(regarding: V1ObjectReference, note = 'container app runs as root'): EventSpec {
  return { regarding, type: 'Warning', reason: 'PolicyViolation', action: 'Evaluate', note };
}

describe('EventRecorder', () => {
  let clock: ManualClock;
  let api: FakeEventsApi;
  let outcomes: EventOutcome[];
  let errors: unknown[];

  function recorder(overrides: Partial<ConstructorParameters<typeof EventRecorder>[0]> = {}): EventRecorder {
    return new EventRecorder({
      client: api,
      reportingInstance: 'shipshape-operator-7c9f-abcde',
      clock,
      metrics: { recorded: (_type, _reason, outcome) => outcomes.push(outcome) },
      onError: (error) => errors.push(error),
      ...overrides,
    });
  }

  beforeEach(() => {
    clock = new ManualClock();
    api = new FakeEventsApi();
    outcomes = [];
    errors = [];
  });

  it('creates an events.k8s.io/v1 Event naming the operator and this replica', async () => {
    const events = recorder();
    events.record(crashLoop(pod('web-1')));
    await events.flush();
    assert.equal(api.created.length, 1);
    const created = api.created[0] as EventsV1Event;
    assert.equal(created.reportingController, 'shipshape.dev/operator');
    assert.equal(created.reportingInstance, 'shipshape-operator-7c9f-abcde');
    assert.equal(created.metadata?.namespace, 'shop');
    assert.match(created.metadata?.name ?? '', /^web-1\.[0-9a-f]+$/);
    assert.equal(created.regarding?.uid, 'uid-web-1');
    assert.equal(created.type, 'Warning');
    assert.equal(created.action, 'Evaluate');
    assert.match(String(created.eventTime), /\.\d{6}Z$/, 'eventTime is a MicroTime');
    assert.deepEqual(outcomes, ['sent']);
  });

  it('puts events about cluster-scoped objects into the default namespace', async () => {
    const events = recorder();
    events.record(crashLoop({ apiVersion: 'v1', kind: 'Node', name: 'node-1', uid: 'n1' }));
    await events.flush();
    assert.equal(api.created[0]?.metadata?.namespace, 'default');
  });

  it('turns repeats within the window into one event and patches its series count at most once per interval', async () => {
    const events = recorder({ seriesPatchIntervalMs: 60_000 });
    events.record(crashLoop(pod('web-1')));
    await events.flush();
    for (let i = 0; i < 5; i++) {
      await clock.advance(10_000);
      assert.equal(events.record(crashLoop(pod('web-1'))), 'deduplicated');
    }
    await events.flush();
    assert.equal(api.created.length, 1);
    assert.equal(api.patches.length, 0, 'no patch within the first interval');
    await clock.advance(10_000);
    events.record(crashLoop(pod('web-1')));
    await events.flush();
    assert.equal(api.patches.length, 1);
    assert.equal(api.patches[0]?.name, api.created[0]?.metadata?.name);
    const [op] = api.patches[0]?.body as Array<{ op: string; path: string; value: { count: number } }>;
    assert.equal(op?.op, 'add');
    assert.equal(op?.path, '/series');
    assert.equal(op?.value.count, 7);
  });

  it('starts a new event once the window has passed, and for a different note', async () => {
    const events = recorder({ dedupeWindowMs: 60_000 });
    events.record(crashLoop(pod('web-1')));
    events.record(crashLoop(pod('web-1'), 'another finding'));
    await clock.advance(60_001);
    events.record(crashLoop(pod('web-1')));
    await events.flush();
    assert.equal(api.created.length, 3);
  });

  it('keeps a thousand crash-looping pods from flooding the API server', async () => {
    const events = recorder({ globalBurst: 100, globalPerSecond: 10 });
    for (let i = 0; i < 1000; i++) events.record(crashLoop(pod(`crash-${i}`), `restart ${i}`));
    await events.flush();
    assert.equal(api.created.length, 100);
    assert.equal(outcomes.filter((o) => o === 'ratelimited').length, 900);
    await clock.advance(1000);
    for (let i = 0; i < 1000; i++) events.record(crashLoop(pod(`crash-${i}`), `restart again ${i}`));
    await events.flush();
    assert.equal(api.created.length, 110, 'the global bucket refills at 10 per second');
  });

  it('limits how many distinct events one object can produce', async () => {
    const events = recorder({ perObjectBurst: 3, perObjectPerSecond: 1 / 300 });
    for (let i = 0; i < 10; i++) events.record(crashLoop(pod('noisy'), `finding ${i}`));
    events.record(crashLoop(pod('quiet')));
    await events.flush();
    assert.deepEqual(
      api.created.map((e) => e.regarding?.name),
      ['noisy', 'noisy', 'noisy', 'quiet'],
    );
    await clock.advance(300_000);
    events.record(crashLoop(pod('noisy'), 'finding 11'));
    await events.flush();
    assert.equal(api.created.length, 5);
  });

  it('never throws into the caller: API errors go to the error handler, and the next occurrence retries', async () => {
    const events = recorder();
    api.failCreates = true;
    assert.doesNotThrow(() => events.record(crashLoop(pod('web-1'))));
    await events.flush();
    assert.equal(errors.length, 1);
    assert.deepEqual(outcomes, ['error']);
    api.failCreates = false;
    events.record(crashLoop(pod('web-1')));
    await events.flush();
    assert.equal(api.created.length, 1);
  });

  it('creates a fresh event when the series patch finds the old one gone', async () => {
    const events = recorder({ seriesPatchIntervalMs: 0 });
    events.record(crashLoop(pod('web-1')));
    await events.flush();
    api.failPatchesWith = 404;
    events.record(crashLoop(pod('web-1')));
    await events.flush();
    assert.equal(errors.length, 1);
    api.failPatchesWith = undefined;
    events.record(crashLoop(pod('web-1')));
    await events.flush();
    assert.equal(api.created.length, 2);
  });

  it('survives an error handler that throws', async () => {
    const events = recorder({
      onError: () => {
        throw new Error('broken logger');
      },
    });
    api.failCreates = true;
    events.record(crashLoop(pod('web-1')));
    await events.flush();
    await settle();
  });

  it('trims the note to the API limit of 1 kB', async () => {
    const events = recorder();
    events.record(crashLoop(pod('web-1'), 'é'.repeat(2000)));
    await events.flush();
    assert.ok(Buffer.byteLength(api.created[0]?.note ?? '', 'utf8') <= 1024);
  });

  it('drops events after shutdown', async () => {
    const events = recorder();
    await events.shutdown();
    events.record(crashLoop(pod('web-1')));
    await events.flush();
    assert.equal(api.created.length, 0);
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then refills at its rate up to the burst size', () => {
    const bucket = new TokenBucket(2, 1, 0);
    assert.deepEqual([bucket.tryTake(0), bucket.tryTake(0), bucket.tryTake(0)], [true, true, false]);
    assert.equal(bucket.tryTake(999), false);
    assert.equal(bucket.tryTake(1000), true);
    assert.equal(bucket.available(60_000), 2);
  });
});

describe('truncateBytes', () => {
  it('cuts on a character boundary and marks the cut', () => {
    const cut = truncateBytes('ab€€€', 8);
    assert.equal(cut, 'ab€…');
    assert.ok(Buffer.byteLength(cut) <= 8);
  });

  it('leaves short text alone', () => {
    assert.equal(truncateBytes('short', 1024), 'short');
  });
});
