// `shipshape db pull|info` as a user runs them (in process, real streams): pull
// from an HTTP mirror on loopback into a directory only when the download loads,
// and info's counts per ecosystem, newest modified and skipped advisories.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { ZipWriter } from '../../../bench/vuln-zip.js';
import { runDb } from '../../../src/cli/db.js';

async function db(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runDb(args, { stdout, stderr, stdin: new PassThrough() });
  return { code, out, err };
}

const advisory = (id: string, ecosystem: string, modified: string): string =>
  JSON.stringify({
    id,
    modified,
    affected: [{ package: { ecosystem, name: 'openssl' }, versions: ['1.0'] }],
  });

describe('shipshape db', function () {
  this.timeout(20_000);
  const work = mkdtempSync(join(tmpdir(), 'shipshape-db-cli-'));
  let server: http.Server;
  let host: string;
  let archive: Buffer;
  let status = 200;

  before(async () => {
    const zipPath = join(work, 'Debian.zip');
    const writer = new ZipWriter(zipPath);
    writer.add('DSA-1.json', Buffer.from(advisory('DSA-1', 'Debian:12', '2024-03-01T00:00:00Z')));
    writer.add('DSA-2.json', Buffer.from(advisory('DSA-2', 'Debian:11', '2024-04-02T10:00:00Z')));
    writer.add('BROKEN.json', Buffer.from('{"id": '));
    writer.close();
    archive = readFileSync(zipPath);
    server = http.createServer((req, res) => {
      if (status !== 200 || req.url !== '/osv/Debian/all.zip')
        res.writeHead(status === 200 ? 404 : status).end();
      else res.writeHead(200, { 'content-length': archive.length }).end(archive);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });

  const pullArgs = (output: string): string[] => [
    'pull',
    '--source',
    `http://${host}/osv`,
    '--ecosystems',
    'Debian',
    '--allow-registry',
    '127.0.0.1:*',
    '--plain-http',
    host,
    '--output',
    output,
  ];

  it('pulls an https mirror into a directory that db info reads: per ecosystem, newest modified, skipped', async () => {
    const output = join(work, 'pulled');
    const pulled = await db(pullArgs(output));
    assert.equal(pulled.code, 0, pulled.err);
    assert.match(pulled.out, /wrote 2 advisories \(1 malformed skipped\)/);
    const info = await db(['info', output, '--format', 'json']);
    assert.equal(info.code, 0, info.err);
    const parsed = JSON.parse(info.out) as Record<string, unknown>;
    assert.equal(parsed.advisories, 2);
    assert.equal(parsed.skipped, 1);
    assert.equal(parsed.newestModified, '2024-04-02T10:00:00.000Z');
    assert.deepEqual(parsed.ecosystems, { 'Debian:11': 1, 'Debian:12': 1 });
    const table = await db(['info', output]);
    assert.match(table.out, /^Debian:12\s+1$/m);
    assert.match(table.out, /1 malformed skipped/);
  });

  it('leaves the previous output untouched when the source fails, and says why', async () => {
    const output = join(work, 'kept');
    assert.equal((await db(pullArgs(output))).code, 0);
    writeFileSync(join(output, 'marker'), 'previous');
    status = 404;
    try {
      const failed = await db(pullArgs(output));
      assert.equal(failed.code, 1);
      assert.match(failed.err, /SourceNotFound: .*answered 404/);
      assert.equal(readFileSync(join(output, 'marker'), 'utf8'), 'previous');
      assert.deepEqual(
        readdirSync(work).filter((n) => n.includes('.partial-')),
        [],
        'no staging left behind',
      );
    } finally {
      status = 200;
    }
  });

  it('refuses a mirror on loopback unless it is allowed', async () => {
    const args = pullArgs(join(work, 'refused')).filter(
      (a) => a !== '--allow-registry' && a !== '127.0.0.1:*',
    );
    const refused = await db(args);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /SourceNotAllowed/);
    assert.equal(existsSync(join(work, 'refused')), false);
  });

  it('is a usage error (exit 2) without a source or output', async () => {
    assert.equal((await db(['pull', '--output', join(work, 'x')])).code, 2);
    assert.equal((await db(['pull', '--source', 'dir:/nonexistent'])).code, 2);
    assert.equal((await db(['frobnicate'])).code, 2);
  });
});
