// Leader election on a coordination.k8s.io/v1 Lease, following client-go's
// leaderelection package: acquire the lease when it is absent, released or
// expired; renew it every retryPeriod; give up leadership when renewing keeps
// failing for renewDeadline; release it (clear holderIdentity) on shutdown so a
// successor need not wait for expiry. Only the leader writes reports.
import { V1MicroTime, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import { sleep, systemClock, type Clock } from './clock.js';

/** The three CoordinationV1Api calls we need; the real CoordinationV1Api satisfies it. */
export interface LeaseClient {
  readNamespacedLease(param: { name: string; namespace: string }): Promise<V1Lease>;
  createNamespacedLease(param: { namespace: string; body: V1Lease }): Promise<V1Lease>;
  replaceNamespacedLease(param: { name: string; namespace: string; body: V1Lease }): Promise<V1Lease>;
}

export interface LeaderCallbacks {
  /** We became leader; `signal` aborts when we stop being leader. */
  onStartedLeading(signal: AbortSignal): void;
  /** We stopped being leader (lost the lease, or stop()). On stop() the lease is released only after this settles. */
  onStoppedLeading(): void | Promise<void>;
  /** Another (or no) identity was observed holding the lease. */
  onNewLeader?(identity: string): void;
}

export interface LeaderMetrics {
  leading(isLeader: boolean): void;
}

export interface LeaderElectorOptions {
  client: LeaseClient;
  namespace: string;
  name: string;
  /** Unique per replica, usually the pod name. */
  identity: string;
  callbacks: LeaderCallbacks;
  /** How long non-leaders wait after the last observed change before taking over. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps retrying a renewal before giving up. Default 10 s. */
  renewDeadlineMs?: number;
  /** Interval between acquire or renew attempts. Default 2 s. */
  retryPeriodMs?: number;
  clock?: Clock;
  /** Source of jitter for acquire retries, in [0, 1). Default Math.random. */
  random?: () => number;
  metrics?: LeaderMetrics;
  /** Receives failed API calls and callback errors. */
  onError?: (error: unknown) => void;
}

// client-go's JitterFactor: candidates wait retryPeriod * (1 + rand * 1.2) so they do not hammer the lease in step.
const JITTER_FACTOR = 1.2;

export class LeaderElector {
  private readonly client: LeaseClient;
  private readonly namespace: string;
  private readonly name: string;
  readonly identity: string;
  private readonly callbacks: LeaderCallbacks;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly metrics: LeaderMetrics;
  private readonly onError: (error: unknown) => void;

  private readonly stopController = new AbortController();
  private leadership: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  // Expiry is judged by when *we* saw the record change, not by its renewTime, so clock skew between replicas does not matter.
  private observedRecord = '';
  private observedTime = 0;
  private observedTransitions = 0;
  private lastLeader: string | undefined;

  constructor(options: LeaderElectorOptions) {
    this.client = options.client;
    this.namespace = options.namespace;
    this.name = options.name;
    this.identity = options.identity;
    this.callbacks = options.callbacks;
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.metrics = options.metrics ?? { leading: () => {} };
    this.onError = options.onError ?? (() => {});
    if (this.identity === '') throw new Error('leader election identity must not be empty');
    if (this.leaseDurationMs <= this.renewDeadlineMs) {
      throw new Error('leaseDurationMs must be greater than renewDeadlineMs');
    }
    if (this.renewDeadlineMs <= JITTER_FACTOR * this.retryPeriodMs) {
      throw new Error(`renewDeadlineMs must be greater than ${JITTER_FACTOR} × retryPeriodMs`);
    }
  }

  isLeader(): boolean {
    return this.leadership !== undefined;
  }

  /** Starts competing for the lease in the background. */
  start(): void {
    if (this.loop !== undefined || this.stopController.signal.aborted) return;
    this.metrics.leading(false);
    this.loop = this.run();
  }

  /**
   * Stops competing; if leading, calls onStoppedLeading, waits for it, then releases
   * the lease. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopPromise ??= this.shutdown();
    return this.stopPromise;
  }

  private async shutdown(): Promise<void> {
    this.stopController.abort();
    await this.loop;
    if (this.leadership === undefined) return;
    await this.stepDown();
    await this.release();
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const acquired = await this.untilStopped(this.tryAcquireOrRenew());
      if (this.stopped) return;
      if (!acquired) {
        await sleep(
          this.clock,
          this.retryPeriodMs * (1 + this.random() * JITTER_FACTOR),
          this.stopController.signal,
        );
        continue;
      }
      this.becomeLeader();
      const kept = await this.renewUntilLost();
      if (this.stopped) return;
      if (!kept) await this.stepDown();
    }
  }

  /** Renews every retryPeriod; resolves false once a renewal round misses its deadline, true when stopped. */
  private async renewUntilLost(): Promise<boolean> {
    for (;;) {
      if (!(await sleep(this.clock, this.retryPeriodMs, this.stopController.signal))) return true;
      const deadline = this.clock.now() + this.renewDeadlineMs;
      let renewed = false;
      while (!renewed) {
        const remaining = deadline - this.clock.now();
        if (remaining <= 0) break;
        // A hanging API call must not keep us leader past the deadline: race it against a timer
        // that only ever answers "failed" when it really elapsed (or we are stopping).
        const cancelTimer = new AbortController();
        const timedOut = sleep(
          this.clock,
          remaining,
          AbortSignal.any([cancelTimer.signal, this.stopController.signal]),
        ).then((elapsed) => (elapsed || this.stopped ? false : new Promise<false>(() => undefined)));
        const attempt = await Promise.race([this.tryAcquireOrRenew(), timedOut]);
        cancelTimer.abort();
        if (this.stopped) return true;
        renewed = attempt;
        if (!renewed) {
          const wait = Math.min(this.retryPeriodMs, deadline - this.clock.now());
          if (wait <= 0) break;
          if (!(await sleep(this.clock, wait, this.stopController.signal))) return true;
        }
      }
      if (!renewed) {
        this.report(
          new Error(
            `failed to renew lease ${this.namespace}/${this.name} within ${this.renewDeadlineMs} ms; giving up leadership`,
          ),
        );
        return false;
      }
    }
  }

  /** One attempt, as client-go's tryAcquireOrRenew. Never throws. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    let lease: V1Lease;
    try {
      lease = await this.client.readNamespacedLease({ name: this.name, namespace: this.namespace });
    } catch (error) {
      if (statusOf(error) !== 404) {
        this.report(error);
        return false;
      }
      return this.create(now);
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const record = JSON.stringify([
      holder,
      String(spec.renewTime),
      String(spec.acquireTime),
      spec.leaseTransitions,
    ]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedTime = now;
      this.observedTransitions = spec.leaseTransitions ?? 0;
    }
    this.noticeLeader(holder);
    const leaseDurationMs = (spec.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
    if (holder !== '' && holder !== this.identity && this.observedTime + leaseDurationMs > now) return false;

    const renewing = holder === this.identity;
    const newSpec: V1LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      renewTime: new V1MicroTime(now),
      acquireTime:
        renewing && spec.acquireTime !== undefined ? toMicroTime(spec.acquireTime) : new V1MicroTime(now),
      leaseTransitions: (spec.leaseTransitions ?? 0) + (renewing ? 0 : 1),
    };
    try {
      // metadata carries resourceVersion: a concurrent writer makes this fail with 409 instead of being overwritten.
      const updated = await this.client.replaceNamespacedLease({
        name: this.name,
        namespace: this.namespace,
        body: { ...lease, spec: newSpec },
      });
      this.observe(updated, this.clock.now());
      return true;
    } catch (error) {
      if (statusOf(error) !== 409) this.report(error);
      return false;
    }
  }

  private async create(now: number): Promise<boolean> {
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        acquireTime: new V1MicroTime(now),
        renewTime: new V1MicroTime(now),
        leaseTransitions: 0,
      },
    };
    try {
      const created = await this.client.createNamespacedLease({ namespace: this.namespace, body });
      this.observe(created, this.clock.now());
      return true;
    } catch (error) {
      // 409: another candidate created it first; we will see it on the next read.
      if (statusOf(error) !== 409) this.report(error);
      return false;
    }
  }

  private observe(lease: V1Lease, now: number): void {
    const spec = lease.spec ?? {};
    this.observedRecord = JSON.stringify([
      spec.holderIdentity ?? '',
      String(spec.renewTime),
      String(spec.acquireTime),
      spec.leaseTransitions,
    ]);
    this.observedTime = now;
    this.observedTransitions = spec.leaseTransitions ?? 0;
    this.noticeLeader(spec.holderIdentity ?? '');
  }

  private noticeLeader(holder: string): void {
    if (holder === this.lastLeader) return;
    this.lastLeader = holder;
    if (this.callbacks.onNewLeader === undefined) return;
    try {
      this.callbacks.onNewLeader(holder);
    } catch (error) {
      this.report(error);
    }
  }

  private becomeLeader(): void {
    this.leadership = new AbortController();
    this.metrics.leading(true);
    try {
      this.callbacks.onStartedLeading(this.leadership.signal);
    } catch (error) {
      this.report(error);
    }
  }

  private async stepDown(): Promise<void> {
    const leadership = this.leadership;
    if (leadership === undefined) return;
    this.leadership = undefined;
    this.metrics.leading(false);
    leadership.abort();
    try {
      await this.callbacks.onStoppedLeading();
    } catch (error) {
      this.report(error);
    }
  }

  /** Clears holderIdentity, as client-go's release(), if the lease is still ours. */
  private async release(): Promise<void> {
    try {
      const lease = await this.client.readNamespacedLease({ name: this.name, namespace: this.namespace });
      if (lease.spec?.holderIdentity !== this.identity) return;
      const now = new V1MicroTime(this.clock.now());
      await this.client.replaceNamespacedLease({
        name: this.name,
        namespace: this.namespace,
        body: {
          ...lease,
          spec: {
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: lease.spec?.leaseTransitions ?? this.observedTransitions,
          },
        },
      });
    } catch (error) {
      this.report(error);
    }
  }

  private untilStopped<T>(promise: Promise<T>): Promise<T | undefined> {
    const signal = this.stopController.signal;
    if (signal.aborted) return Promise.resolve(undefined);
    let onAbort = (): void => {};
    const aborted = new Promise<undefined>((resolve) => {
      onAbort = () => resolve(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    // Remove the listener each round, or a long-waiting candidate piles one up every retryPeriod.
    return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
  }

  private report(error: unknown): void {
    try {
      this.onError(error);
    } catch {
      // Nothing left to report to.
    }
  }
}

/** HTTP status of a client-node ApiException (`code`) or a similar error (`statusCode`). */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number') return code;
  if (typeof statusCode === 'number') return statusCode;
  return undefined;
}

// Leases read back carry MicroTime as a string (client-node does not revive it) or a Date;
// the apiserver wants six fractional digits back, which V1MicroTime writes.
function toMicroTime(value: Date | string): V1MicroTime {
  return new V1MicroTime(value instanceof Date ? value.getTime() : Date.parse(value));
}
