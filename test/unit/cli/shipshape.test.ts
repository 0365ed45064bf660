import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { main } from '../../../src/cli/shipshape.js';
import { VERSION } from '../../../src/version.js';

function capture() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { io: { stdout, stderr, stdin: new PassThrough() }, out: () => out, err: () => err };
}

describe('shipshape command line', () => {
  it('prints usage listing the operator command for --help and exits 0', async () => {
    const c = capture();
    assert.equal(await main(['--help'], c.io), 0);
    assert.match(c.out(), /Usage: shipshape <command>/);
    assert.match(c.out(), /operator/);
  });

  it('prints the package version for --version', async () => {
    const c = capture();
    assert.equal(await main(['--version'], c.io), 0);
    assert.equal(c.out(), `shipshape ${VERSION}\n`);
    assert.match(VERSION, /^\d+\.\d+\.\d+/);
  });

  it('refuses an unknown command with exit code 2 and names it', async () => {
    const c = capture();
    assert.equal(await main(['frobnicate'], c.io), 2);
    assert.match(c.err(), /unknown command "frobnicate"/);
  });

  it('turns a bad flag into a one-line error, not a stack trace', async () => {
    const c = capture();
    assert.equal(await main(['operator', '--no-such-flag'], c.io), 1);
    assert.equal(c.err().trim().split('\n').length, 1);
    assert.match(c.err(), /^shipshape operator: .*no-such-flag/);
  });

  it('explains a kubeconfig it cannot load', async () => {
    const c = capture();
    const code = await main(['operator', '--kubeconfig', '/nonexistent/kubeconfig'], c.io);
    assert.equal(code, 1);
    assert.match(c.err(), /cannot load kubeconfig \/nonexistent\/kubeconfig/);
  });
});
