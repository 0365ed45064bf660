// Image analysis against a real CNCF distribution registry: an image made of real
// files (os-release, a dpkg database, a node_modules package) is pushed, then read
// back by ImageAnalyzer and by `shipshape sbom`; and a second, private registry with
// htpasswd basic auth is read with the right pull secret (a dockerconfigjson
// Secret), while a wrong or missing one yields a message naming registry and secret.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import type { V1Secret } from '@kubernetes/client-node';

import { runSbom } from '../../src/cli/sbom.js';
import { ImageAnalyzer, type ImageAnalysis } from '../../src/image/image-analyzer.js';
import { buildPullCredentials } from '../../src/image/credentials.js';
import { RegistryClient, type RegistryClientConfig } from '../../src/registry/client.js';
import { TieredInventoryCache } from '../../src/sbom/cache.js';
import { startPrivateRegistry, type PrivateRegistry } from '../support/private-registry.js';
import { pushImage } from '../support/oci-push.js';
import { tar } from '../support/tar.js';
import { registryHost } from './harness.js';

const fixture = (name: string): Buffer => readFileSync(join(process.cwd(), 'test', 'fixtures', 'sbom', name));
const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
const DPKG_PACKAGES = fixture('dpkg-status')
  .toString()
  .split('\n')
  .filter((l) => l.startsWith('Package: ')).length;

function layers(): Buffer[] {
  return [
    tar([
      { path: 'etc/', type: 'dir' },
      { path: 'usr/lib/os-release', content: fixture('os-release-debian') },
      { path: 'etc/os-release', type: 'symlink', linkTarget: '../usr/lib/os-release' },
      { path: 'var/lib/dpkg/status', content: fixture('dpkg-status') },
    ]),
    tar([
      { path: 'srv/app/node_modules/@babel/code-frame/package.json', content: fixture('npm-package.json') },
    ]),
  ];
}
const CONFIG = { config: { User: '10001', Env: ['PATH=/usr/bin', 'NODE_ENV=production'] } };

function clientConfig(...hosts: string[]): RegistryClientConfig {
  return {
    policy: { allow: ['127.0.0.1:*'] },
    hosts: Object.fromEntries(hosts.map((h) => [h, { plainHttp: true }])),
    retry: { maxAttempts: 2, baseDelayMs: 50 },
  };
}

function ok(result: ImageAnalysis): Extract<ImageAnalysis, { ok: true }> {
  if (!result.ok) assert.fail(`${result.reason}: ${result.message}`);
  return result;
}

async function sbom(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // Through the real executable once the command is wired into `shipshape`; directly before that.
  const wired = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [cli, 'sbom', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  if (!wired.stderr.includes('unknown command "sbom"')) return wired;
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await runSbom(args, { stdout: out, stderr: err, stdin: new PassThrough() });
  return { code, stdout, stderr };
}

describe('image analysis against a real registry', () => {
  let client: RegistryClient;
  before(() => {
    client = new RegistryClient({ config: clientConfig(registryHost()) });
  });
  after(() => client.close());

  it('finds the OS, dpkg and npm packages of an image pushed with real files', async () => {
    const pushed = await pushImage(registryHost(), 'e2e/inventory', 'v1', layers(), CONFIG);
    const analyzer = new ImageAnalyzer({ registry: client, cache: new TieredInventoryCache() });
    const result = ok(await analyzer.analyze(pushed.reference));
    assert.equal(result.digest, pushed.digest);
    assert.equal(result.inventory.os?.id, 'debian');
    assert.equal(result.inventory.os?.versionId, '12');
    const debs = result.inventory.packages.filter((p) => p.ecosystem === 'deb');
    assert.equal(debs.length, DPKG_PACKAGES);
    assert.ok(
      debs.every((p) => p.purl.startsWith('pkg:deb/debian/') && p.layerDigest === pushed.layers[0]?.digest),
    );
    const npm = result.inventory.packages.filter((p) => p.ecosystem === 'npm');
    assert.deepEqual(
      npm.map((p) => [p.name, p.version, p.location]),
      [['@babel/code-frame', '7.23.5', '/srv/app/node_modules/@babel/code-frame/package.json']],
    );
    assert.equal(result.facts.user, '10001');
    assert.deepEqual(result.facts.envKeys, ['PATH', 'NODE_ENV']);
    assert.equal(result.facts.layers, 2);
    assert.equal(result.facts.healthcheck, false);
  });

  it('prints the same packages with shipshape sbom, in CycloneDX and as a table', async () => {
    const pushed = await pushImage(registryHost(), 'e2e/inventory-cli', 'v1', layers(), CONFIG);
    const flags = ['--allow-registry', registryHost(), '--plain-http', registryHost()];
    const bom = await sbom([pushed.reference, '--format', 'cyclonedx', ...flags]);
    assert.equal(bom.code, 0, bom.stderr);
    const document = JSON.parse(bom.stdout) as {
      components: { purl?: string; type: string; name: string }[];
    };
    const purls = document.components.map((c) => c.purl).filter((p): p is string => p !== undefined);
    assert.equal(purls.filter((p) => p.startsWith('pkg:deb/debian/')).length, DPKG_PACKAGES);
    assert.ok(purls.includes('pkg:npm/%40babel/code-frame@7.23.5'));
    assert.ok(document.components.some((c) => c.type === 'operating-system' && c.name === 'debian'));

    const table = await sbom([pushed.reference, ...flags]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`${DPKG_PACKAGES + 1} packages in 2 layers`));
    assert.match(table.stdout, /^adduser\s+3\.134\s+deb/m);

    const refused = await sbom([pushed.reference]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^shipshape sbom: RegistryNotAllowed: .*loopback/);
    assert.equal(refused.stderr.trim().split('\n').length, 1);
  });
});

describe('image analysis of a private registry (htpasswd basic auth)', function () {
  this.timeout(120_000);
  const USER = 'puller';
  const PASSWORD = 'e2e-Pa55word';
  let host: string;
  let client: RegistryClient;
  let reference: string;

  function pullSecret(name: string, username: string, password: string): V1Secret {
    const document = JSON.stringify({ auths: { [host]: { username, password } } });
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: 'shop', name },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(document).toString('base64') },
    };
  }

  function credentialsOf(secret?: V1Secret) {
    return buildPullCredentials({
      pod: {
        metadata: { namespace: 'shop', name: 'web' },
        spec: { imagePullSecrets: secret ? [{ name: secret.metadata!.name! }] : [] },
      },
      secrets: new Map(secret ? [[secret.metadata!.name!, secret]] : []),
    }).source;
  }

  let registry: PrivateRegistry;

  before(async () => {
    registry = await startPrivateRegistry(USER, PASSWORD);
    host = registry.host;
    reference = (await pushImage(host, 'private/app', 'v1', layers(), CONFIG, registry.auth)).reference;
    client = new RegistryClient({ config: clientConfig(host) });
  });

  after(async () => {
    client?.close();
    await registry?.stop();
  });

  it('analyses the image with the pod pull secret', async () => {
    const analyzer = new ImageAnalyzer({ registry: client });
    const result = ok(
      await analyzer.analyze(reference, {
        credentials: credentialsOf(pullSecret('regcred', USER, PASSWORD)),
      }),
    );
    assert.equal(result.inventory.os?.id, 'debian');
    assert.equal(result.inventory.packages.length, DPKG_PACKAGES + 1);
  });

  it('says which registry refused which pull secret when the password is wrong', async () => {
    const analyzer = new ImageAnalyzer({ registry: client });
    const result = await analyzer.analyze(reference, {
      credentials: credentialsOf(pullSecret('stale', USER, 'old-password')),
    });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.reason, 'Unauthorized');
    assert.equal(result.registry, host);
    assert.match(result.message, new RegExp(`registry ${host} answered 401 for repository private/app`));
    assert.match(result.message, /the credentials of pull secret shop\/stale were refused/);
    assert.doesNotMatch(result.message, /old-password/);
  });

  it('says no pull secret matched when the pod has none', async () => {
    const analyzer = new ImageAnalyzer({ registry: client });
    const result = await analyzer.analyze(reference, { credentials: credentialsOf() });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.reason, 'Unauthorized');
    assert.match(result.message, new RegExp(`registry ${host} answered 401 .*: no pull secret matched`));
  });
});
