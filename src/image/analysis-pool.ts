// Image analysis off the operator's event loop and out of its heap: a pool of worker
// processes (one per core by default), each analysing one image at a time under
// budgets the pool enforces from outside: a heap limit (--max-old-space-size), a
// wall-clock budget per image and per layer, and the walker's byte, entry and layer
// limits. A job over budget is stopped by killing its worker, which is then replaced;
// the image's result is a Failed analysis whose reason names the budget
// (AnalysisTimeout, AnalysisMemoryLimit, AnalysisTooLarge) and which is not
// retryable, so the image service tries it again only after its failure TTL, never
// in a tight loop. Nothing a hostile image does in a worker can stall, crash or fill
// the operator's process.
// Processes, not worker_threads: a worker thread's resourceLimits are best effort —
// one array grown past the limit (a million packages from a forged dpkg status file
// does it) aborts the whole process with "Reached heap limit" (nodejs/node#47224),
// so a thread cannot keep that promise. Hand-written over child_process rather than
// a pool library: what matters is per-job termination with a reason, per-layer
// deadlines fed by the worker, and replacing a killed worker, a small state machine
// around one ChildProcess, not a general task queue.
import { availableParallelism, setPriority, totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import type { CredentialSource } from '../registry/auth.js';
import {
  DockerConfigCredentialSource,
  dockerConfigsOf,
  type DockerConfig,
} from '../registry/docker-config.js';
import type { Platform } from '../registry/manifest.js';
import { tryParseImageReference } from '../registry/reference.js';
import type { AnalyzerSettings } from './analyzer-setup.js';
import { compactInventoryOf } from './compact-inventory.js';
import type {
  AnalyzeOptions,
  AnalyzerLogger,
  ImageAnalysis,
  ImageAnalysisFailure,
} from './image-analyzer.js';

/** What every worker is started with: plain data (JSON in its environment), never credentials. */
export interface AnalysisWorkerSettings {
  readonly analyzer: Omit<AnalyzerSettings, 'credentials'>;
  /**
   * Tests only: the URL of a module whose `analyze(imageRef, options)` replaces the real
   * analyzer, so a test can make a job spin or allocate. Production never sets it.
   */
  readonly analyzerModule?: string;
}

/** One job as posted to a worker. `dockerConfigs` holds passwords: never logged. */
export interface AnalysisJob {
  readonly id: number;
  readonly imageRef: string;
  readonly platform?: Platform;
  readonly dockerConfigs?: readonly DockerConfig[];
}

/** What a worker posts back. */
export type WorkerMessage =
  /** The worker is up and begins the job: the image's budget starts now, not at the fork. */
  | { readonly type: 'started'; readonly id: number }
  | { readonly type: 'layer'; readonly id: number; readonly digest: string }
  | { readonly type: 'result'; readonly id: number; readonly analysis: ImageAnalysis };

export interface AnalysisPoolOptions {
  readonly settings: AnalysisWorkerSettings;
  /** Worker processes at most (default: one per core, as many as the memory holds; see poolSizeFor). */
  readonly size?: number;
  /** Old-generation heap of each worker process, MiB (default 256). */
  readonly heapMiB?: number;
  /** Wall-clock budget of one image, from the moment a worker takes it (default 120 s). */
  readonly timeoutMs?: number;
  /** Wall-clock budget of one layer, from the moment its stream opens (default 60 s). */
  readonly layerTimeoutMs?: number;
  readonly logger?: AnalyzerLogger;
}

export const DEFAULT_ANALYSIS_HEAP_MIB = 256;
export const DEFAULT_ANALYSIS_TIMEOUT_MS = 120_000;
export const DEFAULT_LAYER_TIMEOUT_MS = 60_000;

/**
 * What a worker takes beyond its old-generation heap: Node itself (~45 MiB), the young
 * generation (3 × WORKER_SEMI_SPACE_MIB), the content of the file being analysed, held
 * outside the heap (up to the walker's 64 MiB maxFileBytes), and stream buffers. The
 * hostile-operator e2e measured 262 MiB peak RSS for a worker with a 128 MiB heap.
 */
export const WORKER_OVERHEAD_MIB = 192;
/** What the operator takes beyond its old-generation heap: Node, young generation, sockets, buffers. */
export const OPERATOR_OVERHEAD_MIB = 128;
/** Young-generation semi-space of a worker, MiB: V8 would otherwise add up to 3 × 64 MiB to the heap. */
const WORKER_SEMI_SPACE_MIB = 16;
const MiB = 1024 * 1024;

/**
 * How many workers to run by default: one per core, but no more than the memory left
 * beside the operator (its heap plus OPERATOR_OVERHEAD_MIB) holds, a worker being its
 * heap plus WORKER_OVERHEAD_MIB; at least one. The rule config/manager's memory limit
 * follows (test/unit/deploy checks it). Pure: the caller measures.
 */
export function poolSizeFor(machine: {
  readonly cores: number;
  readonly memoryBytes: number;
  readonly operatorHeapBytes: number;
  readonly heapMiB: number;
}): number {
  const byMemory = Math.floor(
    (machine.memoryBytes - machine.operatorHeapBytes - OPERATOR_OVERHEAD_MIB * MiB) /
      ((machine.heapMiB + WORKER_OVERHEAD_MIB) * MiB),
  );
  return Math.max(1, Math.min(Math.floor(machine.cores), byMemory));
}

/** poolSizeFor this process: its cores, its cgroup memory limit (or the host's memory), its heap limit. */
export function defaultPoolSize(heapMiB: number): number {
  const total = totalmem();
  const constrained = process.constrainedMemory();
  return poolSizeFor({
    cores: availableParallelism(),
    memoryBytes: constrained > 0 && constrained < total ? constrained : total,
    operatorHeapBytes: getHeapStatistics().heap_size_limit,
    heapMiB,
  });
}

const WORKER_PATH = fileURLToPath(new URL('./analysis-worker.js', import.meta.url));
/** Where a worker finds its settings. */
export const WORKER_SETTINGS_ENV = 'SHIPSHAPE_ANALYSIS_WORKER_SETTINGS';
/** Niceness of worker processes (0 is normal, 19 the lowest priority). */
const WORKER_NICENESS = 10;
/** Tail of a worker's stderr kept, to tell a heap abort from other deaths. */
const STDERR_TAIL_BYTES = 4096;

interface QueuedJob {
  readonly job: AnalysisJob;
  readonly resolve: (analysis: ImageAnalysis) => void;
}

interface RunningJob extends QueuedJob {
  imageTimer: NodeJS.Timeout;
  layerTimer?: NodeJS.Timeout;
}

interface WorkerSlot {
  readonly worker: ChildProcess;
  running?: RunningJob;
  /** Killed or ended: takes no more jobs. */
  retired: boolean;
  /** The last bytes the worker wrote to stderr (V8 says "heap out of memory" there). */
  stderrTail: string;
  readonly exited: Promise<void>;
}

/** Warnings a worker sends back (the first ones, each cut to MAX_WARNING_CHARS); the rest are counted. */
export const MAX_WARNINGS_SENT = 3;
const MAX_WARNING_CHARS = 300;

/**
 * The analysis a worker sends back: the inventory without its lists (packages, layers,
 * and all but MAX_WARNINGS_SENT warnings, which say what was not read), only their
 * counts and the bounded compact form vulnerability matching reads, so a hostile
 * image's million packages never cross into the operator's process. Pure.
 */
export function trimmedAnalysis(analysis: ImageAnalysis): ImageAnalysis {
  if (!analysis.ok) return analysis;
  const { inventory } = analysis;
  return {
    ...analysis,
    inventory: {
      ...inventory,
      packages: [],
      layers: [],
      warnings: inventory.warnings.slice(0, MAX_WARNINGS_SENT).map((w) => w.slice(0, MAX_WARNING_CHARS)),
    },
    compact: analysis.compact ?? compactInventoryOf(inventory),
    trimmed: {
      packages: analysis.trimmed?.packages ?? inventory.packages.length,
      layers: analysis.trimmed?.layers ?? inventory.layers.length,
      warnings: analysis.trimmed?.warnings ?? inventory.warnings.length,
    },
  };
}

/** A walk limit that fired is the image being over its analysis budget. Pure. */
export function budgetReasonOf(analysis: ImageAnalysis): ImageAnalysis {
  if (analysis.ok || analysis.reason !== 'LimitExceeded') return analysis;
  return { ...analysis, reason: 'AnalysisTooLarge', retryable: false };
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

export class AnalysisPool {
  private readonly settings: AnalysisWorkerSettings;
  private readonly size: number;
  private readonly heapMiB: number;
  private readonly timeoutMs: number;
  private readonly layerTimeoutMs: number;
  private readonly logger: AnalyzerLogger | undefined;
  private readonly slots: WorkerSlot[] = [];
  private readonly queue: QueuedJob[] = [];
  private nextId = 1;
  private stopped = false;
  private replaced = 0;
  private started = 0;
  private dispatchScheduled = false;
  /** A worker was started in this turn of the event loop. */
  private startedThisTurn = false;

  constructor(options: AnalysisPoolOptions) {
    this.settings = options.settings;
    this.heapMiB = Math.max(16, options.heapMiB ?? DEFAULT_ANALYSIS_HEAP_MIB);
    this.size = Math.max(1, Math.floor(options.size ?? defaultPoolSize(this.heapMiB)));
    this.timeoutMs = Math.max(1, options.timeoutMs ?? DEFAULT_ANALYSIS_TIMEOUT_MS);
    this.layerTimeoutMs = Math.max(1, options.layerTimeoutMs ?? DEFAULT_LAYER_TIMEOUT_MS);
    this.logger = options.logger;
  }

  /** Worker processes at most. */
  get workers(): number {
    return this.size;
  }

  /** Workers replaced after a budget stopped them or they crashed. */
  get workersReplaced(): number {
    return this.replaced;
  }

  /** Worker processes forked since the pool was made (first ones and replacements). */
  get workersStarted(): number {
    return this.started;
  }

  /** Jobs waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }

  /** Worker processes started and not yet retired. */
  get processes(): number {
    return this.slots.filter((s) => !s.retired).length;
  }

  /** Analyses the image in a worker. Never rejects: every problem is an ImageAnalysisFailure. */
  async analyze(imageRef: string, options: AnalyzeOptions = {}): Promise<ImageAnalysis> {
    if (this.stopped) return this.failure(imageRef, 'InternalError', 'the analysis pool is shut down', true);
    let dockerConfigs: readonly DockerConfig[] | undefined;
    try {
      dockerConfigs = await plainCredentials(imageRef, options.credentials);
    } catch (err) {
      return this.failure(
        imageRef,
        'InternalError',
        `the pull credentials could not be prepared: ${err instanceof Error ? err.message : String(err)}`,
        true,
      );
    }
    // Shut down while the credentials were prepared: nothing would ever take the job.
    if (this.stopped) return this.failure(imageRef, 'InternalError', 'the analysis pool is shut down', true);
    const job: AnalysisJob = {
      id: this.nextId++,
      imageRef,
      ...(options.platform === undefined ? {} : { platform: options.platform }),
      ...(dockerConfigs === undefined ? {} : { dockerConfigs }),
    };
    return new Promise<ImageAnalysis>((resolve) => {
      this.queue.push({ job, resolve });
      this.dispatch();
    });
  }

  /**
   * Forks every worker now, one per event-loop turn, rather than when the first images
   * arrive: an operator calls it at start-up, before its informers fill the heap (a
   * fork's cost grows with the parent's memory) and before there are reconciles and
   * probes to delay. Only a worker a budget or crash retired is forked later. A fork that
   * fails is logged and left to the first job that needs the worker.
   */
  async prestart(): Promise<void> {
    while (!this.stopped && this.slots.length < this.size) {
      if (this.startedThisTurn) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      try {
        this.startWorker();
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        this.logger?.warn('analysis worker not started', { controller: 'image-analysis', why });
        return;
      }
    }
    // Jobs that arrived meanwhile may wait for a worker that is now there.
    this.dispatch();
  }

  /** Fails queued and running jobs and terminates every worker. Idempotent. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const queued of this.queue.splice(0)) {
      queued.resolve(this.failure(queued.job.imageRef, 'InternalError', 'the analysis pool shut down', true));
    }
    const slots = this.slots.splice(0);
    for (const slot of slots) {
      slot.retired = true;
      if (slot.running !== undefined) {
        const ref = slot.running.job.imageRef;
        this.settle(slot, this.failure(ref, 'InternalError', 'the analysis pool shut down', true));
      }
    }
    for (const slot of slots) slot.worker.kill('SIGKILL');
    await Promise.all(slots.map((slot) => slot.exited));
  }

  private dispatch(): void {
    while (!this.stopped && this.queue.length > 0) {
      let slot = this.slots.find((s) => s.running === undefined && !s.retired);
      if (slot === undefined && this.slots.length < this.size) {
        // fork() blocks the event loop for tens of milliseconds: one per turn, so a burst of
        // first-seen images starting every worker at once is not one long stall.
        if (this.startedThisTurn) return this.dispatchNextTurn();
        try {
          slot = this.startWorker();
        } catch (err) {
          // No process to be had (EAGAIN, ENOMEM): this job fails, the next one tries again.
          const { job, resolve } = this.queue.shift()!;
          const why = err instanceof Error ? err.message : String(err);
          resolve(
            this.failure(
              job.imageRef,
              'AnalysisCrashed',
              `no analysis worker could be started: ${why}`,
              false,
            ),
          );
          continue;
        }
      }
      if (slot === undefined) return;
      this.assign(slot, this.queue.shift()!);
    }
  }

  private dispatchNextTurn(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    // Not unref'd: a CLI's only pending work may be this job.
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  /** Forks one worker; fork() blocks the event loop, so at most one per turn (see dispatch). */
  private startWorker(): WorkerSlot {
    this.startedThisTurn = true;
    setImmediate(() => (this.startedThisTurn = false)).unref();
    const slot = this.spawn();
    this.started++;
    return slot;
  }

  private spawn(): WorkerSlot {
    const worker = fork(WORKER_PATH, [], {
      // On the command line, so they win over a NODE_OPTIONS heap size meant for the operator.
      execArgv: [`--max-old-space-size=${this.heapMiB}`, `--max-semi-space-size=${WORKER_SEMI_SPACE_MIB}`],
      env: { ...process.env, [WORKER_SETTINGS_ENV]: JSON.stringify(this.settings) },
      // Structured clone over the IPC channel; stdout is not read.
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    try {
      // Below the operator's own process: probes, reconciles and admission come first on a busy node.
      if (worker.pid !== undefined) setPriority(worker.pid, WORKER_NICENESS);
    } catch {
      // Not permitted (or the worker is already gone): it runs at the operator's priority.
    }
    let exitedResolve: () => void = () => undefined;
    const exited = new Promise<void>((resolve) => (exitedResolve = resolve));
    const slot: WorkerSlot = { worker, retired: false, stderrTail: '', exited };
    worker.stderr?.setEncoding('utf8');
    worker.stderr?.on('data', (chunk: string) => {
      slot.stderrTail = (slot.stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
    });
    worker.on('message', (message: WorkerMessage) => this.onMessage(slot, message));
    worker.on('error', (err: Error) => this.onWorkerEnded(slot, err));
    worker.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      exitedResolve();
      // Let the stderr pipe drain first: the heap message may still be in it.
      setImmediate(() => this.onWorkerEnded(slot, undefined, code, signal));
    });
    // Workers never keep the operator alive: its servers do, and a CLI exits when done.
    worker.unref();
    worker.channel?.unref();
    (worker.stderr as { unref?: () => void } | null)?.unref?.();
    this.slots.push(slot);
    return slot;
  }

  private assign(slot: WorkerSlot, queued: QueuedJob): void {
    const ref = queued.job.imageRef;
    // Until the worker says it started, the same budget bounds a worker that never comes up.
    slot.running = { ...queued, imageTimer: this.imageBudget(slot, ref) };
    const undelivered = (err: unknown): void => {
      if (slot.running?.job.id !== queued.job.id) return;
      const why = err instanceof Error ? err.message : String(err);
      this.settle(
        slot,
        this.failure(ref, 'InternalError', `the job could not be handed to a worker: ${why}`, false),
      );
      this.retire(slot, 'channel');
      slot.worker.kill('SIGKILL');
      this.dispatch();
    };
    try {
      slot.worker.send(queued.job, (err) => {
        if (err !== null) undelivered(err);
      });
    } catch (err) {
      undelivered(err);
    }
  }

  private imageBudget(slot: WorkerSlot, ref: string): NodeJS.Timeout {
    return setTimeout(() => {
      this.overBudget(
        slot,
        this.failure(
          ref,
          'AnalysisTimeout',
          `the analysis of ${ref} ran longer than its budget of ${seconds(this.timeoutMs)} and was stopped ` +
            '(an image that needs longer needs a larger --analysis-timeout)',
          false,
        ),
      );
    }, this.timeoutMs);
  }

  private onMessage(slot: WorkerSlot, message: WorkerMessage): void {
    const running = slot.running;
    if (running === undefined || message.id !== running.job.id) return;
    if (message.type === 'started') {
      clearTimeout(running.imageTimer);
      running.imageTimer = this.imageBudget(slot, running.job.imageRef);
      return;
    }
    if (message.type === 'layer') {
      clearTimeout(running.layerTimer);
      const ref = running.job.imageRef;
      running.layerTimer = setTimeout(() => {
        this.overBudget(
          slot,
          this.failure(
            ref,
            'AnalysisTimeout',
            `layer ${message.digest} of ${ref} took longer than its budget of ${seconds(this.layerTimeoutMs)} ` +
              'and the analysis was stopped',
            false,
          ),
        );
      }, this.layerTimeoutMs);
      return;
    }
    this.settle(slot, budgetReasonOf(message.analysis));
    this.dispatch();
  }

  /** Stops a job over budget: its worker is terminated (it may be spinning) and replaced. */
  private overBudget(slot: WorkerSlot, failure: ImageAnalysisFailure): void {
    if (slot.running === undefined) return;
    this.settle(slot, failure);
    this.retire(slot, failure.reason);
    slot.worker.kill('SIGKILL');
    this.dispatch();
  }

  private onWorkerEnded(
    slot: WorkerSlot,
    err: Error | undefined,
    exitCode?: number | null,
    signal?: NodeJS.Signals | null,
  ): void {
    const running = slot.running;
    if (running !== undefined) {
      const ref = running.job.imageRef;
      const outOfHeap = /heap out of memory|Reached heap limit/.test(slot.stderrTail);
      const how =
        err !== undefined
          ? err.message.slice(0, 200)
          : signal !== null && signal !== undefined
            ? `signal ${signal}`
            : `exit code ${String(exitCode)}`;
      const failure = outOfHeap
        ? this.failure(
            ref,
            'AnalysisMemoryLimit',
            `the analysis of ${ref} needed more than the ${this.heapMiB} MiB heap an analysis may use and was stopped ` +
              '(an image that needs more needs a larger --analysis-memory-mib)',
            false,
          )
        : this.failure(
            ref,
            'AnalysisCrashed',
            `the worker analysing ${ref} ended without an answer (${how})`,
            false,
          );
      this.settle(slot, failure);
    }
    if (!slot.retired) this.retire(slot, err === undefined ? `exit ${String(exitCode ?? signal)}` : 'error');
    this.dispatch();
  }

  private retire(slot: WorkerSlot, why: string): void {
    if (slot.retired) return;
    slot.retired = true;
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    if (this.stopped) return;
    this.replaced++;
    this.logger?.warn('analysis worker replaced', { controller: 'image-analysis', why });
  }

  private settle(slot: WorkerSlot, analysis: ImageAnalysis): void {
    const running = slot.running;
    if (running === undefined) return;
    clearTimeout(running.imageTimer);
    clearTimeout(running.layerTimer);
    slot.running = undefined;
    running.resolve(analysis);
  }

  private failure(
    reference: string,
    reason: ImageAnalysisFailure['reason'],
    message: string,
    retryable: boolean,
  ): ImageAnalysisFailure {
    return { ok: false, reference, reason, message, retryable };
  }
}

/**
 * The credentials as plain data for a worker: a pod's pull secrets as their docker
 * configs; any other source is asked here, in the operator, for the image's own
 * registry and repository, and its answers passed on as one config per credential.
 */
async function plainCredentials(
  imageRef: string,
  source: CredentialSource | undefined,
): Promise<readonly DockerConfig[] | undefined> {
  if (source === undefined) return undefined;
  if (source instanceof DockerConfigCredentialSource) return dockerConfigsOf(source);
  const parsed = tryParseImageReference(imageRef);
  // The worker reports an unparsable reference itself.
  if (!parsed.ok) return [];
  const { registry, repository } = parsed.reference;
  const credentials = await source.credentialsFor(registry, repository);
  return credentials.map((c) => ({
    origin: 'pod' as const,
    secretName: c.source,
    auths: { [`${registry}/${repository}`]: { username: c.username, password: c.password } },
  }));
}
