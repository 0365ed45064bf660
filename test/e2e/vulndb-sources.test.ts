// The vulnerability database as an OCI artifact in the local distribution
// registry: OSV zips pushed as the layers of a manifest (as `oras push` does) and
// as a tar layer (`crane append`, the real tool), pulled through Shipshape's
// registry client with its address policy; an unchanged tag is not re-read; a
// corrupt artifact keeps the previous database; and `shipshape scan` matches an
// image from the same registry against it, exiting per --fail-on.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CoreV1Api } from '@kubernetes/client-node';

import { ZipWriter } from '../../bench/vuln-zip.js';
import { RegistryClient } from '../../src/registry/client.js';
import { DatabaseRefresher } from '../../src/vuln/refresher.js';
import { OciArtifactSource } from '../../src/vuln/sources/oci-artifact.js';
import { toolPath } from '../cluster/local-cluster.js';
import { pushBlob, pushImage, pushManifest, sha256 } from '../support/oci-push.js';
import { installCrds } from '../support/crds.js';
import { createReadyNamespace } from '../support/namespaces.js';
import { startOperatorProcess } from '../support/operator-process.js';
import { tar } from '../support/tar.js';
import { eventually } from '../support/wait.js';
import { kubeConfig, kubeconfigPath, registryHost } from './harness.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const REPO = `e2e-vulndb-${process.pid}`;
const work = mkdtempSync(join(tmpdir(), 'shipshape-vulndb-e2e-'));

function osvZip(ids: string[]): Buffer {
  const path = join(work, `${ids.join('_')}.zip`);
  const writer = new ZipWriter(path);
  for (const id of ids) {
    writer.add(
      `${id}.json`,
      Buffer.from(
        JSON.stringify({
          id,
          aliases: [`CVE-${id.slice(4)}`],
          modified: '2024-06-01T00:00:00Z',
          severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
          affected: [
            {
              package: { ecosystem: 'Debian:12', name: 'openssl' },
              ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.13-1~deb12u1' }] }],
            },
          ],
        }),
      ),
    );
  }
  writer.close();
  return readFileSync(path);
}

/** Pushes `layers` as an OCI artifact manifest, the way `oras push ref a.zip:application/zip` does. */
async function pushArtifact(tag: string, layers: Buffer[]): Promise<string> {
  const host = registryHost();
  const config = Buffer.from('{}');
  await pushBlob(host, `${REPO}/osv`, config);
  const descriptors = [];
  for (const layer of layers) {
    await pushBlob(host, `${REPO}/osv`, layer);
    descriptors.push({ mediaType: 'application/zip', digest: sha256(layer), size: layer.length });
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.osv.database.v1',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(config), size: config.length },
      layers: descriptors,
    }),
  );
  return pushManifest(host, `${REPO}/osv`, tag, manifest, 'application/vnd.oci.image.manifest.v1+json');
}

function client(): RegistryClient {
  return new RegistryClient({
    config: { policy: { allow: ['127.0.0.1:*'] }, hosts: { [registryHost()]: { plainHttp: true } } },
  });
}

function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

describe('vulnerability database from an OCI artifact in the local registry', function () {
  this.timeout(120_000);
  after(() => rmSync(work, { recursive: true, force: true }));

  it('loads the zip layers, keeps the database for an unchanged tag, and refuses a corrupt push', async () => {
    await pushArtifact('v1', [osvZip(['DSA-2024-0001', 'DSA-2024-0002']), osvZip(['DSA-2024-0003'])]);
    const registry = client();
    const refresher = new DatabaseRefresher({
      sources: [new OciArtifactSource({ reference: `${registryHost()}/${REPO}/osv:v1`, registry })],
    });
    try {
      const status = await refresher.refresh();
      assert.equal(status.state, 'Ready', status.message);
      const first = refresher.current()!;
      assert.equal(first.db.size, 3);
      assert.match(first.version, /^sha256:[0-9a-f]{64}$/);

      assert.equal((await refresher.refresh()).state, 'Ready');
      assert.equal(refresher.current(), first, 'same manifest digest: nothing reloaded');

      // The same tag now points at an artifact whose zip is cut short.
      const good = osvZip(['DSA-2024-0004']);
      await pushArtifact('v1', [good.subarray(0, good.length - 30)]);
      const stale = await refresher.refresh();
      assert.equal(stale.state, 'Stale');
      assert.equal(stale.reason, 'Corrupt', stale.message);
      assert.equal(refresher.current(), first, 'the previous database stays in use');
    } finally {
      await refresher.close();
      registry.close();
    }
  });

  it('reads an artifact built with crane append (a tar layer holding the zip)', async () => {
    const layerTar = join(work, 'osv-layer.tar');
    writeFileSync(
      layerTar,
      tar([
        { path: 'osv/', type: 'dir' },
        { path: 'osv/Debian.zip', content: osvZip(['DSA-2024-0005', 'DSA-2024-0006']) },
        { path: 'osv/README', content: 'not an advisory' },
      ]),
    );
    const ref = `${registryHost()}/${REPO}/osv-crane:v1`;
    execFileSync(toolPath('crane'), ['append', '--insecure', '-f', layerTar, '-t', ref], { stdio: 'pipe' });
    const registry = client();
    const refresher = new DatabaseRefresher({
      sources: [new OciArtifactSource({ reference: ref, registry })],
    });
    try {
      const status = await refresher.refresh();
      assert.equal(status.state, 'Ready', status.message);
      assert.equal(refresher.current()?.db.size, 2);
    } finally {
      await refresher.close();
      registry.close();
    }
  });

  it('stops unpacking a tar layer that inflates past the size cap (a gzip bomb)', async () => {
    const layerTar = join(work, 'bomb-layer.tar');
    writeFileSync(
      layerTar,
      tar([
        { path: 'zeros', content: Buffer.alloc(8 * 1024 * 1024) },
        { path: 'osv/Debian.zip', content: osvZip(['DSA-2024-0008']) },
      ]),
    );
    const ref = `${registryHost()}/${REPO}/osv-bomb:v1`;
    execFileSync(toolPath('crane'), ['append', '--insecure', '-f', layerTar, '-t', ref], { stdio: 'pipe' });
    const registry = client();
    const refresher = new DatabaseRefresher({
      sources: [new OciArtifactSource({ reference: ref, registry, maxBytes: 1024 * 1024 })],
    });
    try {
      const status = await refresher.refresh();
      assert.equal(status.state, 'Unavailable');
      assert.equal(status.reason, 'TooLarge', status.message);
      assert.equal(refresher.current(), undefined);
    } finally {
      await refresher.close();
      registry.close();
    }
  });

  it('refuses the registry when the address policy does not allow it', async () => {
    const registry = new RegistryClient({ config: { hosts: { [registryHost()]: { plainHttp: true } } } });
    const refresher = new DatabaseRefresher({
      sources: [new OciArtifactSource({ reference: `${registryHost()}/${REPO}/osv:v1`, registry })],
    });
    try {
      const status = await refresher.refresh();
      assert.equal(status.state, 'Unavailable');
      assert.equal(status.reason, 'SourceNotAllowed', status.message);
    } finally {
      await refresher.close();
      registry.close();
    }
  });

  it('the operator loads --vulnerability-db-source on start, refreshes on schedule, and keeps it on a bad push', async () => {
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const namespace = `e2e-vulndb-op-${process.pid}`;
    await installCrds(kubeConfig());
    await createReadyNamespace(core, namespace);
    await pushArtifact('operator', [osvZip(['DSA-2024-0010', 'DSA-2024-0011'])]);
    const operator = await startOperatorProcess([
      `--kubeconfig=${kubeconfigPath()}`,
      `--namespace=${namespace}`,
      '--log-level=warn',
      '--image-analysis=false',
      '--leader-elect=false',
      `--vulnerability-db-source=oci:${registryHost()}/${REPO}/osv:operator`,
      // Every two seconds (node-cron's optional seconds field), so the test sees refreshes.
      '--vulnerability-db-refresh=*/2 * * * * *',
      '--allow-registry=127.0.0.1:*',
      `--plain-http=${registryHost()}`,
    ]);
    try {
      await operator.waitReady(60_000).catch((err: unknown) => {
        throw new Error(`${String(err)}; operator output: ${operator.output().slice(-2000)}`);
      });
      await eventually(
        'the database to load',
        async () => (await operator.metric('shipshape_vulndb_advisories')) === 2,
      );
      assert.equal(
        await operator.metric('shipshape_vulndb_refresh_total', { source: 'oci', result: 'success' }),
        1,
      );
      await eventually(
        'an unchanged refresh',
        async () =>
          ((await operator.metric('shipshape_vulndb_refresh_total', {
            source: 'oci',
            result: 'unchanged',
          })) ?? 0) > 0,
      );
      await pushArtifact('operator', [osvZip(['DSA-2024-0010', 'DSA-2024-0011', 'DSA-2024-0012'])]);
      await eventually(
        'the new advisory',
        async () => (await operator.metric('shipshape_vulndb_advisories')) === 3,
        {
          timeoutMs: 20_000,
        },
      );
      const broken = osvZip(['DSA-2024-0013']);
      await pushArtifact('operator', [broken.subarray(0, broken.length - 30)]);
      await eventually(
        'a failed refresh',
        async () =>
          ((await operator.metric('shipshape_vulndb_refresh_total', { source: 'oci', result: 'failed' })) ??
            0) > 0,
        { timeoutMs: 20_000 },
      );
      assert.equal(await operator.metric('shipshape_vulndb_advisories'), 3, 'the last good database stays');
      assert.match(operator.output(), /vulnerability database Stale: .*Corrupt|"reason":"Corrupt"/);
    } finally {
      await operator.stop();
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    }
  });

  it('shipshape scan matches an image against the OCI database and exits per --fail-on', async () => {
    await pushArtifact('scan', [osvZip(['DSA-2024-0007'])]);
    const status = [
      'Package: libssl3',
      'Status: install ok installed',
      'Architecture: amd64',
      'Source: openssl',
      'Version: 3.0.11-1~deb12u2',
      '',
      'Package: base-files',
      'Status: install ok installed',
      'Architecture: amd64',
      'Version: 12.4+deb12u5',
      '',
    ].join('\n');
    const layer = tar([
      { path: 'etc/', type: 'dir' },
      {
        path: 'etc/os-release',
        content: 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
      },
      { path: 'var/', type: 'dir' },
      { path: 'var/lib/', type: 'dir' },
      { path: 'var/lib/dpkg/', type: 'dir' },
      { path: 'var/lib/dpkg/status', content: status },
    ]);
    await pushImage(registryHost(), `${REPO}/app`, 'v1', [layer]);
    const common = [
      `${registryHost()}/${REPO}/app:v1`,
      '--db',
      `oci:${registryHost()}/${REPO}/osv:scan`,
      '--allow-registry',
      '127.0.0.1:*',
      '--plain-http',
      registryHost(),
    ];
    const failing = await runCli(['scan', ...common, '--format', 'json', '--fail-on', 'high']);
    assert.equal(failing.code, 1, failing.stderr);
    const report = JSON.parse(failing.stdout) as {
      findings: {
        id: string;
        package: { name: string };
        severity: { level: string };
        fixedVersions: string[];
      }[];
    };
    assert.deepEqual(
      report.findings.map((f) => [f.id, f.package.name, f.severity.level, f.fixedVersions]),
      [['CVE-2024-0007', 'openssl', 'CRITICAL', ['3.0.13-1~deb12u1']]],
    );
    const passing = await runCli(['scan', ...common, '--fail-on', 'never']);
    assert.equal(passing.code, 0, passing.stderr);
    assert.match(passing.stdout, /CRITICAL\s+CVE-2024-0007\s+openssl/);

    const missing = await runCli([
      'scan',
      ...common.slice(0, 1),
      '--db',
      `oci:${registryHost()}/${REPO}/nothing:v1`,
      ...common.slice(3),
    ]);
    assert.equal(missing.code, 3, 'an unreadable database is never a pass');
    assert.match(missing.stderr, /vulnerability database SourceNotFound/);
  });
});
