// `shipshape scan` exit codes that need no image: usage errors are 2, and an
// image or database that cannot be read is 3, never 0 (a silent pass) or 1 (which
// means "findings at or above --fail-on"). The matching path is in the e2e suite.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { runScan } from '../../../src/cli/scan.js';

async function scan(args: string[]): Promise<{ code: number; err: string }> {
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runScan(args, { stdout: new PassThrough(), stderr, stdin: new PassThrough() });
  return { code, err };
}

describe('shipshape scan exit codes', function () {
  this.timeout(20_000);
  const work = mkdtempSync(join(tmpdir(), 'shipshape-scan-cli-'));
  let server: http.Server;
  let host: string;
  before(async () => {
    server = http.createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });

  it('exits 2 for usage errors, naming the problem', async () => {
    const saved = process.env.SHIPSHAPE_VULNERABILITY_DB;
    delete process.env.SHIPSHAPE_VULNERABILITY_DB;
    try {
      assert.deepEqual(await scan([]), {
        code: 2,
        err: 'shipshape scan: expected exactly one image reference\n',
      });
      assert.match((await scan(['app:1'])).err, /--db is required/);
      assert.match(
        (await scan(['app:1', '--db', work, '--format', 'xml'])).err,
        /--format must be table, json/,
      );
      assert.match(
        (await scan(['app:1', '--db', work, '--fail-on', 'severe'])).err,
        /--fail-on must be one of/,
      );
      assert.match(
        (await scan(['app:1', '--db', './no/such/dir'])).err,
        /--db \.\/no\/such\/dir does not exist/,
      );
      assert.equal((await scan(['app:1', '--db', 'ftp://mirror/osv'])).code, 2);
    } finally {
      if (saved !== undefined) process.env.SHIPSHAPE_VULNERABILITY_DB = saved;
    }
  });

  it('exits 3 when the image cannot be read', async () => {
    const run = await scan([
      `${host}/team/app:v1`,
      '--db',
      work,
      '--allow-registry',
      host,
      '--plain-http',
      host,
    ]);
    assert.equal(run.code, 3, run.err);
    assert.match(run.err, /^shipshape scan: NotFound: registry 127\.0\.0\.1:\d+ answered 404/);
  });
});
