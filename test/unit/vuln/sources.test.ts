// Where the vulnerability database comes from, and what a bad source does to it:
// a real HTTP server on loopback serves OSV bulk archives (good, 404, truncated,
// corrupt, an invalid entry, a zip bomb, a stalled body, 304 Not Modified), and
// after each bad answer the previous database is still the one in use and the
// status says why. Local directories and zips are refreshed by fingerprint.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { ZipWriter } from '../../../bench/vuln-zip.js';
import { DatabaseRefresher } from '../../../src/vuln/refresher.js';
import type { RefreshResult } from '../../../src/vuln/refresher.js';
import { HttpsArchiveSource } from '../../../src/vuln/sources/https-archive.js';
import { LocalSource } from '../../../src/vuln/sources/local.js';
import type { SourceKind } from '../../../src/vuln/sources/source.js';

const work = mkdtempSync(join(tmpdir(), 'shipshape-sources-test-'));
let zipCount = 0;

function advisory(id: string, name = 'openssl', modified = '2024-05-01T00:00:00Z'): object {
  return {
    id,
    modified,
    affected: [
      {
        package: { ecosystem: 'Debian:12', name },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.13-1' }] }],
      },
    ],
  };
}

/** A bulk archive of the given entries, as bytes. */
function zipBytes(entries: { name: string; data: Buffer | string }[]): Buffer {
  const path = join(work, `z${zipCount++}.zip`);
  const writer = new ZipWriter(path);
  for (const e of entries) writer.add(e.name, Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data));
  writer.close();
  return readFileSync(path);
}

const advisoriesZip = (ids: string[]): Buffer =>
  zipBytes(ids.map((id) => ({ name: `${id}.json`, data: JSON.stringify(advisory(id)) })));

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

describe('vulnerability database sources', function () {
  this.timeout(30_000);
  let server: http.Server;
  let base: string;
  let host: string;
  let handler: Handler;
  const requests: { url: string; ifNoneMatch?: string }[] = [];

  /** Serves `body` with an ETag, answering 304 to a matching If-None-Match. */
  const serve =
    (body: Buffer, etag: string): Handler =>
    (req, res) => {
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag }).end();
        return;
      }
      res
        .writeHead(200, { etag, 'content-length': body.length, 'content-type': 'application/zip' })
        .end(body);
    };

  before(async () => {
    server = http.createServer((req, res) => {
      requests.push({
        url: req.url ?? '',
        ...(typeof req.headers['if-none-match'] === 'string'
          ? { ifNoneMatch: req.headers['if-none-match'] }
          : {}),
      });
      handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    base = `http://${host}/osv`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });
  beforeEach(() => {
    requests.length = 0;
  });

  function httpsSource(options: { stallTimeoutMs?: number; maxArchiveBytes?: number; allow?: boolean } = {}) {
    return new HttpsArchiveSource({
      baseUrl: base,
      ecosystems: ['Debian'],
      transport: {
        policy: { allow: options.allow === false ? [] : ['127.0.0.1:*'] },
        hosts: { [host]: { plainHttp: true } },
        retry: { maxAttempts: 1 },
      },
      workDir: mkdtempSync(join(work, 'dl-')),
      stallTimeoutMs: options.stallTimeoutMs ?? 2_000,
      ...(options.maxArchiveBytes === undefined ? {} : { maxArchiveBytes: options.maxArchiveBytes }),
    });
  }

  function refresherOver(source: HttpsArchiveSource | LocalSource, maxTotalBytes?: number) {
    const results: { source: SourceKind; result: RefreshResult }[] = [];
    const refresher = new DatabaseRefresher({
      sources: [source],
      observer: { refreshed: (s, result) => results.push({ source: s, result }) },
      ...(maxTotalBytes === undefined
        ? {}
        : { limits: { maxEntries: 1000, maxEntryBytes: 8 * 1024 * 1024, maxTotalBytes } }),
    });
    return { refresher, results };
  }

  /** A refresher that has loaded from the server. */
  async function loadedRefresher(options: Parameters<typeof httpsSource>[0] = {}, maxTotalBytes?: number) {
    handler = serve(advisoriesZip(['A-1', 'A-2']), '"v1"');
    const built = refresherOver(httpsSource(options), maxTotalBytes);
    const status = await built.refresher.refresh();
    assert.equal(status.state, 'Ready', status.message);
    assert.equal(built.refresher.current()?.db.size, 2);
    return built;
  }

  it('loads <base>/<ecosystem>/all.zip, with the data age from the newest modified', async () => {
    const { refresher, results } = await loadedRefresher();
    assert.equal(requests[0]?.url, '/osv/Debian/all.zip');
    assert.deepEqual(results, [{ source: 'https', result: 'success' }]);
    assert.equal(refresher.current()?.dataUpdatedAt?.toISOString(), '2024-05-01T00:00:00.000Z');
    assert.equal(refresher.current()?.version, 'Debian="v1"');
    assert.equal(refresher.current()?.db.lookup('Debian:12', 'openssl').length, 2);
    await refresher.close();
  });

  it('sends If-None-Match and keeps the loaded database without reloading on 304 Not Modified', async () => {
    const { refresher, results } = await loadedRefresher();
    const first = refresher.current();
    let notified = 0;
    refresher.subscribe(() => notified++);
    const status = await refresher.refresh();
    assert.equal(requests[1]?.ifNoneMatch, '"v1"');
    assert.equal(status.state, 'Ready');
    assert.equal(refresher.current(), first, 'the very same loaded database');
    assert.equal(notified, 0);
    assert.deepEqual(results[1], { source: 'https', result: 'unchanged' });
    await refresher.close();
  });

  it('replaces the database when the server has new content, and tells subscribers', async () => {
    const { refresher } = await loadedRefresher();
    const seen: number[] = [];
    refresher.subscribe((loaded) => seen.push(loaded.db.size));
    handler = serve(advisoriesZip(['A-1', 'A-2', 'A-3']), '"v2"');
    assert.equal((await refresher.refresh()).state, 'Ready');
    assert.deepEqual(seen, [3]);
    assert.equal(refresher.current()?.version, 'Debian="v2"');
    await refresher.close();
  });

  /** The refresher keeps and reports Stale with `reason` after the server answers with `bad`. */
  async function keepsPrevious(
    bad: Handler,
    reason: string,
    options: Parameters<typeof httpsSource>[0] = {},
    maxTotalBytes?: number,
  ) {
    const { refresher, results } = await loadedRefresher(options, maxTotalBytes);
    const before = refresher.current();
    handler = bad;
    const status = await refresher.refresh();
    assert.equal(status.state, 'Stale', status.message);
    assert.equal(status.reason, reason, status.message);
    assert.match(status.message ?? '', /still using the database loaded/);
    assert.equal(refresher.current(), before, 'the previous database stays in use');
    assert.equal(refresher.current()?.db.size, 2);
    assert.deepEqual(results.at(-1), { source: 'https', result: 'failed' });
    // The next good answer recovers.
    handler = serve(advisoriesZip(['A-1', 'A-2', 'A-9']), '"v3"');
    assert.equal((await refresher.refresh()).state, 'Ready');
    assert.equal(refresher.current()?.db.size, 3);
    await refresher.close();
    return status;
  }

  it('404: keeps the previous database, Stale with SourceNotFound', async () => {
    const status = await keepsPrevious((_req, res) => res.writeHead(404).end('no'), 'SourceNotFound');
    assert.match(status.message ?? '', /Debian\/all\.zip answered 404/);
  });

  it('a connection cut before Content-Length is reached: Truncated', async () => {
    const full = advisoriesZip(['B-1', 'B-2', 'B-3']);
    await keepsPrevious((_req, res) => {
      res.writeHead(200, { 'content-length': full.length });
      res.write(full.subarray(0, full.length >> 1));
      setTimeout(() => res.destroy(), 50);
    }, 'Truncated');
  });

  it('a complete answer holding a truncated zip is validated and refused: Corrupt', async () => {
    const full = advisoriesZip(['B-1', 'B-2', 'B-3']);
    await keepsPrevious(serve(full.subarray(0, full.length - 40), '"cut"'), 'Corrupt');
  });

  it('a stalled server (headers, some bytes, then nothing) times out: Stalled', async () => {
    const full = advisoriesZip(['B-1']);
    const started = Date.now();
    await keepsPrevious(
      (_req, res) => {
        res.writeHead(200, { 'content-length': full.length });
        res.write(full.subarray(0, 10));
      },
      'Stalled',
      { stallTimeoutMs: 300 },
    );
    assert.ok(Date.now() - started < 10_000);
  });

  it('a server that never answers times out: Stalled', async () => {
    await keepsPrevious(() => undefined, 'Stalled', { stallTimeoutMs: 300 });
  });

  it('an archive over the size cap is cut off: TooLarge', async () => {
    const big = zipBytes([{ name: 'X.json', data: randomBytes(64 * 1024).toString('base64') }]);
    // The first (good) archive is a few hundred bytes; the second is over the 4 KiB cap.
    const announced = await keepsPrevious(serve(big, '"big"'), 'TooLarge', { maxArchiveBytes: 4096 });
    assert.match(announced.message ?? '', /is \d+ bytes, over the limit of 4096/);
    // Without a Content-Length the download is cut once it passes the cap.
    const streamed = await keepsPrevious(
      (_req, res) => {
        res.writeHead(200, { 'transfer-encoding': 'chunked' });
        res.end(big);
      },
      'TooLarge',
      { maxArchiveBytes: 4096 },
    );
    assert.match(streamed.message ?? '', /sent more than the limit of 4096 bytes/);
  });

  it('a zip bomb that inflates past the total-bytes limit: TooLarge, nothing replaced', async () => {
    // 40 entries of 1 MiB of spaces: ~40 KiB on the wire, 40 MiB inflated, over the 8 MiB limit.
    const bomb = zipBytes(
      Array.from({ length: 40 }, (_, i) => ({
        name: `bomb-${i}.json`,
        data: Buffer.alloc(1024 * 1024, 0x20),
      })),
    );
    assert.ok(bomb.length < 200 * 1024);
    const status = await keepsPrevious(serve(bomb, '"bomb"'), 'TooLarge', {}, 8 * 1024 * 1024);
    assert.match(status.message ?? '', /inflates past the limit/);
  });

  it('an invalid JSON entry is skipped and counted; the rest of the archive loads', async () => {
    const { refresher } = await loadedRefresher();
    handler = serve(
      zipBytes([
        { name: 'C-1.json', data: JSON.stringify(advisory('C-1')) },
        { name: 'BROKEN.json', data: '{"id": "BROKEN", "affected": [' },
        { name: 'C-2.json', data: JSON.stringify(advisory('C-2', 'curl')) },
      ]),
      '"v2"',
    );
    const status = await refresher.refresh();
    assert.equal(status.state, 'Ready');
    const loaded = refresher.current()!;
    assert.equal(loaded.db.size, 2);
    assert.equal(loaded.db.summary.skippedCount, 1);
    assert.equal(refresher.skippedAdvisories, 1);
    assert.match(loaded.db.summary.skipped[0]?.source ?? '', /BROKEN\.json$/);
    await refresher.close();
  });

  it('refuses a source the address policy refuses, before connecting', async () => {
    handler = serve(advisoriesZip(['A-1']), '"v1"');
    const { refresher } = refresherOver(httpsSource({ allow: false }));
    const status = await refresher.refresh();
    assert.equal(status.state, 'Unavailable');
    assert.equal(status.reason, 'SourceNotAllowed');
    assert.equal(requests.length, 0);
    assert.equal(refresher.current(), undefined);
    await refresher.close();
  });

  it('is Unavailable, never empty, when the first load fails', async () => {
    handler = (_req, res) => res.writeHead(404).end();
    const { refresher } = refresherOver(httpsSource());
    const status = await refresher.refresh();
    assert.equal(status.state, 'Unavailable');
    assert.equal(status.reason, 'SourceNotFound');
    assert.equal(refresher.current(), undefined);
    await refresher.close();
  });

  it('reports Stale with TooOld once the data is older than maxAge', async () => {
    handler = serve(advisoriesZip(['A-1']), '"v1"');
    let now = new Date('2024-05-01T12:00:00Z');
    const refresher = new DatabaseRefresher({
      sources: [httpsSource()],
      maxAgeMs: 24 * 3_600_000,
      now: () => now,
    });
    assert.equal((await refresher.refresh()).state, 'Ready');
    now = new Date('2024-05-03T00:00:00Z');
    const status = refresher.status();
    assert.equal(status.state, 'Stale');
    assert.equal(status.reason, 'TooOld');
    assert.ok(refresher.current() !== undefined);
    await refresher.close();
  });

  it('after a restart, loads the kept archive from its work directory when the mirror answers 304', async () => {
    handler = serve(advisoriesZip(['K-1', 'K-2']), '"kept"');
    const workDir = mkdtempSync(join(work, 'kept-'));
    const options = {
      baseUrl: base,
      ecosystems: ['Debian'],
      transport: { policy: { allow: ['127.0.0.1:*'] }, hosts: { [host]: { plainHttp: true } } },
      workDir,
    };
    const first = new DatabaseRefresher({ sources: [new HttpsArchiveSource(options)] });
    assert.equal((await first.refresh()).state, 'Ready');
    await first.close();
    requests.length = 0;
    const restarted = new DatabaseRefresher({ sources: [new HttpsArchiveSource(options)] });
    const status = await restarted.refresh();
    assert.equal(status.state, 'Ready', status.message);
    assert.equal(requests[0]?.ifNoneMatch, '"kept"', 'the restart asked conditionally');
    assert.equal(restarted.current()?.db.size, 2, 'loaded from the kept archive');
    await restarted.close();
  });

  it('turns a source that throws into a LoadFailed status, never a rejection', async () => {
    const errors: unknown[] = [];
    const refresher = new DatabaseRefresher({
      sources: [
        {
          kind: 'dir',
          label: 'dir:/broken',
          fetch: () => Promise.reject(new Error('EIO: disk on fire')),
          current: () => undefined,
          close: () => Promise.resolve(),
        },
      ],
      onError: (err) => errors.push(err),
    });
    const status = await refresher.refresh();
    assert.equal(status.state, 'Unavailable');
    assert.equal(status.reason, 'LoadFailed');
    assert.match(status.message ?? '', /disk on fire/);
    assert.equal(errors.length, 1);
    await refresher.close();
  });

  it('follows a refresh asked for during another with one more, so a change made meanwhile is seen', async () => {
    let fetches = 0;
    let release: () => void = () => undefined;
    const refresher = new DatabaseRefresher({
      sources: [
        {
          kind: 'dir',
          label: 'dir:/slow',
          fetch: async () => {
            fetches++;
            if (fetches === 1) await new Promise<void>((resolve) => (release = resolve));
            return { outcome: 'unchanged' };
          },
          current: () => undefined,
          close: () => Promise.resolve(),
        },
      ],
    });
    const first = refresher.refresh();
    await new Promise((resolve) => setImmediate(resolve));
    const second = refresher.refresh();
    const third = refresher.refresh();
    assert.equal(second, third, 'asks during a running refresh share the next one');
    release();
    await Promise.all([first, second]);
    assert.equal(fetches, 2);
    await refresher.close();
  });

  it('refreshes a local directory only when its files change', async () => {
    const dir = mkdtempSync(join(work, 'local-'));
    writeFileSync(join(dir, 'D-1.json'), JSON.stringify(advisory('D-1')));
    const { refresher, results } = refresherOver(new LocalSource('dir', dir));
    assert.equal((await refresher.refresh()).state, 'Ready');
    const first = refresher.current();
    await refresher.refresh();
    assert.equal(refresher.current(), first);
    writeFileSync(join(dir, 'D-2.json'), JSON.stringify(advisory('D-2')));
    await refresher.refresh();
    assert.equal(refresher.current()?.db.size, 2);
    assert.deepEqual(
      results.map((r) => r.result),
      ['success', 'unchanged', 'success'],
    );
    await refresher.close();
  });

  it('keeps the last good database when a mounted zip is replaced by a corrupt one', async () => {
    const path = join(work, 'mounted.zip');
    writeFileSync(path, advisoriesZip(['E-1', 'E-2']));
    const { refresher } = refresherOver(new LocalSource('zip', path));
    assert.equal((await refresher.refresh()).state, 'Ready');
    writeFileSync(path, Buffer.from('PK\u0003\u0004 not really a zip'));
    utimesSync(path, new Date(), new Date(Date.now() + 5_000));
    const status = await refresher.refresh();
    assert.equal(status.state, 'Stale');
    assert.equal(status.reason, 'Corrupt');
    assert.equal(refresher.current()?.db.size, 2);
    await refresher.close();
  });

  it('releases the database in use before building a changed one, after reading the new files through', async () => {
    const path = join(work, 'reloaded.zip');
    const ids = (prefix: string) => Array.from({ length: 6_000 }, (_, i) => `${prefix}-${i}`);
    writeFileSync(path, advisoriesZip(ids('R')));
    const { refresher } = refresherOver(new LocalSource('zip', path));
    assert.equal((await refresher.refresh()).state, 'Ready');
    const before = refresher.current();
    const announced: number[] = [];
    refresher.subscribe((loaded) => announced.push(loaded.db.size));
    writeFileSync(path, advisoriesZip([...ids('R'), ...ids('S')]));
    utimesSync(path, new Date(), new Date(Date.now() + 5_000));
    // Watch the refresh from the event loop it yields to: the check pass keeps the old
    // database in use; the load runs with none in use (released, status says reloading).
    let sawOldDuringCheck = false;
    let sawReleased = false;
    let done = false;
    const refreshed = refresher.refresh().finally(() => (done = true));
    while (!done) {
      const status = refresher.status();
      if (refresher.current() === before) sawOldDuringCheck = true;
      if (refresher.current() === undefined) {
        assert.equal(status.reloading, true);
        sawReleased = true;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal((await refreshed).state, 'Ready');
    assert.ok(sawOldDuringCheck, 'the database in use stayed while the new files were read through');
    assert.ok(sawReleased, 'the database in use was released before the new one was built');
    assert.equal(refresher.current()?.db.size, 12_000);
    assert.equal(refresher.status().reloading, undefined);
    assert.deepEqual(announced, [12_000]);
    await refresher.close();
  });

  it('loads a large archive without stalling the event loop for long', async () => {
    const ids = Array.from({ length: 30_000 }, (_, i) => `L-${i}`);
    handler = serve(
      zipBytes(
        ids.map((id, i) => ({ name: `${id}.json`, data: JSON.stringify(advisory(id, `pkg-${i % 500}`)) })),
      ),
      '"large"',
    );
    const { refresher } = refresherOver(httpsSource());
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const started = performance.now();
    const status = await refresher.refresh();
    const elapsed = performance.now() - started;
    delay.disable();
    assert.equal(status.state, 'Ready', status.message);
    assert.equal(refresher.current()?.db.size, 30_000);
    const longestMs = delay.max / 1e6;
    console.log(
      `      30,000 advisories in ${Math.round(elapsed)} ms; longest event-loop stall ${Math.round(longestMs)} ms`,
    );
    // Generous: the machine is shared; an unsliced load of this size blocks for the whole load.
    assert.ok(longestMs < Math.max(250, elapsed / 3), `longest stall ${longestMs} ms of ${elapsed} ms`);
    await refresher.close();
  });
});
