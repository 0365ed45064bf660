// The real test images (test/support/images) are well-formed as a second
// client sees them: crane reads their manifests, configs and flattened file
// systems (whiteouts applied), the index carries both platforms, and Trivy's
// inventory of each agrees with what its builder says must be found.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { toolPath } from '../cluster/local-cluster.js';
import {
  alpineFixtureImage,
  debianImage,
  goBinaryImage,
  multiArchIndex,
  nodeAppImage,
  PURGED_PACKAGE,
  pythonImage,
  rpmFixtureImage,
  trivyInventory,
  type ExpectedPackage,
  type TestImage,
  type TrivyPackage,
} from '../support/images/index.js';
import { registryHost } from './harness.js';

const execFileAsync = promisify(execFile);

async function crane(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(toolPath('crane'), [...args, '--insecure'], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** The flattened file system as crane builds it (whiteouts and opaque dirs applied): path → entry line. */
async function exportedPaths(reference: string, platform?: string): Promise<Set<string>> {
  const { stdout } = await execFileAsync(
    'bash',
    [
      '-o',
      'pipefail',
      '-c',
      `"$0" export --insecure ${platform ? `--platform ${platform}` : ''} "$1" - | tar -tf -`,
      toolPath('crane'),
      reference,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return new Set(stdout.split('\n').map((path) => path.replace(/^\.?\//, '').replace(/\/$/, '')));
}

async function exportedFile(reference: string, path: string): Promise<string> {
  const { stdout } = await execFileAsync(
    'bash',
    [
      '-o',
      'pipefail',
      '-c',
      `"$0" export --insecure "$1" - | tar -xOf - "$2"`,
      toolPath('crane'),
      reference,
      path,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

interface Manifest {
  mediaType: string;
  config: { mediaType: string; digest: string };
  layers: Array<{ mediaType: string; size: number }>;
}

async function assertWellFormed(image: TestImage, layerMediaType: string): Promise<Manifest> {
  assert.equal((await crane('digest', image.reference)).trim(), image.digest);
  const manifest = JSON.parse(await crane('manifest', image.reference)) as Manifest;
  assert.equal(manifest.mediaType, image.mediaType);
  for (const layer of manifest.layers) assert.equal(layer.mediaType, layerMediaType);
  const config = JSON.parse(await crane('config', image.reference)) as { rootfs: { diff_ids: string[] } };
  assert.equal(config.rootfs.diff_ids.length, manifest.layers.length, 'one diff_id per layer');
  return manifest;
}

const key = (pkg: { type: string; name: string; version: string }): string =>
  `${pkg.type}:${pkg.name}@${pkg.version}`;

/** Trivy's packages of the expected types must be exactly the expected ones. */
function assertInventoryAgrees(
  found: TrivyPackage[],
  expected: ExpectedPackage[],
  absent: ExpectedPackage[],
): void {
  const types = new Set(expected.map((pkg) => pkg.type));
  const reported = found
    .filter((pkg) => types.has(pkg.type as ExpectedPackage['type']))
    .map(key)
    .sort();
  assert.deepEqual(reported, [...new Set(expected.map(key))].sort());
  for (const pkg of absent) {
    assert.ok(
      !found.some((other) => other.type === pkg.type && other.name === pkg.name),
      `${pkg.name} is gone`,
    );
  }
}

describe('real test images in the local registry', function () {
  // A cold cache builds the Debian rootfs with debootstrap (about 2 minutes) and
  // installs the npm/PyPI/Go inputs once; a warm run takes well under a minute.
  this.timeout(600_000);

  describe('Debian minbase with whiteouts and a purged package', () => {
    let gzip: TestImage;
    let zstd: TestImage;

    before(async () => {
      gzip = await debianImage(registryHost(), { compression: 'gzip' });
      zstd = await debianImage(registryHost(), { compression: 'zstd' });
    });

    it('is pushed with gzip and with zstd layers that crane reads back', async () => {
      const manifest = await assertWellFormed(gzip, 'application/vnd.oci.image.layer.v1.tar+gzip');
      assert.equal(manifest.layers.length, 4);
      await assertWellFormed(zstd, 'application/vnd.oci.image.layer.v1.tar+zstd');
      assert.notEqual(gzip.digest, zstd.digest);
      const gzipConfig = JSON.parse(await crane('config', gzip.reference)) as { rootfs: unknown };
      const zstdConfig = JSON.parse(await crane('config', zstd.reference)) as { rootfs: unknown };
      assert.deepEqual(zstdConfig.rootfs, gzipConfig.rootfs, 'same uncompressed layers');
    });

    it('flattens to the file system its builder expects: whiteouts and the opaque directory applied', async () => {
      const paths = await exportedPaths(zstd.reference);
      for (const file of gzip.expected.files) {
        assert.equal(paths.has(file.path), file.present, `${file.path} present=${file.present}`);
      }
      assert.ok(paths.has('usr/bin/bash') && paths.has('etc/os-release'));
      const status = await exportedFile(gzip.reference, 'var/lib/dpkg/status');
      assert.equal(status, gzip.expected.files.find((file) => file.path === 'var/lib/dpkg/status')?.content);
      assert.doesNotMatch(status, new RegExp(`^Package: ${PURGED_PACKAGE}$`, 'm'));
    });

    it('is inventoried by Trivy from the topmost dpkg status: every package but the purged one', async () => {
      const found = await trivyInventory(gzip.reference);
      const debs = found.filter((pkg) => pkg.type === 'deb');
      assert.ok(debs.length > 50, `${debs.length} deb packages`);
      for (const name of ['bash', 'dpkg', 'apt', 'libc6', 'coreutils']) {
        assert.ok(
          debs.some((pkg) => pkg.name === name),
          `${name} is reported`,
        );
      }
      assertInventoryAgrees(found, gzip.expected.packages, gzip.expected.absent);
      assert.match(
        debs.find((pkg) => pkg.name === 'bash')?.purl ?? '',
        /^pkg:deb\/debian\/bash@.*distro=debian-12/,
      );
    });
  });

  describe('language ecosystems', () => {
    it('carries a real npm install under app/node_modules that Trivy inventories', async () => {
      const image = await nodeAppImage(registryHost());
      await assertWellFormed(image, 'application/vnd.oci.image.layer.v1.tar+gzip');
      assert.ok(
        image.expected.packages.length > 30,
        `${image.expected.packages.length} npm packages on disk`,
      );
      assert.ok(
        image.expected.packages.some((pkg) => pkg.name === 'express' && pkg.version.startsWith('4.')),
      );
      assertInventoryAgrees(await trivyInventory(image.reference), image.expected.packages, []);
    });

    it('carries pip-installed dist-info packages in site-packages that Trivy inventories', async () => {
      const image = await pythonImage(registryHost(), { compression: 'zstd' });
      await assertWellFormed(image, 'application/vnd.oci.image.layer.v1.tar+zstd');
      assert.equal(image.expected.packages.length, 5);
      assertInventoryAgrees(await trivyInventory(image.reference), image.expected.packages, []);
    });

    it('carries a Go binary whose build info names its pinned module and toolchain', async () => {
      const image = await goBinaryImage(registryHost());
      await assertWellFormed(image, 'application/vnd.oci.image.layer.v1.tar+gzip');
      assertInventoryAgrees(await trivyInventory(image.reference), image.expected.packages, []);
    });
  });

  describe('distribution fixtures', () => {
    it('writes an apk installed database Trivy reads as Alpine packages', async () => {
      const image = await alpineFixtureImage(registryHost(), { compression: 'none' });
      await assertWellFormed(image, 'application/vnd.oci.image.layer.v1.tar');
      assertInventoryAgrees(await trivyInventory(image.reference), image.expected.packages, []);
    });

    it('writes a real SQLite rpm database Trivy reads as Rocky Linux packages', async () => {
      const image = await rpmFixtureImage(registryHost());
      await assertWellFormed(image, 'application/vnd.oci.image.layer.v1.tar+gzip');
      assertInventoryAgrees(await trivyInventory(image.reference), image.expected.packages, []);
    });

    it('pushes Docker v2 schema 2 manifests when asked', async () => {
      const index = await multiArchIndex(registryHost(), {
        repository: 'test/multi-arch-docker',
        format: 'docker',
      });
      assert.equal(index.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
      for (const child of index.platforms) {
        await assertWellFormed(child, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
      }
    });
  });

  describe('multi-platform index', () => {
    it('lists linux/amd64 and linux/arm64 images with different contents', async () => {
      const image = await multiArchIndex(registryHost());
      const index = JSON.parse(await crane('manifest', image.reference)) as {
        mediaType: string;
        manifests: Array<{ digest: string; platform: { os: string; architecture: string } }>;
      };
      assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
      assert.deepEqual(
        index.manifests.map((entry) => `${entry.platform.os}/${entry.platform.architecture}`).sort(),
        ['linux/amd64', 'linux/arm64'],
      );
      const [amd64, arm64] = image.platforms;
      assert.ok(amd64 && arm64);
      assert.notEqual(amd64.digest, arm64.digest);
      const armConfig = JSON.parse(await crane('config', '--platform', 'linux/arm64', image.reference)) as {
        architecture: string;
      };
      assert.equal(armConfig.architecture, 'arm64');
      const armPaths = await exportedPaths(image.reference, 'linux/arm64');
      assert.ok(armPaths.has('lib/ld-musl-aarch64.so.1') && !armPaths.has('lib/ld-musl-x86_64.so.1'));
      const found = await trivyInventory(image.reference);
      assertInventoryAgrees(found, image.expected.packages, []);
    });
  });
});
