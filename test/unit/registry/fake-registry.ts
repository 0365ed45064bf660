// A small registry speaking the OCI distribution API over real HTTP on 127.0.0.1,
// for the client's tests: token and basic auth with 401 challenges, blob redirects
// to a second "storage" server, and hooks for misbehaviour (429, slowness, oversize).
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
}

export interface TestServer {
  readonly port: number;
  readonly host: string;
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far: 0 proves nothing was even attempted against this listener. */
  readonly connections: number;
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Starts an HTTP server on a loopback address (127.0.0.1 unless another 127/8 one is asked for). */
export async function startServer(handler: Handler, address = '127.0.0.1'): Promise<TestServer> {
  if (!address.startsWith('127.')) throw new Error('test servers listen on loopback only');
  const requests: RecordedRequest[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    handler(req, res);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    host: `${address}:${port}`,
    requests,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export interface StoredManifest {
  readonly body: Buffer;
  readonly mediaType: string;
}

export interface FakeRegistryOptions {
  readonly auth?: {
    scheme: 'basic' | 'bearer';
    username: string;
    password: string;
    tokenLifetimeSeconds?: number;
  };
  /** Serve blobs by redirecting to this base URL (another server) instead of directly. */
  readonly blobRedirectBase?: string;
  /** Whether HEAD on manifests carries Docker-Content-Digest (default true). */
  readonly headDigest?: boolean;
}

/** The registry's content and behaviour; tests mutate it freely. */
export class FakeRegistry {
  readonly manifests = new Map<string, StoredManifest>(); // key: repo@tag-or-digest
  readonly blobs = new Map<string, Buffer>(); // key: digest
  tokensIssued = 0;
  /** Per-path overrides, consulted first; return true when handled. */
  override: ((req: http.IncomingMessage, res: http.ServerResponse) => boolean) | undefined;
  private validTokens = new Set<string>();

  constructor(public options: FakeRegistryOptions = {}) {}

  putManifest(repository: string, tag: string | undefined, document: unknown, mediaType: string): string {
    const body = Buffer.from(JSON.stringify(document));
    const digest = sha256(body);
    this.manifests.set(`${repository}@${digest}`, { body, mediaType });
    if (tag !== undefined) this.manifests.set(`${repository}@${tag}`, { body, mediaType });
    return digest;
  }

  putBlob(content: Buffer): { digest: string; size: number } {
    const digest = sha256(content);
    this.blobs.set(digest, content);
    return { digest, size: content.length };
  }

  revokeTokens(): void {
    this.validTokens.clear();
  }

  handler(selfBase: () => string): Handler {
    return (req, res) => {
      if (this.override?.(req, res) === true) return;
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/token') return this.token(req, res, url);
      if (!this.authorized(req)) {
        const auth = this.options.auth;
        const challenge =
          auth?.scheme === 'bearer'
            ? `Bearer realm="${selfBase()}/token",service="fake-registry",scope="repository:x:pull"`
            : 'Basic realm="fake"';
        res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
      const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
      if (m === null) {
        res.writeHead(url.pathname === '/v2/' ? 200 : 404).end();
        return;
      }
      const [, repository, kind, reference] = m as unknown as [string, string, string, string];
      if (kind === 'manifests') {
        const stored = this.manifests.get(`${repository}@${reference}`);
        if (stored === undefined) {
          res
            .writeHead(404, { 'content-type': 'application/json' })
            .end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
          return;
        }
        const headers: http.OutgoingHttpHeaders = {
          'content-type': stored.mediaType,
          'content-length': stored.body.length,
        };
        if (req.method !== 'HEAD' || this.options.headDigest !== false)
          headers['docker-content-digest'] = sha256(stored.body);
        res.writeHead(200, headers);
        res.end(req.method === 'HEAD' ? undefined : stored.body);
        return;
      }
      const blob = this.blobs.get(reference);
      if (blob === undefined) {
        res.writeHead(404).end();
        return;
      }
      if (this.options.blobRedirectBase !== undefined) {
        res
          .writeHead(307, { location: `${this.options.blobRedirectBase}/storage/${reference}?signature=abc` })
          .end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length });
      res.end(blob);
    };
  }

  private authorized(req: http.IncomingMessage): boolean {
    const auth = this.options.auth;
    if (auth === undefined) return true;
    const header = req.headers.authorization ?? '';
    if (auth.scheme === 'basic') {
      return header === `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    }
    return header.startsWith('Bearer ') && this.validTokens.has(header.slice(7));
  }

  private token(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const auth = this.options.auth;
    const expected =
      auth === undefined
        ? ''
        : `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    if (req.headers.authorization !== expected || url.searchParams.get('service') !== 'fake-registry') {
      res.writeHead(401).end('{"details":"incorrect username or password"}');
      return;
    }
    this.tokensIssued++;
    const token = `tok-${this.tokensIssued}-${url.searchParams.get('scope')}`;
    this.validTokens.add(token);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: token, expires_in: auth?.tokenLifetimeSeconds ?? 300 }));
  }
}

/** Starts a FakeRegistry on 127.0.0.1 (or another loopback address). */
export async function startRegistry(registry: FakeRegistry, address = '127.0.0.1'): Promise<TestServer> {
  let base = '';
  const server = await startServer(
    registry.handler(() => base),
    address,
  );
  base = `http://${server.host}`;
  return server;
}
