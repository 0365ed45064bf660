// The admission HTTPS endpoint: POST /validate takes an AdmissionReview and
// answers with one carrying the request's uid. Bodies are bounded (a tenant
// chooses the object's size), a request that is not an AdmissionReview gets
// 400 with the reason, and the serving certificate can be swapped at any time
// (setSecureContext: new handshakes get the new pair, open connections finish
// on the old one), so rotation drops no request.
//
// HTTP/2 with HTTP/1.1 beside it (ALPN): the API server's client speaks h2
// when offered, and then multiplexes every concurrent review over one
// connection. Over HTTP/1.1 it keeps only a few idle connections per host, so
// under a burst of 200 concurrent admissions most reviews would pay a fresh
// TLS handshake (bench/admission.ts measures both).
//
// HTTP/2 flow control: with HTTP/2's default windows (64 KiB per stream and
// for the whole connection) the API server may have only 64 KiB of request
// bodies in flight to us at once, so with many concurrent reviews, or one
// large pod, it waits a round trip for each WINDOW_UPDATE. The windows below
// let a burst of reviews arrive at once; they bound what we buffer unread.
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { errorText } from '../runtime/text.js';
import type { KeyPairPem } from './certificates.js';
import { WEBHOOK_PATH } from './configuration.js';
import { ADMITTED_KINDS, type AdmissionDecision } from './decision.js';
import { parseAdmissionReview, reviewResponse, type AdmissionRequest } from './review.js';

/**
 * The API server sends at most its request size limit (3 MiB) of object, twice
 * for an UPDATE (object and oldObject), plus the envelope.
 */
export const MAX_REVIEW_BYTES = 7 * 1024 * 1024;

/** Per-stream receive window: most reviews (a pod template, sent once or twice) fit in one. */
export const STREAM_WINDOW_BYTES = 1024 * 1024;
/** Receive window of one HTTP/2 connection, shared by its streams: what a burst of reviews may send before we read. */
export const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;

export interface AdmissionObserver {
  answered(request: AdmissionRequest, decision: AdmissionDecision, seconds: number): void;
  failed(reason: string): void;
}

export interface AdmissionServerOptions {
  review: (request: AdmissionRequest) => Promise<AdmissionDecision>;
  observer?: AdmissionObserver;
  maxBodyBytes?: number;
}

class BodyTooLarge extends Error {}

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

/** The part of a response both protocol versions share the signature of. */
function send(res: Response, status: number, headers: Record<string, string | number>, body: string): void {
  (res as ServerResponse).writeHead(status, headers).end(body);
}

/** Stops reading an oversized body: the HTTP/2 stream, or the HTTP/1.1 connection. */
function abandon(req: Request): void {
  if ('stream' in req) req.stream.close();
  else req.destroy();
}

function readBody(req: Request, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return reject(new BodyTooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        abandon(req);
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The bounded label value of a request's kind (an unregistered kind is `other`). */
export function kindLabel(request: AdmissionRequest): string {
  const key = `${request.kind.group ?? ''}/${request.kind.kind}`;
  return ADMITTED_KINDS.has(key) ? request.kind.kind : 'other';
}

export class AdmissionServer {
  private server: Http2SecureServer | undefined;
  private readonly sockets = new Set<TLSSocket>();
  private pair: KeyPairPem | undefined;

  constructor(private readonly options: AdmissionServerOptions) {}

  /** Serve with `pair` from now on (the first call must come before listen). */
  setCertificate(pair: KeyPairPem): void {
    this.pair = pair;
    this.server?.setSecureContext({ cert: pair.cert, key: pair.key });
  }

  /** Listens on `address` (host:port, :port); resolves with the port. */
  async listen(address: string): Promise<number> {
    if (!this.pair) throw new Error('the admission server has no serving certificate yet');
    const index = address.lastIndexOf(':');
    const host = address.slice(0, index).replace(/^\[|\]$/g, '') || undefined;
    const port = Number(address.slice(index + 1));
    const server = createSecureServer(
      {
        cert: this.pair.cert,
        key: this.pair.key,
        minVersion: 'TLSv1.2',
        allowHTTP1: true,
        settings: { initialWindowSize: STREAM_WINDOW_BYTES },
      },
      (req: Request, res: Response) => void this.handle(req, res),
    );
    server.on('session', (session) => session.setLocalWindowSize(CONNECTION_WINDOW_BYTES));
    // The API server keeps connections open between reviews; one idle for two minutes is closed.
    server.on('secureConnection', (socket: TLSSocket) => {
      socket.setTimeout(120_000, () => socket.destroy());
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
      this.sockets.clear();
    });
  }

  private async handle(req: Request, res: Response): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      send(res, 200, { 'Content-Type': 'text/plain' }, 'ok');
      return;
    }
    if (path !== WEBHOOK_PATH)
      return this.refuse(res, 404, `no admission endpoint at ${path}; use ${WEBHOOK_PATH}`);
    if (req.method !== 'POST') return this.refuse(res, 405, 'admission reviews are POSTed');
    const started = process.hrtime.bigint();
    let body: Buffer;
    try {
      body = await readBody(req, this.options.maxBodyBytes ?? MAX_REVIEW_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLarge)
        return this.refuse(
          res,
          413,
          `AdmissionReview larger than ${this.options.maxBodyBytes ?? MAX_REVIEW_BYTES} bytes`,
        );
      return this.refuse(res, 400, `could not read the request: ${errorText(error)}`);
    }
    let decoded: unknown;
    try {
      decoded = JSON.parse(body.toString('utf8'));
    } catch (error) {
      return this.refuse(res, 400, `body is not JSON: ${errorText(error)}`);
    }
    const parsed = parseAdmissionReview(decoded);
    if ('error' in parsed) return this.refuse(res, 400, parsed.error);
    const decision = await this.options.review(parsed.request);
    const payload = JSON.stringify(reviewResponse(decision.response));
    send(
      res,
      200,
      { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
      payload,
    );
    this.options.observer?.answered(
      parsed.request,
      decision,
      Number(process.hrtime.bigint() - started) / 1e9,
    );
  }

  private refuse(res: Response, status: number, reason: string): void {
    this.options.observer?.failed(reason);
    send(res, status, { 'Content-Type': 'text/plain' }, `${reason}\n`);
  }
}
