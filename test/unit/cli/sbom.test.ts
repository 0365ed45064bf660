// `shipshape sbom` as a user runs it: a child process against a registry on loopback,
// so exit codes and what reaches stderr are the real ones (including Node's own exit 13
// when the event loop empties while main() is still awaiting).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';

import { runSbom } from '../../../src/cli/sbom.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 8000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('shipshape sbom against a registry on 127.0.0.1', function () {
  this.timeout(15_000);
  let server: http.Server;
  let requests: string[];
  let answers: ((res: http.ServerResponse) => void)[];

  beforeEach(async () => {
    requests = [];
    answers = [];
    server = http.createServer((req, res) => {
      requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
      const answer = answers.shift() ?? ((r: http.ServerResponse) => r.writeHead(404).end());
      answer(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('waits out a Retry-After and goes on, instead of exiting 13 during the backoff (as a child process)', async () => {
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    answers.push((res) => res.writeHead(503, { 'retry-after': '1' }).end());
    const run = await runCli(['sbom', `${host}/team/app:v1`, '--allow-registry', host, '--plain-http', host]);
    assert.doesNotMatch(run.stderr, /unsettled top-level await/);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `^shipshape sbom: NotFound: registry ${host.replace(/\./g, '\\.')} answered 404 for manifest v1`,
      ),
    );
    assert.equal(requests.length, 2, 'the request was retried after the backoff');
  });

  it('names a refused token realm, not the registry, and suggests allowing the realm', async () => {
    const realm = http.createServer((_req, res) => res.writeHead(500).end());
    let realmConnections = 0;
    realm.on('connection', () => realmConnections++);
    await new Promise<void>((resolve) => realm.listen(0, '127.0.0.1', resolve));
    try {
      const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      const realmHost = `127.0.0.1:${(realm.address() as AddressInfo).port}`;
      answers.push((res) =>
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${realmHost}/token"` }).end(),
      );
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let errText = '';
      stderr.on('data', (chunk: Buffer) => (errText += chunk.toString()));
      const code = await runSbom(
        [`${host}/team/app:v1`, '--allow-registry', host, '--plain-http', '127.0.0.1'],
        { stdout, stderr, stdin: new PassThrough() },
      );
      assert.equal(code, 1);
      assert.match(
        errText,
        new RegExp(
          `^shipshape sbom: RegistryNotAllowed: token realm ${realmHost} of registry ${host} is not allowed: .*\\[use --allow-registry ${realmHost} if this token realm is trusted\\]\n$`,
        ),
      );
      assert.equal(realmConnections, 0);
    } finally {
      realm.closeAllConnections();
      await new Promise((resolve) => realm.close(resolve));
    }
  });
});
