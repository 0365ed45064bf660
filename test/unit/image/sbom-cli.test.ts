import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { runSbom } from '../../../src/cli/sbom.js';
import { FakeRegistry, startRegistry, type TestServer } from '../registry/fake-registry.js';
import { DPKG_PACKAGES, appLayer, baseLayer, storeTarImage } from './images.js';

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await runSbom(args, { stdout, stderr, stdin: new PassThrough() });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

describe('shipshape sbom', () => {
  let registry: FakeRegistry;
  let server: TestServer;
  let dir: string;
  let image: string;
  const local = (): string[] => ['--allow-registry', server.host, '--plain-http', server.host];

  beforeEach(async () => {
    registry = new FakeRegistry();
    server = await startRegistry(registry);
    storeTarImage(registry, 'team/app', 'v1', [baseLayer(), appLayer()]);
    image = `${server.host}/team/app:v1`;
    dir = mkdtempSync(join(tmpdir(), 'shipshape-sbom-'));
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a table of the packages by default', async () => {
    const { code, stdout, stderr } = await run([image, ...local()]);
    assert.equal(stderr, '');
    assert.equal(code, 0);
    assert.match(stdout, /^Image: .*team\/app:v1@sha256:[0-9a-f]{64}$/m);
    assert.match(stdout, /OS: Debian GNU\/Linux 12 \(bookworm\)/);
    assert.match(stdout, new RegExp(`${DPKG_PACKAGES + 1} packages in 2 layers`));
    assert.match(stdout, /@babel\/code-frame\s+7\.23\.5\s+npm/);
  });

  it('prints CycloneDX JSON with one component per package and the image as subject', async () => {
    const { code, stdout } = await run([image, '--format', 'cyclonedx', ...local()]);
    assert.equal(code, 0);
    const bom = JSON.parse(stdout) as {
      bomFormat: string;
      metadata: { component: { name: string; version: string } };
      components: { purl?: string }[];
    };
    assert.equal(bom.bomFormat, 'CycloneDX');
    assert.equal(bom.metadata.component.name, image);
    assert.match(bom.metadata.component.version, /^sha256:/);
    assert.ok(bom.components.some((c) => c.purl === 'pkg:npm/%40babel/code-frame@7.23.5'));
    assert.ok(bom.components.some((c) => c.purl?.startsWith('pkg:deb/debian/adduser@3.134')));
  });

  it('keeps analysed layers in --cache-dir', async () => {
    const { code } = await run([image, '-o', 'json', '--cache-dir', dir, ...local()]);
    assert.equal(code, 0);
    assert.equal(readdirSync(join(dir, 'layer')).length, 2);
    assert.equal(readdirSync(join(dir, 'image')).length, 1);
  });

  it('uses the credentials of --docker-config', async () => {
    registry.options = { auth: { scheme: 'basic', username: 'robot', password: 'pw' } };
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({ auths: { [server.host]: { auth: Buffer.from('robot:pw').toString('base64') } } }),
    );
    assert.equal((await run([image, '-o', 'json', '--docker-config', config, ...local()])).code, 0);
    const refused = await run([image, ...local()]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^shipshape sbom: Unauthorized: registry .* answered 401 .*no pull secret matched\n$/,
    );
  });

  it('fails with one line naming the reason and the flag that allows a loopback registry', async () => {
    const { code, stdout, stderr } = await run([image]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.equal(stderr.split('\n').length, 2, 'one line');
    assert.match(stderr, /^shipshape sbom: RegistryNotAllowed: .*loopback addresses are blocked/);
    assert.match(stderr, new RegExp(`--allow-registry ${server.host}`));
    assert.equal(server.requests.length, 0);
  });

  it('suggests --plain-http when a registry does not speak TLS', async () => {
    const { code, stderr } = await run([image, '--allow-registry', server.host]);
    assert.equal(code, 1);
    assert.match(stderr, new RegExp(`NetworkError: .*EPROTO.*use --plain-http ${server.host}`));
  });

  it('exits 2 on usage errors', async () => {
    assert.equal((await run([])).code, 2);
    assert.equal((await run([image, '--format', 'xml'])).code, 2);
    assert.equal((await run([image, '--platform', 'amd64'])).code, 2);
    assert.equal((await run(['--help'])).code, 0);
  });
});
