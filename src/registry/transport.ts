// HTTP for the registry client, on node:http/node:https rather than fetch: only
// there can the connection's DNS lookup be replaced, which is how every resolved
// address is checked against the AddressPolicy and the socket then connects to that
// very address (no DNS rebinding window). It also gives explicit connect, response,
// body-idle and total timeouts, streaming bodies with backpressure, manual redirects
// (each hop judged again, Authorization never sent to another origin), retries with
// exponential backoff and Retry-After, and a rate and concurrency limit per registry.
import type { LookupAddress } from 'node:dns';
import { promises as dns } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { Readable, finished } from 'node:stream';
import { rootCertificates } from 'node:tls';

import { AddressPolicy, type AddressPolicyConfig } from './address-policy.js';
import { RegistryError } from './errors.js';

/** Time, injectable so tests of backoff and rate limits do not sleep. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  // The timer stays referenced: a caller awaiting a backoff is pending work, and an
  // unref'd timer as its only handle lets the event loop empty, so `shipshape sbom`
  // exited with 13 ("unsettled top-level await") in the middle of a retry. The waits
  // are bounded by RetryConfig (maxDelayMs, maxRetryAfterMs) and the rate limits.
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface RegistryHostConfig {
  /** Speak plain HTTP to this host. Only hosts named here ever get plain HTTP. */
  readonly plainHttp?: boolean;
  /** PEM CA certificate(s) trusted for this host, in addition to the system roots. */
  readonly ca?: string | Buffer;
  /** Hosts to try before this one, in order (e.g. pull-through caches). */
  readonly mirrors?: readonly string[];
  /** Sustained request rate to this host; unlimited when absent. */
  readonly requestsPerSecond?: number;
  /** Requests that may start at once after an idle period (token bucket size); default max(1, rate). */
  readonly burst?: number;
  /** Requests (including streaming bodies) open at once to this host; default 8. */
  readonly maxConcurrency?: number;
}

export interface TransportTimeouts {
  /** TCP connection establishment. */
  readonly connectMs: number;
  /** From sending the request to the response headers. */
  readonly responseMs: number;
  /** Longest wait for the next body chunk while the reader is waiting for one. */
  readonly bodyIdleMs: number;
  /** The whole exchange including the body (callers raise it for large blobs). */
  readonly totalMs: number;
}

export interface RetryConfig {
  /** Attempts including the first. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A Retry-After longer than this is not waited for; the answer is returned instead. */
  readonly maxRetryAfterMs: number;
}

export interface TransportConfig {
  readonly policy?: AddressPolicyConfig;
  /** Per-host settings keyed by `host:port` or by bare host (any port). */
  readonly hosts?: Readonly<Record<string, RegistryHostConfig>>;
  readonly timeouts?: Partial<TransportTimeouts>;
  readonly retry?: Partial<RetryConfig>;
  readonly maxRedirects?: number;
  readonly userAgent?: string;
}

export interface TransportDependencies {
  readonly clock?: Clock;
  /** DNS resolution, injectable for tests; default node:dns lookup (getaddrinfo, /etc/hosts included). */
  readonly resolve?: (hostname: string) => Promise<readonly LookupAddress[]>;
  /** Jitter source in [0, 1). */
  readonly random?: () => number;
}

export interface TransportRequest {
  readonly method: 'GET' | 'HEAD';
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  /** The registry as the user named it, for messages and limits. */
  readonly registry: string;
  /** How messages name the first hop when it is not the registry itself (e.g. its token realm). */
  readonly label?: string;
  readonly timeouts?: Partial<TransportTimeouts>;
}

export interface TransportResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The body; reading it is guarded by the idle and total timeouts. Destroy it if unused. */
  readonly body: Readable;
  /** The URL that answered, after redirects. */
  readonly url: URL;
}

/** Anything that performs registry HTTP; RegistryClient takes this so tests can fake it. */
export interface HttpTransport {
  request(request: TransportRequest): Promise<TransportResponse>;
  hostConfig(host: string): RegistryHostConfig;
  close(): void;
}

export const DEFAULT_TIMEOUTS: TransportTimeouts = {
  connectMs: 10_000,
  responseMs: 30_000,
  bodyIdleMs: 30_000,
  totalMs: 120_000,
};
export const DEFAULT_RETRY: RetryConfig = {
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 60_000,
};
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
const RETRY_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

/** Parses Retry-After (seconds or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function stripBrackets(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/** A counting semaphore for one host. */
class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.active--;
    };
  }
}

/** A token bucket for one host; time comes from the injected clock. */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Resolves when a request may start; callers are served in arrival order. */
  take(): Promise<void> {
    const turn = this.queue.then(async () => {
      for (;;) {
        const now = this.clock.now();
        this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
        this.last = now;
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return;
        }
        await this.clock.sleep(Math.ceil(((1 - this.tokens) / this.perSecond) * 1000));
      }
    });
    this.queue = turn;
    return turn;
  }
}

/**
 * A body stream that errors when no chunk arrives for `idleMs` while its reader waits
 * (a reader that is merely slow does not trip it), and releases its slot when done.
 */
class GuardedBody extends Readable {
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: http.IncomingMessage,
    private readonly idleMs: number,
    private readonly onIdle: () => Error,
  ) {
    super();
    source.on('data', (chunk: Buffer) => {
      this.clearIdle();
      if (!this.push(chunk)) source.pause();
    });
    source.once('end', () => {
      this.clearIdle();
      this.push(null);
    });
    source.once('error', (err) => this.destroy(err));
    source.once('close', () => {
      if (!source.readableEnded)
        this.destroy(new Error('the registry closed the connection before the body ended'));
    });
    source.pause();
  }

  override _read(): void {
    if (this.idleTimer === undefined && !this.source.readableEnded) {
      this.idleTimer = setTimeout(() => this.destroy(this.onIdle()), this.idleMs);
    }
    this.source.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.clearIdle();
    this.source.destroy();
    callback(error);
  }

  private clearIdle(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}

/**
 * Reads a whole body but never more than `maxBytes`: an announced Content-Length over
 * the cap is refused before reading, and a stream that grows past it is cut at once,
 * so an oversized answer is never buffered.
 */
export async function readBodyCapped(
  body: Readable,
  headers: http.IncomingHttpHeaders,
  maxBytes: number,
  tooLarge: (announcedOrSeen: number) => Error,
): Promise<Buffer> {
  const announced = Number(headers['content-length']);
  if (Number.isFinite(announced) && announced > maxBytes) {
    body.destroy();
    throw tooLarge(announced);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    total += buffer.length;
    if (total > maxBytes) {
      body.destroy();
      throw tooLarge(total);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, total);
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

export class RegistryTransport implements HttpTransport {
  private readonly policy: AddressPolicy;
  private readonly timeouts: TransportTimeouts;
  private readonly retry: RetryConfig;
  private readonly maxRedirects: number;
  private readonly clock: Clock;
  private readonly resolve: (hostname: string) => Promise<readonly LookupAddress[]>;
  private readonly random: () => number;
  private readonly agents = new Map<string, http.Agent>();
  private readonly semaphores = new Map<string, Semaphore>();
  private readonly limiters = new Map<string, RateLimiter>();

  constructor(
    private readonly config: TransportConfig = {},
    deps: TransportDependencies = {},
  ) {
    this.policy = new AddressPolicy(config.policy);
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...config.timeouts };
    this.retry = { ...DEFAULT_RETRY, ...config.retry };
    this.maxRedirects = config.maxRedirects ?? 5;
    this.clock = deps.clock ?? systemClock;
    this.resolve = deps.resolve ?? ((hostname) => dns.lookup(hostname, { all: true, order: 'verbatim' }));
    this.random = deps.random ?? Math.random;
  }

  /** The configuration for `host:port`, falling back to the bare host name. */
  hostConfig(host: string): RegistryHostConfig {
    const hosts = this.config.hosts ?? {};
    const bare = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
    return hosts[host] ?? (bare === undefined ? undefined : hosts[bare]) ?? {};
  }

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  /** Performs a request, following redirects; returns whatever final status the registry gave. */
  async request(request: TransportRequest): Promise<TransportResponse> {
    const timeouts = { ...this.timeouts, ...request.timeouts };
    let url = request.url;
    const headers: Record<string, string> = { ...request.headers };
    if (this.config.userAgent !== undefined) headers['user-agent'] = this.config.userAgent;
    const origin = url.origin;
    const first = request.label ?? `registry ${request.registry}`;
    for (let hop = 0; ; hop++) {
      const label = hop === 0 ? first : `${first} redirected to ${url.host}, which`;
      const response = await this.withRetries(
        request.method,
        url,
        headers,
        request.registry,
        label,
        timeouts,
      );
      const location = response.headers.location;
      if (!REDIRECT_STATUSES.has(response.status) || location === undefined) return response;
      response.body.destroy();
      if (hop >= this.maxRedirects) {
        throw new RegistryError(
          'TooManyRedirects',
          `registry ${request.registry} redirected more than ${this.maxRedirects} times`,
          {
            registry: request.registry,
          },
        );
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new RegistryError(
          'UnexpectedStatus',
          `registry ${request.registry} redirected to an invalid location`,
          {
            registry: request.registry,
          },
        );
      }
      if (
        url.protocol === 'https:' &&
        next.protocol === 'http:' &&
        this.hostConfig(next.host).plainHttp !== true
      ) {
        throw new RegistryError(
          'RegistryNotAllowed',
          `registry ${request.registry} redirected from HTTPS to plain HTTP at ${next.host}, which is not configured for plain HTTP`,
          { registry: request.registry },
        );
      }
      // Credentials belong to the scheme://host:port they were issued for; storage backends
      // get signed URLs instead, and once dropped they stay dropped for later hops.
      if (next.origin !== origin) delete headers['authorization'];
      url = next;
    }
  }

  private async withRetries(
    method: string,
    url: URL,
    headers: Record<string, string>,
    registry: string,
    label: string,
    timeouts: TransportTimeouts,
  ): Promise<TransportResponse> {
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= this.retry.maxAttempts;
      let response: TransportResponse;
      try {
        response = await this.attempt(method, url, headers, registry, label, timeouts);
      } catch (err) {
        const retryable =
          (err instanceof RegistryError && err.retryable) || RETRY_NETWORK_CODES.has(errorCode(err) ?? '');
        if (last || !retryable) throw this.asRegistryError(err, registry, label);
        await this.clock.sleep(this.backoff(attempt));
        continue;
      }
      if (!RETRY_STATUSES.has(response.status) || last) return response;
      const header = response.headers['retry-after'];
      const retryAfter = parseRetryAfter(Array.isArray(header) ? header[0] : header, this.clock.now());
      if (retryAfter !== undefined && retryAfter > this.retry.maxRetryAfterMs) return response;
      response.body.destroy();
      await this.clock.sleep(retryAfter ?? this.backoff(attempt));
    }
  }

  private backoff(attempt: number): number {
    const exponential = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(exponential * (0.5 + this.random() / 2));
  }

  private asRegistryError(err: unknown, registry: string, label: string): RegistryError {
    if (err instanceof RegistryError) return err;
    const code = errorCode(err);
    // Only the code and Node's own wording: no URLs with query strings, no headers.
    const detail = code ?? (err instanceof Error ? err.message : 'unknown error');
    return new RegistryError('NetworkError', `${label} could not be reached: ${detail}`, {
      registry,
      retryable: true,
    });
  }

  private notAllowed(label: string, registry: string, reason: string): RegistryError {
    return new RegistryError(
      'RegistryNotAllowed',
      `${label} is not allowed: ${reason} (allow it in registry configuration)`,
      {
        registry,
      },
    );
  }

  /** The connection's DNS step: resolve, keep only allowed addresses, connect to exactly those. */
  private lookupFor(label: string, registry: string, port: number): LookupFunction {
    return (hostname, options, callback) => {
      this.resolve(hostname).then(
        (addresses) => {
          const family = options.family === 4 || options.family === 6 ? options.family : undefined;
          const candidates = addresses.filter((a) => family === undefined || a.family === family);
          const verdicts = candidates.map((a) => ({
            a,
            v: this.policy.checkResolved(hostname, a.address, port),
          }));
          const allowed = verdicts.filter((x) => x.v.allowed).map((x) => x.a);
          const first = allowed[0];
          if (first === undefined) {
            const refusal = verdicts.find((x) => !x.v.allowed)?.v;
            const reason =
              refusal !== undefined && !refusal.allowed ? refusal.reason : `${hostname} has no address`;
            callback(this.notAllowed(label, registry, reason), '', 0);
            return;
          }
          if (options.all === true)
            callback(
              null,
              allowed.map((a) => ({ address: a.address, family: a.family })),
            );
          else callback(null, first.address, first.family);
        },
        (err: NodeJS.ErrnoException) => callback(err, '', 0),
      );
    };
  }

  private agentFor(url: URL): http.Agent {
    const key = `${url.protocol}//${url.host}`;
    let agent = this.agents.get(key);
    if (agent === undefined) {
      const ca = this.hostConfig(url.host).ca;
      agent =
        url.protocol === 'https:'
          ? new https.Agent({
              keepAlive: true,
              ...(ca === undefined ? {} : { ca: [...rootCertificates, ca.toString()] }),
            })
          : new http.Agent({ keepAlive: true });
      this.agents.set(key, agent);
    }
    return agent;
  }

  private semaphoreFor(registry: string): Semaphore {
    let semaphore = this.semaphores.get(registry);
    if (semaphore === undefined) {
      semaphore = new Semaphore(Math.max(1, this.hostConfig(registry).maxConcurrency ?? 8));
      this.semaphores.set(registry, semaphore);
    }
    return semaphore;
  }

  private async rateLimit(registry: string): Promise<void> {
    const config = this.hostConfig(registry);
    if (config.requestsPerSecond === undefined || config.requestsPerSecond <= 0) return;
    let limiter = this.limiters.get(registry);
    if (limiter === undefined) {
      const burst = config.burst ?? Math.max(1, config.requestsPerSecond);
      limiter = new RateLimiter(config.requestsPerSecond, burst, this.clock);
      this.limiters.set(registry, limiter);
    }
    await limiter.take();
  }

  /** One HTTP exchange without redirects or retries. */
  private async attempt(
    method: string,
    url: URL,
    headers: Record<string, string>,
    registry: string,
    label: string,
    timeouts: TransportTimeouts,
  ): Promise<TransportResponse> {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw this.notAllowed(label, registry, `the ${url.protocol} scheme is not supported`);
    }
    if (url.protocol === 'http:' && this.hostConfig(url.host).plainHttp !== true) {
      throw this.notAllowed(label, registry, `plain HTTP to ${url.host} is not configured`);
    }
    const hostname = stripBrackets(url.hostname);
    // The port that is connected to is part of what the policy judges: URL drops default ports.
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    const verdict = this.policy.checkHost(hostname, port);
    if (!verdict.allowed) throw this.notAllowed(label, registry, verdict.reason);

    await this.rateLimit(registry);
    const release = await this.semaphoreFor(registry).acquire();
    const timeoutError = (what: string, ms: number): RegistryError =>
      new RegistryError('Timeout', `${label} ${what} within ${ms / 1000}s`, { registry, retryable: true });

    return new Promise<TransportResponse>((resolve, reject) => {
      const transport = url.protocol === 'https:' ? https : http;
      const req = transport.request({
        method,
        protocol: url.protocol,
        hostname,
        port,
        path: `${url.pathname}${url.search}`,
        headers,
        agent: this.agentFor(url),
        lookup: this.lookupFor(label, registry, port),
        ...(url.protocol === 'https:' ? { servername: hostname } : {}),
      });
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const clearTimers = (): void => timers.forEach((t) => clearTimeout(t));
      const fail = (err: Error): void => {
        clearTimers();
        release();
        if (!settled) {
          settled = true;
          reject(err);
        }
      };
      timers.push(
        setTimeout(
          () => req.destroy(timeoutError('did not answer', timeouts.responseMs)),
          timeouts.responseMs,
        ),
      );
      const totalTimer = setTimeout(() => {
        const err = timeoutError('did not complete the transfer', timeouts.totalMs);
        req.destroy(err);
        body?.destroy(err);
      }, timeouts.totalMs);
      timers.push(totalTimer);
      let body: GuardedBody | undefined;

      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        const connectTimer = setTimeout(
          () => req.destroy(timeoutError('did not accept a connection', timeouts.connectMs)),
          timeouts.connectMs,
        );
        timers.push(connectTimer);
        socket.once('connect', () => clearTimeout(connectTimer));
      });
      req.on('error', (err) => {
        if (body !== undefined) body.destroy(err);
        fail(err);
      });
      req.on('response', (res) => {
        for (const t of timers) if (t !== totalTimer) clearTimeout(t);
        body = new GuardedBody(res, timeouts.bodyIdleMs, () =>
          timeoutError('stopped sending data', timeouts.bodyIdleMs),
        );
        finished(body, () => {
          clearTimers();
          release();
        });
        if (method === 'HEAD') body.resume();
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, url });
      });
      req.end();
    });
  }
}
