// Keeps a client-node informer alive. In @kubernetes/client-node 2.0.1 a ListWatch
// that hits a non-410 error (list failure, 403, 500, connection refused) calls its
// error callbacks and then stays stopped for good; and a list or watch can hang
// with no sign of life. The supervisor restarts the informer, with backoff, when it
// errors or shows no sign of life (event, bookmark, completed list, established
// watch) for an idle period, and counts every restart.
import {
  ListWatch,
  Watch,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
  type ObjectCache,
  type ObjectCallback,
} from '@kubernetes/client-node';
import { systemClock, type Clock, type TimerHandle } from './clock.js';

export type SupervisedInformer<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

/** What a running informer tells the supervisor besides its own events. */
export interface InformerSignals {
  activity(): void;
  /** A list call succeeded: the cache holds the whole collection. */
  listed?(): void;
}

/** Builds the informer once; the supervisor restarts that same instance so its cache and handlers survive. */
export type InformerFactory<T extends KubernetesObject> = (signals: InformerSignals) => SupervisedInformer<T>;

export type RestartReason = 'error' | 'idle';

export interface InformerMetrics {
  restarted(reason: RestartReason): void;
}

export const noopInformerMetrics: InformerMetrics = { restarted: () => {} };

export interface InformerSupervisorOptions {
  /** Names the watched resource in errors and metrics, e.g. "pods". */
  resource: string;
  clock?: Clock;
  /** Restart when nothing was heard for this long. Default 3 min: several of client-node's 30 s watch timeouts. */
  idleTimeoutMs?: number;
  /** First restart delay after an error; doubles per consecutive restart. Default 1 s. */
  restartBaseDelayMs?: number;
  /** Upper bound of the restart delay. Default 60 s. */
  restartMaxDelayMs?: number;
  metrics?: InformerMetrics;
  /** Receives every informer error and every idle restart; never throws into the informer. */
  onError?: (error: unknown, resource: string) => void;
}

export class InformerIdleError extends Error {
  constructor(resource: string, idleMs: number) {
    super(
      `informer for ${resource} showed no sign of life for ${Math.round(idleMs / 1000)} s; restarting it`,
    );
    this.name = 'InformerIdleError';
  }
}

/**
 * Wraps one informer: start() starts it, and from then on errors and silences
 * lead to stop() + start() after a backoff that resets once the informer is heard
 * from again. Event handlers and the cache are the informer's own.
 */
export class InformerSupervisor<T extends KubernetesObject> implements ObjectCache<T> {
  readonly informer: SupervisedInformer<T>;
  private readonly resource: string;
  private readonly clock: Clock;
  private readonly idleTimeoutMs: number;
  private readonly restartBaseDelayMs: number;
  private readonly restartMaxDelayMs: number;
  private readonly metrics: InformerMetrics;
  private readonly onError: (error: unknown, resource: string) => void;

  private state: 'new' | 'running' | 'restarting' | 'stopped' = 'new';
  private lastActivity = 0;
  private idleTimer: TimerHandle | undefined;
  private restartTimer: TimerHandle | undefined;
  private consecutiveRestarts = 0;
  private restartCount = 0;
  private resolveSynced: () => void = () => undefined;
  /** Resolves once a list call has succeeded; an informer whose lists keep failing never syncs. */
  readonly synced: Promise<void>;
  /** Whether a list has succeeded since start (readiness must not claim an empty cache is full). */
  hasSynced = false;

  constructor(factory: InformerFactory<T>, options: InformerSupervisorOptions) {
    this.resource = options.resource;
    this.clock = options.clock ?? systemClock;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 180_000;
    this.restartBaseDelayMs = options.restartBaseDelayMs ?? 1000;
    this.restartMaxDelayMs = options.restartMaxDelayMs ?? 60_000;
    this.metrics = options.metrics ?? noopInformerMetrics;
    this.onError = options.onError ?? (() => {});
    this.synced = new Promise((resolve) => (this.resolveSynced = resolve));
    this.informer = factory({
      activity: () => this.markActivity(),
      listed: () => {
        this.hasSynced = true;
        this.resolveSynced();
      },
    });
    this.informer.on('error', (error?: unknown) => this.handleError(error));
    // Object events are activity too, for informers (like fakes) that do not call signals.activity().
    const onObject: ObjectCallback<T> = () => this.markActivity();
    this.informer.on('change', onObject);
  }

  /** How many times the informer was restarted. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Starts the informer; resolves when its first start() returns (the initial list, unless that failed). */
  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.lastActivity = this.clock.now();
    this.armIdleTimer(this.idleTimeoutMs);
    await this.startInformer();
  }

  /** Stops the informer and every pending restart. Safe to call more than once. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.clearTimers();
    await this.stopInformer();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  list(namespace?: string): ReadonlyArray<T> {
    return this.informer.list(namespace);
  }

  private markActivity(): void {
    this.lastActivity = this.clock.now();
    if (this.state === 'running') this.consecutiveRestarts = 0;
  }

  private handleError(error: unknown): void {
    if (this.state !== 'running') return;
    this.report(error);
    this.scheduleRestart('error');
  }

  private armIdleTimer(ms: number): void {
    this.idleTimer = this.clock.setTimeout(() => this.checkIdle(), ms);
  }

  private checkIdle(): void {
    this.idleTimer = undefined;
    if (this.state !== 'running') return;
    const silentFor = this.clock.now() - this.lastActivity;
    if (silentFor < this.idleTimeoutMs) {
      this.armIdleTimer(this.idleTimeoutMs - silentFor);
      return;
    }
    this.report(new InformerIdleError(this.resource, silentFor));
    this.scheduleRestart('idle');
  }

  private scheduleRestart(reason: RestartReason): void {
    this.state = 'restarting';
    this.clearTimers();
    const delay = Math.min(this.restartBaseDelayMs * 2 ** this.consecutiveRestarts, this.restartMaxDelayMs);
    this.consecutiveRestarts++;
    // Stop now so a half-dead watch does not keep delivering while we wait.
    void this.stopInformer();
    this.restartTimer = this.clock.setTimeout(() => {
      this.restartTimer = undefined;
      if (this.state !== 'restarting') return;
      this.state = 'running';
      this.restartCount++;
      this.metrics.restarted(reason);
      this.lastActivity = this.clock.now();
      this.armIdleTimer(this.idleTimeoutMs);
      void this.startInformer();
    }, delay);
  }

  private async startInformer(): Promise<void> {
    try {
      await this.informer.start();
    } catch (error) {
      // ListWatch reports most failures through its error callbacks, but a throw must not be lost either.
      this.handleError(error);
    }
  }

  private async stopInformer(): Promise<void> {
    try {
      await this.informer.stop();
    } catch (error) {
      this.report(error);
    }
  }

  private clearTimers(): void {
    if (this.idleTimer !== undefined) this.clock.clearTimeout(this.idleTimer);
    if (this.restartTimer !== undefined) this.clock.clearTimeout(this.restartTimer);
    this.idleTimer = undefined;
    this.restartTimer = undefined;
  }

  private report(error: unknown): void {
    try {
      this.onError(error, this.resource);
    } catch {
      // The error handler is the last stop; nothing sensible remains if it throws.
    }
  }
}

/** The subset of client-node's Watch that ListWatch calls. */
export interface WatchLike {
  watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController>;
}

/**
 * A Watch that asks for bookmarks, reports every line and every established watch
 * as activity, and swallows the completion of a request it was told to abort.
 * The last point matters: ListWatch aborts its request on stop(), the aborted fetch
 * then completes with an AbortError, and ListWatch's handler for that late
 * completion would abort the *next* request and fire error callbacks.
 */
export class ActivityReportingWatch implements WatchLike {
  constructor(
    private readonly inner: WatchLike,
    private readonly onActivity: () => void,
  ) {}

  async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    let abortedByCaller = false;
    let finished = false;
    const outer = new AbortController();
    const innerController = await this.inner.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true },
      (phase, apiObj, watchObj) => {
        if (abortedByCaller) return;
        this.onActivity();
        callback(phase, apiObj, watchObj);
      },
      (err) => {
        finished = true;
        if (abortedByCaller) return;
        done(err);
      },
    );
    // client-node's Watch resolves after the response headers (or after calling done on failure).
    if (!finished) this.onActivity();
    outer.signal.addEventListener('abort', () => {
      abortedByCaller = true;
      innerController.abort();
    });
    return outer;
  }
}

export interface ListWatchFactoryOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** API path of the collection, e.g. "/api/v1/pods" or "/apis/apps/v1/deployments". */
  path: string;
  list: ListPromise<T>;
  labelSelector?: string;
  fieldSelector?: string;
  /** A list call that takes longer fails (and the supervisor restarts). Default 60 s. */
  listTimeoutMs?: number;
  /** For tests: replaces client-node's Watch. */
  watch?: WatchLike;
  /**
   * Trims each object before it enters the cache (client-go's SetTransform): keep
   * only what the controllers read. Must keep metadata.name, namespace and resourceVersion.
   */
  transform?: (object: T) => T;
}

/** Production factory: client-node's ListWatch over an ActivityReportingWatch, with a bounded list call. */
export function listWatchFactory<T extends KubernetesObject>(
  options: ListWatchFactoryOptions<T>,
): InformerFactory<T> {
  return (signals) => {
    const inner = options.watch ?? new Watch(options.kubeConfig);
    const transform = options.transform;
    const trimmed: WatchLike =
      transform === undefined
        ? inner
        : {
            watch: (path, query, callback, done) =>
              inner.watch(
                path,
                query,
                (phase, apiObj, watchObj) =>
                  callback(
                    phase,
                    phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED'
                      ? transform(apiObj as T)
                      : apiObj,
                    watchObj,
                  ),
                done,
              ),
          };
    const watch = new ActivityReportingWatch(trimmed, () => signals.activity());
    const timeoutMs = options.listTimeoutMs ?? 60_000;
    const list: ListPromise<T> = async () => {
      const result = await withTimeout(options.list(), timeoutMs, `list ${options.path}`);
      signals.activity();
      if (transform !== undefined) result.items = result.items.map(transform);
      signals.listed?.();
      return result;
    };
    // ListWatch only calls watch(); the cast bridges the structural WatchLike to its nominal Watch parameter.
    return new ListWatch<T>(
      options.path,
      watch as unknown as Watch,
      list,
      false,
      options.labelSelector,
      options.fieldSelector,
    );
  };
}

function withTimeout<R>(promise: Promise<R>, ms: number, what: string): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
