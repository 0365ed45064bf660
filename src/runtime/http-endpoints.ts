// The operator's HTTP endpoints: Prometheus text on /metrics, liveness on
// /healthz and readiness on /readyz. Readiness is the conjunction of named
// checks that components register (API server connected, caches synced, ...).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

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
}

export class HttpEndpoints {
  private readonly server: Server;

  constructor(private readonly options: EndpointOptions) {
    this.server = createServer((req, res) => {
      void this.handle(req.url ?? '/').then(({ status, type, body }) => {
        res.writeHead(status, { 'Content-Type': type }).end(body);
      });
    });
    this.server.keepAliveTimeout = 5_000;
  }

  private async handle(url: string): Promise<{ status: number; type: string; body: string }> {
    const path = url.split('?')[0];
    if (path === '/healthz' || path === '/livez') return { status: 200, type: 'text/plain', body: 'ok' };
    if (path === '/readyz' && this.options.readiness) {
      const pending = this.options.readiness.notReady();
      return pending.length === 0
        ? { status: 200, type: 'text/plain', body: 'ok' }
        : { status: 503, type: 'text/plain', body: `not ready: ${pending.join(', ')}` };
    }
    if (path === '/metrics' && this.options.metrics) {
      return {
        status: 200,
        type: this.options.metrics.contentType,
        body: await this.options.metrics.metrics(),
      };
    }
    return { status: 404, type: 'text/plain', body: 'not found' };
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
