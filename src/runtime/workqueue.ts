// A rate-limited workqueue with client-go semantics: event handlers add keys, a
// bounded pool of workers reconciles them. Fair (FIFO), stingy (a key added many
// times before it is processed runs once, and never runs twice at once) and
// patient (a failing key backs off exponentially, and is forgotten on success).
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { systemClock, type Clock, type TimerHandle } from './clock.js';

/** What a reconcile asks of the queue when it succeeds. */
export interface ReconcileResult {
  /** Run the key again after this many milliseconds (0 = as soon as possible). */
  requeueAfter?: number;
}

/**
 * An error that retrying cannot fix (the API server refused an object as
 * invalid, say): the key is reported and forgotten instead of retried forever.
 */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** Reconciles one key; a thrown error means "retry with backoff", a TerminalError "give up". */
export type KeyHandler = (key: string) => Promise<ReconcileResult | void>;

/** Decides how long a failing key waits before its next attempt. */
export interface RateLimiter {
  /** Delay in ms before the next retry of `key`; counts one more failure. */
  when(key: string): number;
  /** Clears the failure history of `key` (called on success). */
  forget(key: string): void;
  /** Number of failures recorded for `key` since it was last forgotten. */
  retries(key: string): number;
}

/**
 * client-go's ItemExponentialFailureRateLimiter: base * 2^failures, capped at max.
 * Defaults match client-go's controller default (5 ms up to 1000 s).
 */
export class ExponentialFailureRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly baseDelayMs = 5,
    private readonly maxDelayMs = 1_000_000,
  ) {}

  when(key: string): number {
    const exponent = this.failures.get(key) ?? 0;
    this.failures.set(key, exponent + 1);
    // 2 ** exponent becomes Infinity long before it could wrap, so min() stays correct.
    return Math.min(this.baseDelayMs * 2 ** exponent, this.maxDelayMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/** Observations a queue reports; src/metrics turns them into Prometheus series. */
export interface WorkQueueMetrics {
  /** Keys waiting to be processed (including keys re-added while in flight). */
  depth(keys: number): void;
  /** A key was accepted into the queue (not counted when deduplicated). */
  added(): void;
  /** Seconds from when a key was added until a worker picked it up. */
  queueLatency(seconds: number): void;
  /** Seconds a handler spent on one key. */
  workDuration(seconds: number): void;
  /** A key was re-added with backoff after a failure. */
  retried(): void;
}

export const noopWorkQueueMetrics: WorkQueueMetrics = {
  depth: () => {},
  added: () => {},
  queueLatency: () => {},
  workDuration: () => {},
  retried: () => {},
};

export interface WorkQueueOptions {
  clock?: Clock;
  rateLimiter?: RateLimiter;
  metrics?: WorkQueueMetrics;
  /** Receives every error a handler throws (the key is retried with backoff regardless). */
  onError?: (key: string, error: unknown) => void;
}

export class WorkQueue {
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  private readonly metrics: WorkQueueMetrics;
  private readonly onError: (key: string, error: unknown) => void;

  // FIFO as array + head index: shift() would make draining a large queue quadratic.
  private queue: string[] = [];
  private head = 0;
  /** Keys that need processing: queued, or re-added while in flight. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly addedAt = new Map<string, number>();
  private readonly waiting = new Map<string, { readyAt: number; timer: TimerHandle }>();
  private readonly getters: Array<(key: string | undefined) => void> = [];
  private workers: Array<Promise<void>> | undefined;
  private shutdownPromise: Promise<void> | undefined;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.rateLimiter = options.rateLimiter ?? new ExponentialFailureRateLimiter();
    this.metrics = options.metrics ?? noopWorkQueueMetrics;
    this.onError = options.onError ?? (() => {});
  }

  get shuttingDown(): boolean {
    return this.shutdownPromise !== undefined;
  }

  /** Keys ready to be handed to a worker. */
  len(): number {
    return this.queue.length - this.head;
  }

  /** Marks `key` as needing work; a no-op if it already does. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (!this.addedAt.has(key)) this.addedAt.set(key, this.clock.now());
    this.metrics.added();
    this.metrics.depth(this.dirty.size);
    // An in-flight key is queued again by done(), so it never runs twice at once.
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.dispatch();
  }

  /** Adds `key` once `delayMs` has passed; an earlier pending add for the key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + delayMs;
    const pending = this.waiting.get(key);
    if (pending !== undefined) {
      if (pending.readyAt <= readyAt) return;
      this.clock.clearTimeout(pending.timer);
    }
    const timer = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, delayMs);
    this.waiting.set(key, { readyAt, timer });
  }

  /** Adds `key` after its rate limiter's backoff. */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.metrics.retried();
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Ends the backoff history of `key`. */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.retries(key);
  }

  /**
   * Waits for the next key and marks it in flight; resolves `undefined` once the
   * queue shuts down. Every key returned must be passed to done().
   */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    if (this.len() > 0) return Promise.resolve(this.take());
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Ends processing of `key`; re-queues it if it was added meanwhile. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) {
      this.queue.push(key);
      this.dispatch();
    }
  }

  /**
   * Starts `workers` loops that feed keys to `handler`. A handler that returns
   * `{ requeueAfter }` is run again after that delay; one that throws is retried
   * with per-key backoff (a TerminalError is not); success forgets the key's failures.
   */
  run(workers: number, handler: KeyHandler): void {
    if (this.workers !== undefined) throw new Error('WorkQueue.run() was already called');
    if (!Number.isInteger(workers) || workers < 1)
      throw new Error(`workers must be a positive integer, got ${workers}`);
    this.workers = Array.from({ length: workers }, () => this.workerLoop(handler));
  }

  /**
   * Stops handing out keys, drops pending and delayed keys, and resolves once every
   * in-flight handler has returned. Safe to call more than once.
   */
  shutDown(): Promise<void> {
    if (this.shutdownPromise !== undefined) return this.shutdownPromise;
    for (const { timer } of this.waiting.values()) this.clock.clearTimeout(timer);
    this.waiting.clear();
    for (const resolve of this.getters.splice(0)) resolve(undefined);
    this.shutdownPromise = Promise.all(this.workers ?? []).then(() => undefined);
    return this.shutdownPromise;
  }

  private async workerLoop(handler: KeyHandler): Promise<void> {
    for (;;) {
      const key = await this.get();
      if (key === undefined) return;
      await this.process(key, handler);
      // A reconcile answered from caches settles in microtasks alone: without a turn of
      // the event loop between keys, sixteen workers work a burst of them through while
      // timers, probes and sockets wait (130 ms in the hostile e2e's CPU profile).
      await yieldToEventLoop();
    }
  }

  private async process(key: string, handler: KeyHandler): Promise<void> {
    const started = this.clock.now();
    try {
      const result = await handler(key);
      this.rateLimiter.forget(key);
      const requeueAfter = result?.requeueAfter;
      if (requeueAfter !== undefined) this.addAfter(key, requeueAfter);
    } catch (error) {
      this.report(key, error);
      if (error instanceof TerminalError) this.rateLimiter.forget(key);
      else this.addRateLimited(key);
    } finally {
      this.metrics.workDuration((this.clock.now() - started) / 1000);
      this.done(key);
    }
  }

  private report(key: string, error: unknown): void {
    try {
      this.onError(key, error);
    } catch {
      // A broken error handler must not stop the worker; there is nowhere left to report to.
    }
  }

  private take(): string {
    const key = this.queue[this.head] as string;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.processing.add(key);
    this.dirty.delete(key);
    this.metrics.depth(this.dirty.size);
    const addedAt = this.addedAt.get(key);
    if (addedAt !== undefined) {
      this.metrics.queueLatency((this.clock.now() - addedAt) / 1000);
      this.addedAt.delete(key);
    }
    return key;
  }

  private dispatch(): void {
    while (this.getters.length > 0 && this.len() > 0) {
      const resolve = this.getters.shift() as (key: string | undefined) => void;
      resolve(this.take());
    }
  }
}
