// The operator's HTTP endpoints: Prometheus text on /metrics, liveness on
// /healthz and readiness on /readyz. Readiness is the conjunction of named
// checks that components register (API server connected, caches synced, ...).
// The metrics endpoint can serve HTTPS and admit only callers a MetricsAccess
// lets through (the `--metrics-secure` mode); probes stay plain HTTP for the kubelet.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { MetricsAccess } from './metrics-auth.js';
import type { ServingCertificate } from './serving-cert.js';

export class Readiness {
  private readonly checks = new Map<string, boolean>();

  /** Declare a check that starts out not ready. */
  require(name: string): void {
    if (!this.checks.has(name)) this.checks.set(name, false);
  }

  set(name: string, ready: boolean): void {
    this.checks.set(name, ready);
  }

  notReady(): string[] {
    return [...this.checks].filter(([, ready]) => !ready).map(([name]) => name);
  }
}

export interface EndpointOptions {
  metrics?: Registry;
  readiness?: Readiness;
  /** Serve HTTPS with this key pair instead of plain HTTP. */
  tls?: ServingCertificate;
  /** Who may read /metrics; without it anyone who can connect may. */
  metricsAccess?: MetricsAccess;
}

interface Reply {
  status: number;
  type: string;
  body: string;
  headers?: Record<string, string>;
}

const text = (status: number, body: string, headers?: Record<string, string>): Reply => ({
  status,
  type: 'text/plain',
  body,
  ...(headers ? { headers } : {}),
});

export class HttpEndpoints {
  private readonly server: Server;

  constructor(private readonly options: EndpointOptions) {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.handle(req).then(
        ({ status, type, body, headers }) => {
          res.writeHead(status, { 'Content-Type': type, ...headers }).end(body);
        },
        () => res.writeHead(500, { 'Content-Type': 'text/plain' }).end('internal error'),
      );
    };
    this.server = options.tls
      ? createTlsServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, handler)
      : createServer(handler);
    this.server.keepAliveTimeout = 5_000;
    // Slow or idle clients must not pin connections (and their buffers) for long.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
  }

  private async handle(req: IncomingMessage): Promise<Reply> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' || path === '/livez') return text(200, 'ok');
    if (path === '/readyz' && this.options.readiness) {
      const pending = this.options.readiness.notReady();
      return pending.length === 0 ? text(200, 'ok') : text(503, `not ready: ${pending.join(', ')}`);
    }
    if (path === '/metrics' && this.options.metrics) {
      const access = this.options.metricsAccess;
      if (access) {
        if (req.method !== 'GET') return text(405, 'Method Not Allowed', { Allow: 'GET' });
        const decision = await access.admit(req.headers.authorization, path);
        if (decision.status === 401)
          return text(401, decision.reason, { 'WWW-Authenticate': 'Bearer realm="shipshape-metrics"' });
        if (decision.status === 429) return text(429, decision.reason, { 'Retry-After': '1' });
        if (decision.status !== 200) return text(decision.status, decision.reason);
      }
      return {
        status: 200,
        type: this.options.metrics.contentType,
        body: await this.options.metrics.metrics(),
      };
    }
    return text(404, 'not found');
  }

  /** Listen on `host:port` (port 0 picks a free one); resolves with the bound port. */
  listen(address: string): Promise<number> {
    const { host, port } = parseBindAddress(address);
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}

/** ":8080" → all interfaces; "127.0.0.1:0" → loopback, free port. */
export function parseBindAddress(address: string): { host: string | undefined; port: number } {
  const index = address.lastIndexOf(':');
  if (index < 0) throw new Error(`bind address "${address}" must be host:port or :port`);
  const host = address.slice(0, index).replace(/^\[|\]$/g, '') || undefined;
  const port = Number(address.slice(index + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`bind address "${address}" has an invalid port`);
  return { host, port };
}
