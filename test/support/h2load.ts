// Load generation with h2load (nghttp2's HTTP/2 benchmarking client; Debian's
// nghttp2-client, installed by hack/install-system-deps.sh). It is native
// and event-driven: on a machine of two cores its CPU per request is a small
// part of the server's, so what a benchmark measures is the server, not a
// load generator competing with it for the same cores. Latencies come from
// its --log-file, one line per request.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface H2loadRun {
  url: string;
  /** The body POSTed by every request. */
  bodyFile: string;
  /** Requests in all; or `seconds` of load. */
  requests?: number;
  seconds?: number;
  connections: number;
  /** Concurrent streams per connection: with one connection, the requests in flight. */
  streams: number;
  headers?: Record<string, string>;
}

export interface H2loadResult {
  latenciesMs: number[];
  /** Requests answered with another status than 200, or not answered. */
  failures: number;
  /** From the first request's start to the last response's end. */
  spanMs: number;
}

/** Reads h2load's --log-file: start (µs since the epoch), status, µs until the end of the response. */
export function parseH2loadLog(text: string): H2loadResult {
  const latenciesMs: number[] = [];
  let failures = 0;
  let first = Infinity;
  let last = -Infinity;
  for (const line of text.split('\n')) {
    const [start, status, micros] = line.split('\t').map(Number);
    if (start === undefined || status === undefined || micros === undefined || Number.isNaN(micros)) continue;
    latenciesMs.push(micros / 1000);
    if (status !== 200) failures++;
    first = Math.min(first, start);
    last = Math.max(last, start + micros);
  }
  return { latenciesMs, failures, spanMs: latenciesMs.length > 0 ? (last - first) / 1000 : 0 };
}

/** The requests h2load counted as failed (no response, or a stream error): they have no log line. */
export function h2loadFailed(stdout: string): number {
  const match = /requests: .*?(\d+) failed/.exec(stdout);
  if (!match) throw new Error(`h2load printed no request summary:\n${stdout}`);
  return Number(match[1]);
}

const run = promisify(execFile);

export async function runH2load(load: H2loadRun): Promise<H2loadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-h2load-'));
  const log = join(dir, 'requests.log');
  try {
    const args = [
      ...(load.seconds !== undefined ? ['-D', String(load.seconds)] : ['-n', String(load.requests ?? 1)]),
      '-c',
      String(load.connections),
      '-m',
      String(load.streams),
      '-d',
      load.bodyFile,
      ...Object.entries(load.headers ?? {}).flatMap(([name, value]) => ['-H', `${name}: ${value}`]),
      '--log-file',
      log,
      load.url,
    ];
    const { stdout } = await run('h2load', args, { maxBuffer: 16 * 1024 * 1024 }).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error('h2load is not installed (Debian nghttp2-client): run hack/install-system-deps.sh');
      throw error;
    });
    const result = parseH2loadLog(readFileSync(log, 'utf8'));
    // Requests without a response are not in the log; the summary counts them with the non-2xx ones.
    return { ...result, failures: Math.max(result.failures, h2loadFailed(stdout)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
