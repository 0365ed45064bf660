// OSV's per-ecosystem bulk archives over HTTP(S): `<base-url>/<ecosystem>/all.zip`
// for each configured ecosystem, from osv.dev's bucket or a mirror. Requests go
// through the registry transport, so the base URL is judged by the same address
// policy as registries (private and loopback addresses only when allowed, plain
// HTTP only for hosts configured for it, every redirect judged again), with its
// connect, response, stall (body idle) and total timeouts. Requests are
// conditional (If-None-Match / If-Modified-Since from the last good download), a
// body over the size cap is cut, and a download goes to a temporary file that
// only replaces the last good archive once the refresher has loaded it.
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { isRegistryError } from '../../registry/errors.js';
import { RegistryTransport } from '../../registry/transport.js';
import type { HttpTransport, TransportConfig } from '../../registry/transport.js';
import type { DatabaseSource, SourceArtifact, SourceFailure, SourceFetch } from './source.js';
import { sourceFailure } from './source.js';

export interface HttpsArchiveOptions {
  /** Where the ecosystem folders live, e.g. a mirror's `https://osv-mirror.internal/osv`. */
  baseUrl: string;
  /** OSV ecosystem names as osv.dev spells its folders (Debian, Alpine, PyPI, Go, npm, ...). */
  ecosystems: readonly string[];
  /** Registry transport settings: the address policy, plain-HTTP and CA settings per host. */
  transport?: TransportConfig;
  /** Tests pass a transport of their own. */
  http?: HttpTransport;
  /** Largest archive accepted (default 2 GiB). */
  maxArchiveBytes?: number;
  /** A download that sends nothing for this long is abandoned (default 30 s). */
  stallTimeoutMs?: number;
  /** Wall-clock budget of one archive's download (default 30 minutes). */
  downloadTimeoutMs?: number;
  /** Where downloads are kept (default a fresh directory under the system temp dir). */
  workDir?: string;
}

export const DEFAULT_MAX_ARCHIVE_BYTES = 2 * 1024 * 1024 * 1024;
const ECOSYSTEM_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,63}$/;

interface ArchiveState {
  path: string;
  etag?: string;
  lastModified?: string;
}

class TooLargeError extends Error {}

/** Counts bytes through the stream and fails it past the cap. */
function capped(maxBytes: number, seen: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen.bytes += chunk.length;
      if (seen.bytes > maxBytes) callback(new TooLargeError(`more than ${maxBytes} bytes`));
      else callback(null, chunk);
    },
  });
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Checks a base URL: http(s), no credentials in it (they would reach labels and logs). */
export function parseArchiveBaseUrl(text: string): URL | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return `${url.protocol} is not supported for a vulnerability database (https or http)`;
  if (url.username !== '' || url.password !== '')
    return 'a vulnerability database URL must not carry credentials';
  if (url.search !== '' || url.hash !== '')
    return 'a vulnerability database base URL takes no query or fragment';
  return url;
}

export class HttpsArchiveSource implements DatabaseSource {
  readonly kind = 'https' as const;
  readonly label: string;
  private readonly base: URL;
  private readonly http: HttpTransport;
  private readonly ownsTransport: boolean;
  private readonly committed = new Map<string, ArchiveState>();
  private workDir: string | undefined;
  private restored = false;

  constructor(private readonly options: HttpsArchiveOptions) {
    const base = parseArchiveBaseUrl(options.baseUrl);
    if (typeof base === 'string') throw new Error(base);
    if (options.ecosystems.length === 0) throw new Error(`${options.baseUrl}: no ecosystems configured`);
    for (const ecosystem of options.ecosystems) {
      if (!ECOSYSTEM_NAME.test(ecosystem)) throw new Error(`"${ecosystem}" is not an OSV ecosystem name`);
    }
    this.base = new URL(base.href.endsWith('/') ? base.href : `${base.href}/`);
    this.label = this.base.href.replace(/\/$/, '');
    this.ownsTransport = options.http === undefined;
    this.http = options.http ?? new RegistryTransport(options.transport ?? {});
  }

  private archiveUrl(ecosystem: string): URL {
    return new URL(`${encodeURIComponent(ecosystem)}/all.zip`, this.base);
  }

  private async directory(): Promise<string> {
    if (this.workDir === undefined) {
      if (this.options.workDir !== undefined) {
        await mkdir(this.options.workDir, { recursive: true });
        this.workDir = this.options.workDir;
      } else this.workDir = await mkdtemp(join(tmpdir(), 'shipshape-vulndb-'));
    }
    return this.workDir;
  }

  /**
   * With a workDir of its own (a volume that outlives the process), the archives and
   * validators of the last good download are read back once, so a restarted operator
   * asks conditionally and loads from disk when the mirror says nothing changed.
   */
  private async restore(): Promise<void> {
    if (this.restored || this.options.workDir === undefined) return;
    this.restored = true;
    for (const ecosystem of this.options.ecosystems) {
      const path = join(this.options.workDir, `${ecosystem}.all.zip`);
      try {
        const meta = JSON.parse(await readFile(`${path}.meta.json`, 'utf8')) as Partial<ArchiveState>;
        await stat(path);
        this.committed.set(ecosystem, {
          path,
          ...(typeof meta.etag === 'string' ? { etag: meta.etag } : {}),
          ...(typeof meta.lastModified === 'string' ? { lastModified: meta.lastModified } : {}),
        });
      } catch {
        // Nothing kept for this ecosystem (or unreadable): it is downloaded afresh.
      }
    }
  }

  /** Downloads one archive; undefined when the server says it has not changed. */
  private async download(ecosystem: string): Promise<ArchiveState | undefined | SourceFailure> {
    const url = this.archiveUrl(ecosystem);
    const label = `vulnerability database ${url.href}`;
    const previous = this.committed.get(ecosystem);
    const headers: Record<string, string> = { accept: 'application/zip' };
    if (previous?.etag !== undefined) headers['if-none-match'] = previous.etag;
    if (previous?.lastModified !== undefined) headers['if-modified-since'] = previous.lastModified;
    const stallMs = this.options.stallTimeoutMs ?? 30_000;
    const maxBytes = this.options.maxArchiveBytes ?? DEFAULT_MAX_ARCHIVE_BYTES;
    let response;
    try {
      response = await this.http.request({
        method: 'GET',
        url,
        headers,
        registry: url.host,
        label,
        timeouts: {
          responseMs: stallMs,
          bodyIdleMs: stallMs,
          totalMs: this.options.downloadTimeoutMs ?? 30 * 60_000,
        },
      });
    } catch (err) {
      return this.failure(err, url.href);
    }
    if (response.status === 304 && previous !== undefined) {
      response.body.destroy();
      return undefined;
    }
    if (response.status !== 200) {
      response.body.destroy();
      if (response.status === 404 || response.status === 410)
        return sourceFailure('SourceNotFound', `${url.href} answered ${response.status}: no such archive`);
      if (response.status === 401 || response.status === 403)
        return sourceFailure('Unauthorized', `${url.href} answered ${response.status}`);
      return sourceFailure('UnexpectedStatus', `${url.href} answered ${response.status}`);
    }
    const announced = Number(header(response.headers['content-length']));
    if (Number.isFinite(announced) && announced > maxBytes) {
      response.body.destroy();
      return sourceFailure('TooLarge', `${url.href} is ${announced} bytes, over the limit of ${maxBytes}`);
    }
    const path = join(await this.directory(), `${ecosystem}.${randomUUID()}.zip.partial`);
    const seen = { bytes: 0 };
    try {
      await pipeline(response.body, capped(maxBytes, seen), createWriteStream(path));
    } catch (err) {
      await rm(path, { force: true });
      if (err instanceof TooLargeError)
        return sourceFailure('TooLarge', `${url.href} sent more than the limit of ${maxBytes} bytes`);
      return this.failure(err, url.href, seen.bytes);
    }
    if (Number.isFinite(announced) && seen.bytes !== announced) {
      await rm(path, { force: true });
      return sourceFailure('Truncated', `${url.href} ended after ${seen.bytes} of ${announced} bytes`);
    }
    const etag = header(response.headers.etag);
    const lastModified = header(response.headers['last-modified']);
    return {
      path,
      ...(etag === undefined ? {} : { etag }),
      ...(lastModified === undefined ? {} : { lastModified }),
    };
  }

  private failure(err: unknown, url: string, received?: number): SourceFailure {
    const after = received === undefined ? '' : ` after ${received} bytes`;
    if (isRegistryError(err)) {
      if (err.reason === 'RegistryNotAllowed') return sourceFailure('SourceNotAllowed', err.message);
      if (err.reason === 'Timeout') return sourceFailure('Stalled', `${err.message}${after}`);
      return sourceFailure('Unreachable', `${err.message}${after}`);
    }
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
    const detail = code ?? (err instanceof Error ? err.message : String(err));
    // A connection closed before Content-Length was reached: the archive is incomplete.
    if (received !== undefined) return sourceFailure('Truncated', `${url} broke off${after} (${detail})`);
    return sourceFailure('Unreachable', `${url} could not be reached: ${detail}`);
  }

  async fetch(): Promise<SourceFetch> {
    await this.restore();
    const fresh = new Map<string, ArchiveState>();
    const discard = async (): Promise<void> => {
      for (const state of fresh.values()) await rm(state.path, { force: true });
    };
    for (const ecosystem of this.options.ecosystems) {
      const result = await this.download(ecosystem);
      if (result === undefined) continue;
      if ('outcome' in result) {
        await discard();
        return result;
      }
      fresh.set(ecosystem, result);
    }
    if (fresh.size === 0) return { outcome: 'unchanged' };
    const next = new Map(this.committed);
    for (const [ecosystem, state] of fresh) next.set(ecosystem, state);
    const artifacts = this.artifactsOf(next);
    return {
      outcome: 'fetched',
      artifacts,
      version: versionOf(next),
      commit: async () => {
        const dir = await this.directory();
        for (const [ecosystem, state] of fresh) {
          const path = join(dir, `${ecosystem}.all.zip`);
          await rename(state.path, path);
          const committed = { ...state, path };
          this.committed.set(ecosystem, committed);
          const { etag, lastModified } = committed;
          await writeFile(`${path}.meta.json`, JSON.stringify({ etag, lastModified }));
        }
      },
      discard,
    };
  }

  private artifactsOf(states: ReadonlyMap<string, ArchiveState>): SourceArtifact[] {
    return [...states].map(([ecosystem, state]) => ({
      kind: 'zip',
      path: state.path,
      label: this.archiveUrl(ecosystem).href,
    }));
  }

  current(): { artifacts: SourceArtifact[]; version: string } | undefined {
    if (this.committed.size === 0) return undefined;
    return { artifacts: this.artifactsOf(this.committed), version: versionOf(this.committed) };
  }

  async close(): Promise<void> {
    if (this.ownsTransport) this.http.close();
    if (this.workDir !== undefined && this.options.workDir === undefined)
      await rm(this.workDir, { recursive: true, force: true });
  }
}

function versionOf(states: ReadonlyMap<string, ArchiveState>): string {
  return [...states]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([ecosystem, s]) => `${ecosystem}=${s.etag ?? s.lastModified ?? 'unversioned'}`)
    .join(',');
}
