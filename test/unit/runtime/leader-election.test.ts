import assert from 'node:assert/strict';
import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import { LeaderElector, type LeaseClient } from '../../../src/runtime/leader-election.js';
import { ManualClock, settle } from './manual-clock.js';

// Compile-time proof that client-node's CoordinationV1Api can be passed as the client.
const _realClientFits = (api: CoordinationV1Api): LeaseClient => api;

class StatusError extends Error {
  constructor(readonly code: number) {
    super(`HTTP ${code}`);
  }
}

/** An in-memory Lease API with the apiserver's optimistic concurrency on resourceVersion. */
class FakeLeaseStore {
  private readonly leases = new Map<string, V1Lease>();
  private version = 100;
  conflicts = 0;

  get(name: string): V1Lease | undefined {
    return this.leases.get(name);
  }

  /** A client for one replica; `broken()` makes its calls fail, `hang()` makes them never answer. */
  client(): LeaseClient & { broken: boolean; hanging: boolean } {
    const leases = this.leases;
    const write = (name: string, body: V1Lease): V1Lease => this.write(name, body);
    const countConflict = (): void => {
      this.conflicts++;
    };
    const guard = <T>(client: { broken: boolean; hanging: boolean }, fn: () => T): Promise<T> => {
      if (client.hanging) return new Promise<T>(() => {});
      if (client.broken) return Promise.reject(new StatusError(503));
      try {
        return Promise.resolve(fn());
      } catch (error) {
        return Promise.reject(error);
      }
    };
    const client = {
      broken: false,
      hanging: false,
      readNamespacedLease: ({ name }: { name: string }) =>
        guard(client, () => {
          const lease = leases.get(name);
          if (lease === undefined) throw new StatusError(404);
          return structuredClone(lease);
        }),
      createNamespacedLease: ({ body }: { body: V1Lease }) =>
        guard(client, () => {
          const name = body.metadata?.name ?? '';
          if (leases.has(name)) throw new StatusError(409);
          return write(name, body);
        }),
      replaceNamespacedLease: ({ name, body }: { name: string; body: V1Lease }) =>
        guard(client, () => {
          const current = leases.get(name);
          if (current === undefined) throw new StatusError(404);
          if (body.metadata?.resourceVersion !== current.metadata?.resourceVersion) {
            countConflict();
            throw new StatusError(409);
          }
          return write(name, body);
        }),
    };
    return client;
  }

  private write(name: string, body: V1Lease): V1Lease {
    // Round-trip through JSON like the wire does: MicroTimes become strings.
    const stored = JSON.parse(JSON.stringify(body)) as V1Lease;
    stored.metadata = { ...stored.metadata, name, resourceVersion: String(++this.version) };
    this.leases.set(name, stored);
    return structuredClone(stored);
  }
}

interface Replica {
  elector: LeaderElector;
  client: ReturnType<FakeLeaseStore['client']>;
  log: string[];
  signal?: AbortSignal;
}

describe('LeaderElector', () => {
  let clock: ManualClock;
  let store: FakeLeaseStore;
  let replicas: Replica[];

  function replica(identity: string, onStopped?: () => Promise<void>): Replica {
    const client = store.client();
    const log: string[] = [];
    const r: Replica = { client, log } as Replica;
    r.elector = new LeaderElector({
      client,
      namespace: 'shipshape-system',
      name: 'shipshape-operator',
      identity,
      clock,
      random: () => 0,
      metrics: { leading: (leading) => log.push(`leader=${leading ? 1 : 0}`) },
      callbacks: {
        onStartedLeading: (signal) => {
          r.signal = signal;
          log.push('started');
        },
        onStoppedLeading: async () => {
          log.push('stopped');
          await onStopped?.();
        },
      },
    });
    replicas.push(r);
    return r;
  }

  beforeEach(() => {
    clock = new ManualClock();
    store = new FakeLeaseStore();
    replicas = [];
  });

  afterEach(async () => {
    for (const r of replicas) {
      r.client.hanging = false;
      r.client.broken = false;
    }
    await Promise.all(replicas.map((r) => r.elector.stop()));
  });

  it('creates an absent lease, holds it with the client-go defaults and starts leading', async () => {
    const a = replica('pod-a');
    a.elector.start();
    await settle();
    assert.equal(a.elector.isLeader(), true);
    assert.deepEqual(a.log, ['leader=0', 'leader=1', 'started']);
    const spec = store.get('shipshape-operator')?.spec;
    assert.equal(spec?.holderIdentity, 'pod-a');
    assert.equal(spec?.leaseDurationSeconds, 15);
    assert.equal(spec?.leaseTransitions, 0);
    assert.match(String(spec?.renewTime), /\.\d{6}Z$/, 'MicroTime has six fractional digits');
  });

  it('renews the lease every retry period', async () => {
    const a = replica('pod-a');
    a.elector.start();
    await settle();
    const first = String(store.get('shipshape-operator')?.spec?.renewTime);
    await clock.advance(1999);
    assert.equal(String(store.get('shipshape-operator')?.spec?.renewTime), first);
    await clock.advance(1);
    const renewed = store.get('shipshape-operator')?.spec;
    assert.equal(Date.parse(String(renewed?.renewTime)) - Date.parse(first), 2000);
    assert.equal(String(renewed?.acquireTime), first, 'acquireTime is kept while renewing');
  });

  it('stays leader for as long as every renewal succeeds (a finished renewal is never mistaken for a timeout)', async () => {
    const a = replica('pod-a');
    a.elector.start();
    await settle();
    for (let second = 0; second < 60; second++) await clock.advance(1000);
    assert.equal(a.elector.isLeader(), true);
    assert.deepEqual(a.log, ['leader=0', 'leader=1', 'started']);
  });

  it('lets only one of two candidates lead while the leader keeps renewing', async () => {
    const a = replica('pod-a');
    const b = replica('pod-b');
    a.elector.start();
    b.elector.start();
    await clock.advance(60_000);
    assert.equal(a.elector.isLeader(), true);
    assert.equal(b.elector.isLeader(), false);
    assert.deepEqual(b.log, ['leader=0']);
  });

  it('takes over an expired lease once leaseDuration has passed since it last saw the lease change', async () => {
    const a = replica('pod-a');
    a.elector.start();
    await settle();
    const b = replica('pod-b');
    b.elector.start();
    await settle();
    a.client.hanging = true; // pod-a is partitioned away; its lease stops being renewed
    await clock.advance(14_000);
    assert.equal(b.elector.isLeader(), false, 'not before the lease expired');
    await clock.advance(4_000);
    assert.equal(b.elector.isLeader(), true);
    const spec = store.get('shipshape-operator')?.spec;
    assert.equal(spec?.holderIdentity, 'pod-b');
    assert.equal(spec?.leaseTransitions, 1);
  });

  it('gives up leadership when renewals fail for longer than the renew deadline', async () => {
    const a = replica('pod-a');
    a.elector.start();
    await settle();
    a.client.broken = true;
    await clock.advance(2000 + 9_999);
    assert.equal(a.elector.isLeader(), true, 'still within the renew deadline');
    await clock.advance(1);
    assert.equal(a.elector.isLeader(), false);
    assert.equal(a.signal?.aborted, true);
    assert.deepEqual(a.log.slice(-2), ['leader=0', 'stopped']);
  });

  it('gives up leadership at the renew deadline even when the API call hangs', async () => {
    const a = replica('pod-a');
    a.elector.start();
    await settle();
    a.client.hanging = true;
    await clock.advance(2000 + 10_000);
    assert.equal(a.elector.isLeader(), false);
  });

  it('competes again after losing, and leads again when the API recovers', async () => {
    const a = replica('pod-a');
    a.elector.start();
    await settle();
    a.client.broken = true;
    await clock.advance(12_000);
    assert.equal(a.elector.isLeader(), false);
    a.client.broken = false;
    await clock.advance(3_000);
    assert.equal(a.elector.isLeader(), true);
    assert.deepEqual(a.log.filter((l) => l === 'started').length, 2);
  });

  it('loses a racing write with a 409 instead of overwriting the other candidate', async () => {
    const a = replica('pod-a');
    a.elector.start();
    await settle();
    // Someone else writes the lease between pod-a's read and replace.
    const client = store.client();
    const original = a.client.readNamespacedLease.bind(a.client);
    a.client.readNamespacedLease = async (param) => {
      const lease = await original(param);
      const other = await client.readNamespacedLease(param);
      await client.replaceNamespacedLease({ ...param, body: other });
      return lease;
    };
    await clock.advance(2000);
    assert.ok(store.conflicts >= 1);
  });

  it('on stop, waits for onStoppedLeading and then releases the lease for a fast successor', async () => {
    let finishStopping = (): void => {};
    const a = replica('pod-a', () => new Promise<void>((resolve) => (finishStopping = resolve)));
    a.elector.start();
    await settle();
    const stopping = a.elector.stop();
    await settle();
    assert.equal(
      store.get('shipshape-operator')?.spec?.holderIdentity,
      'pod-a',
      'not released before controllers stopped',
    );
    finishStopping();
    await stopping;
    const spec = store.get('shipshape-operator')?.spec;
    assert.equal(spec?.holderIdentity, '');
    assert.equal(spec?.leaseDurationSeconds, 1);
    assert.equal(a.elector.isLeader(), false);
    await a.elector.stop();
    assert.deepEqual(a.log.filter((l) => l === 'stopped').length, 1);

    const b = replica('pod-b');
    b.elector.start();
    await settle();
    assert.equal(b.elector.isLeader(), true, 'a released lease is taken without waiting for expiry');
    assert.equal(store.get('shipshape-operator')?.spec?.leaseTransitions, 1);
  });

  it('stops a waiting candidate promptly and leaves no timers behind', async () => {
    const a = replica('pod-a');
    a.elector.start();
    await settle();
    const b = replica('pod-b');
    b.elector.start();
    await settle();
    await b.elector.stop();
    await a.elector.stop();
    assert.equal(clock.pendingTimers(), 0);
    assert.deepEqual(b.log, ['leader=0']);
  });

  it('refuses timings that cannot work', () => {
    const client = store.client();
    const callbacks = { onStartedLeading: () => {}, onStoppedLeading: () => {} };
    const base = { client, namespace: 'n', name: 'l', identity: 'i', callbacks };
    assert.throws(
      () => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
      /leaseDuration/,
    );
    assert.throws(
      () => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
      /renewDeadline/,
    );
  });
});
