// Records Kubernetes Events (events.k8s.io/v1) about workloads without letting
// them flood the API server: a repeat of the same event within a window becomes
// one Event whose series count is patched now and then, and token buckets (one per
// regarding object plus a global one) drop the excess when a thousand pods crash
// loop at once. Recording never throws: failures go to one error handler.
import {
  V1MicroTime,
  type EventsV1Event,
  type KubernetesObject,
  type V1ObjectReference,
} from '@kubernetes/client-node';
import { systemClock, type Clock } from './clock.js';

/** The EventsV1Api calls we need; client-node's EventsV1Api satisfies it. */
export interface EventsClient {
  createNamespacedEvent(param: { namespace: string; body: EventsV1Event }): Promise<EventsV1Event>;
  // client-node sends this body as a JSON Patch (application/json-patch+json) by default.
  patchNamespacedEvent(param: { name: string; namespace: string; body: object }): Promise<EventsV1Event>;
}

export type EventType = 'Normal' | 'Warning';

/** The Event's reference to `object` (any Kubernetes object the cache holds). */
export function regardingOf(object: KubernetesObject): V1ObjectReference {
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.metadata?.name,
    namespace: object.metadata?.namespace,
    uid: object.metadata?.uid,
  };
}

export interface EventSpec {
  /** The object the event is about (kind, namespace, name, uid, apiVersion). */
  regarding: V1ObjectReference;
  related?: V1ObjectReference;
  type: EventType;
  /** CamelCase, from a fixed set in code (it is a metric label): "PolicyViolation", "ImagePullFailed". */
  reason: string;
  /** What the operator did or failed to do: "Evaluate", "Scan", "VerifySignature". */
  action: string;
  /** Human-readable; trimmed to the API's 1 kB limit. */
  note: string;
}

export type EventOutcome = 'sent' | 'deduplicated' | 'ratelimited' | 'error';

export interface EventMetrics {
  recorded(type: EventType, reason: string, outcome: EventOutcome): void;
}

export const REPORTING_CONTROLLER = 'shipshape.dev/operator';

export interface EventRecorderOptions {
  client: EventsClient;
  /** This replica, usually the pod name. */
  reportingInstance: string;
  reportingController?: string;
  clock?: Clock;
  /** Repeats within this long of the previous occurrence join its series. Default 6 min (client-go). */
  dedupeWindowMs?: number;
  /** A series' count is patched at most this often. Default 60 s. */
  seriesPatchIntervalMs?: number;
  /** Events per regarding object allowed at once. Default 25 (client-go's spam filter). */
  perObjectBurst?: number;
  /** Refill rate per regarding object. Default 1 per 5 min (client-go's spam filter). */
  perObjectPerSecond?: number;
  /** API writes (creates and patches) allowed at once across all objects. Default 100. */
  globalBurst?: number;
  /** Refill rate of the global bucket. Default 10 per second. */
  globalPerSecond?: number;
  /** Bounds memory: least recently used series and buckets beyond this are forgotten. Default 4096. */
  maxTracked?: number;
  metrics?: EventMetrics;
  onError?: (error: unknown, event: EventSpec) => void;
}

/** A token bucket driven by an explicit clock reading. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  tryTake(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.perSecond);
    this.last = now;
  }
}

interface Series {
  name: string;
  namespace: string;
  count: number;
  lastSeen: number;
  lastWritten: number;
  created: boolean;
}

const MAX_NOTE_BYTES = 1024;
const MAX_NAME_LENGTH = 253;

export class EventRecorder {
  private readonly client: EventsClient;
  private readonly reportingInstance: string;
  private readonly reportingController: string;
  private readonly clock: Clock;
  private readonly dedupeWindowMs: number;
  private readonly seriesPatchIntervalMs: number;
  private readonly perObjectBurst: number;
  private readonly perObjectPerSecond: number;
  private readonly maxTracked: number;
  private readonly global: TokenBucket;
  private readonly metrics: EventMetrics;
  private readonly onError: (error: unknown, event: EventSpec) => void;

  // Maps keep insertion order; re-inserting on use makes the first entry the least recently used.
  private readonly series = new Map<string, Series>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly inFlight = new Set<Promise<void>>();
  private sequence = 0;
  private closed = false;

  constructor(options: EventRecorderOptions) {
    this.client = options.client;
    this.reportingInstance = options.reportingInstance.slice(0, 128);
    this.reportingController = options.reportingController ?? REPORTING_CONTROLLER;
    this.clock = options.clock ?? systemClock;
    this.dedupeWindowMs = options.dedupeWindowMs ?? 6 * 60_000;
    this.seriesPatchIntervalMs = options.seriesPatchIntervalMs ?? 60_000;
    this.perObjectBurst = options.perObjectBurst ?? 25;
    this.perObjectPerSecond = options.perObjectPerSecond ?? 1 / 300;
    this.maxTracked = options.maxTracked ?? 4096;
    this.global = new TokenBucket(
      options.globalBurst ?? 100,
      options.globalPerSecond ?? 10,
      this.clock.now(),
    );
    this.metrics = options.metrics ?? { recorded: () => {} };
    this.onError = options.onError ?? (() => {});
  }

  /** Records `event` in the background; returns what happened to it. Never throws. */
  record(event: EventSpec): EventOutcome {
    try {
      return this.recordUnsafe(event);
    } catch (error) {
      this.fail(error, event);
      return 'error';
    }
  }

  /** Resolves when every API call started so far has finished. */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops recording (later calls are dropped) and waits for calls in flight. Safe to call more than once. */
  async shutdown(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private recordUnsafe(event: EventSpec): EventOutcome {
    if (this.closed) return 'ratelimited';
    const now = this.clock.now();
    const objectKey = objectKeyOf(event.regarding);
    const seriesKey = JSON.stringify([objectKey, event.type, event.reason, event.action, event.note]);
    const existing = this.series.get(seriesKey);

    if (existing !== undefined && now - existing.lastSeen <= this.dedupeWindowMs) {
      existing.count++;
      existing.lastSeen = now;
      touch(this.series, seriesKey, existing);
      if (
        existing.created &&
        now - existing.lastWritten >= this.seriesPatchIntervalMs &&
        this.global.tryTake(now)
      ) {
        existing.lastWritten = now;
        this.track(this.patchSeries(seriesKey, existing, event));
      }
      this.metrics.recorded(event.type, event.reason, 'deduplicated');
      return 'deduplicated';
    }

    const bucket = this.bucketFor(objectKey, now);
    if (bucket.available(now) < 1 || this.global.available(now) < 1) {
      this.metrics.recorded(event.type, event.reason, 'ratelimited');
      return 'ratelimited';
    }
    bucket.tryTake(now);
    this.global.tryTake(now);

    const entry: Series = {
      name: this.eventName(event.regarding, now),
      namespace: event.regarding.namespace || 'default',
      count: 1,
      lastSeen: now,
      lastWritten: now,
      created: false,
    };
    touch(this.series, seriesKey, entry);
    evict(this.series, this.maxTracked);
    this.track(this.create(seriesKey, entry, event, now));
    return 'sent';
  }

  private async create(seriesKey: string, entry: Series, event: EventSpec, now: number): Promise<void> {
    const body: EventsV1Event = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: entry.name, namespace: entry.namespace },
      eventTime: new V1MicroTime(now),
      reportingController: this.reportingController,
      reportingInstance: this.reportingInstance,
      regarding: event.regarding,
      ...(event.related ? { related: event.related } : {}),
      type: event.type,
      reason: event.reason.slice(0, 128),
      action: event.action.slice(0, 128),
      note: truncateBytes(event.note, MAX_NOTE_BYTES),
    };
    try {
      await this.client.createNamespacedEvent({ namespace: entry.namespace, body });
      entry.created = true;
      this.metrics.recorded(event.type, event.reason, 'sent');
    } catch (error) {
      // Forget the series so the next occurrence tries a fresh create.
      if (this.series.get(seriesKey) === entry) this.series.delete(seriesKey);
      this.fail(error, event);
    }
  }

  private async patchSeries(seriesKey: string, entry: Series, event: EventSpec): Promise<void> {
    const patch = [
      {
        op: 'add',
        path: '/series',
        value: { count: entry.count, lastObservedTime: new V1MicroTime(entry.lastSeen) },
      },
    ];
    try {
      await this.client.patchNamespacedEvent({ name: entry.name, namespace: entry.namespace, body: patch });
    } catch (error) {
      // The Event may have expired (the apiserver's event TTL): start a new one next time.
      if (this.series.get(seriesKey) === entry) this.series.delete(seriesKey);
      this.fail(error, event);
    }
  }

  private bucketFor(objectKey: string, now: number): TokenBucket {
    const bucket =
      this.buckets.get(objectKey) ?? new TokenBucket(this.perObjectBurst, this.perObjectPerSecond, now);
    touch(this.buckets, objectKey, bucket);
    evict(this.buckets, this.maxTracked);
    return bucket;
  }

  private eventName(regarding: V1ObjectReference, now: number): string {
    // Like client-go: "<regarding name>.<unix nanoseconds in hex>"; the sequence keeps names unique within a millisecond.
    const suffix = (BigInt(now) * 1_000_000n + BigInt(this.sequence++ % 1_000_000)).toString(16);
    const base = (regarding.name ?? 'unknown').slice(0, MAX_NAME_LENGTH - suffix.length - 1);
    return `${base}.${suffix}`;
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private fail(error: unknown, event: EventSpec): void {
    try {
      this.metrics.recorded(event.type, event.reason, 'error');
      this.onError(error, event);
    } catch {
      // The error handler is the last stop.
    }
  }
}

function objectKeyOf(ref: V1ObjectReference): string {
  return ref.uid || `${ref.apiVersion ?? ''}/${ref.kind ?? ''}/${ref.namespace ?? ''}/${ref.name ?? ''}`;
}

function touch<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
}

function evict<V>(map: Map<string, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next().value as string;
    map.delete(oldest);
  }
}

/** Cuts `text` to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const marker = '…';
  const budget = maxBytes - Buffer.byteLength(marker, 'utf8');
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > budget) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end) + marker;
}
