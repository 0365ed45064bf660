// A controller in controller-runtime's sense: a named workqueue, a reconciler
// and a bounded pool of workers. The reconciler owns the domain; this owns the
// queue, its metrics and what a reconcile's outcome means: `done`, `requeueAfter(ms)`,
// a thrown error (retry with per-key backoff) or a TerminalError (reported,
// counted, never retried). Event handlers only call enqueue().
import { systemClock, type Clock } from './clock.js';
import { TerminalError, WorkQueue, type ReconcileResult, type WorkQueueMetrics } from './workqueue.js';

export { TerminalError, type ReconcileResult } from './workqueue.js';

/** Nothing more to do for this key until something changes. */
export const done: ReconcileResult = Object.freeze({});

/** Reconcile this key again after `ms` milliseconds, with no backoff. */
export function requeueAfter(ms: number): ReconcileResult {
  return { requeueAfter: Math.max(0, ms) };
}

export interface Reconciler {
  reconcile(key: string): Promise<ReconcileResult | void>;
}

export type ReconcileOutcome = 'success' | 'requeue' | 'error' | 'terminal';

export interface ControllerHooks {
  /** One reconcile finished: how, and how long it took. */
  reconciled?(outcome: ReconcileOutcome, seconds: number): void;
  /** A reconcile failed; `terminal` when it will not be retried. */
  failed?(key: string, error: unknown, terminal: boolean): void;
  queue?: WorkQueueMetrics;
}

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  workers?: number;
  hooks?: ControllerHooks;
  clock?: Clock;
}

export class Controller {
  readonly name: string;
  private queue: WorkQueue | undefined;
  private readonly clock: Clock;

  constructor(private readonly options: ControllerOptions) {
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
  }

  get running(): boolean {
    return this.queue !== undefined;
  }

  /** Starts the workers; keys enqueued before start() are dropped (a new leader lists everything anyway). */
  start(): void {
    if (this.queue) return;
    const { hooks } = this.options;
    const queue = new WorkQueue({
      clock: this.clock,
      ...(hooks?.queue === undefined ? {} : { metrics: hooks.queue }),
      onError: (key, error) => hooks?.failed?.(key, error, error instanceof TerminalError),
    });
    this.queue = queue;
    queue.run(this.options.workers ?? 1, (key) => this.reconcileTimed(key));
  }

  async stop(): Promise<void> {
    const queue = this.queue;
    this.queue = undefined;
    await queue?.shutDown();
  }

  enqueue(key: string): void {
    this.queue?.add(key);
  }

  enqueueAfter(key: string, ms: number): void {
    this.queue?.addAfter(key, ms);
  }

  private async reconcileTimed(key: string): Promise<ReconcileResult | void> {
    const started = this.clock.now();
    const seconds = (): number => (this.clock.now() - started) / 1000;
    try {
      const result = await this.options.reconciler.reconcile(key);
      this.options.hooks?.reconciled?.(result?.requeueAfter === undefined ? 'success' : 'requeue', seconds());
      return result;
    } catch (error) {
      this.options.hooks?.reconciled?.(error instanceof TerminalError ? 'terminal' : 'error', seconds());
      throw error;
    }
  }
}
