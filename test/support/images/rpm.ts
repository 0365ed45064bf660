// A Rocky-Linux-shaped fixture image with a real SQLite rpm database
// (var/lib/rpm/rpmdb.sqlite) written by rpm itself: small packages with
// Enterprise Linux names, epochs and releases are built with rpmbuild and
// registered with `rpm --justdb`. Needs the Debian `rpm` package (installed
// on first use when missing); the database is cached per package set.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pushImageWith, type LayerCompression } from '../oci-push.js';
import { tar, type TarEntry } from '../tar.js';
import { cachedDir, run } from './cache.js';
import { manifestMediaType, type ExpectedPackage, type TestImage } from './expected.js';

interface RpmPackage {
  name: string;
  epoch?: number;
  version: string;
  release: string;
  arch: 'x86_64' | 'noarch';
  license: string;
  /** The one file the package installs, absolute. */
  file: string;
}

export const ROCKY_RELEASE = '9.4';
export const RPM_PACKAGES: RpmPackage[] = [
  {
    name: 'bash',
    version: '5.1.8',
    release: '9.el9',
    arch: 'x86_64',
    license: 'GPLv3+',
    file: '/usr/bin/bash',
  },
  {
    name: 'openssl-libs',
    epoch: 1,
    version: '3.0.7',
    release: '27.el9',
    arch: 'x86_64',
    license: 'ASL 2.0',
    file: '/usr/lib64/libssl.so.3.0.7',
  },
  {
    name: 'zlib',
    version: '1.2.11',
    release: '40.el9',
    arch: 'x86_64',
    license: 'zlib and Boost',
    file: '/usr/lib64/libz.so.1.2.11',
  },
  {
    name: 'rocky-release',
    version: ROCKY_RELEASE,
    release: '1.7.el9',
    arch: 'noarch',
    license: 'BSD-3-Clause',
    file: '/usr/lib/rocky-release-marker',
  },
];

/** `[epoch:]version-release`, how rpm -q --qf '%{EVR}' prints it. */
export const rpmEvr = (pkg: RpmPackage): string =>
  `${pkg.epoch === undefined ? '' : `${pkg.epoch}:`}${pkg.version}-${pkg.release}`;

const spec = (pkg: RpmPackage): string =>
  [
    `Name: ${pkg.name}`,
    ...(pkg.epoch === undefined ? [] : [`Epoch: ${pkg.epoch}`]),
    `Version: ${pkg.version}`,
    `Release: ${pkg.release}`,
    `Summary: Shipshape test fixture standing in for ${pkg.name}`,
    `License: ${pkg.license}`,
    `BuildArch: ${pkg.arch}`,
    '%description',
    `Fixture package ${pkg.name}.`,
    '%install',
    `mkdir -p %{buildroot}$(dirname ${pkg.file})`,
    `echo '${pkg.name}' > %{buildroot}${pkg.file}`,
    '%files',
    pkg.file,
    '',
  ].join('\n');

async function ensureRpm(): Promise<void> {
  if (existsSync('/usr/bin/rpmbuild')) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // apt's package lists may not exist yet on a fresh machine.
  await run('apt-get', ['install', '-y', '-qq', 'rpm'], { env }).catch(async () => {
    await run('apt-get', ['update', '-qq'], { env });
    await run('apt-get', ['install', '-y', '-qq', 'rpm'], { env });
  });
}

/** The cached database directory: `<dir>/var/lib/rpm/rpmdb.sqlite`. */
export async function rpmDatabase(): Promise<string> {
  const key = createHash('sha256').update(RPM_PACKAGES.map(spec).join('\n')).digest('hex').slice(0, 12);
  return cachedDir(`rpmdb-${key}`, async (dir) => {
    await ensureRpm();
    const top = join(dir, 'rpmbuild');
    mkdirSync(join(top, 'SPECS'), { recursive: true });
    for (const pkg of RPM_PACKAGES) {
      const specPath = join(top, 'SPECS', `${pkg.name}.spec`);
      writeFileSync(specPath, spec(pkg));
      await run('rpmbuild', [
        '--define',
        `_topdir ${top}`,
        '--define',
        '_build_id_links none',
        '-bb',
        specPath,
      ]);
    }
    const rpms = readdirSync(join(top, 'RPMS'), { recursive: true, encoding: 'utf8' })
      .filter((path) => path.endsWith('.rpm'))
      .map((path) => join(top, 'RPMS', path));
    const dbpath = join(dir, 'root', 'var', 'lib', 'rpm');
    await run('rpm', ['--initdb', '--dbpath', dbpath]);
    // Debian's rpm warns that it is not the system package manager; --justdb only writes the database.
    await run('rpm', [
      '-i',
      '--justdb',
      '--nodeps',
      '--noscripts',
      '--ignorearch',
      '--ignoreos',
      '--dbpath',
      dbpath,
      ...rpms,
    ]);
  });
}

export async function rpmFixtureImage(
  registry: string,
  options: { repository?: string; tag?: string; compression?: LayerCompression } = {},
): Promise<TestImage> {
  const { repository = 'test/rocky', tag = `${ROCKY_RELEASE}-rpmdb`, compression = 'gzip' } = options;
  const database = await readFile(join(await rpmDatabase(), 'root', 'var', 'lib', 'rpm', 'rpmdb.sqlite'));
  const osRelease = [
    'NAME="Rocky Linux"',
    `VERSION="${ROCKY_RELEASE} (Blue Onyx)"`,
    'ID="rocky"',
    'ID_LIKE="rhel centos fedora"',
    `VERSION_ID="${ROCKY_RELEASE}"`,
    'PLATFORM_ID="platform:el9"',
    `PRETTY_NAME="Rocky Linux ${ROCKY_RELEASE} (Blue Onyx)"`,
    '',
  ].join('\n');
  const release = `Rocky Linux release ${ROCKY_RELEASE} (Blue Onyx)\n`;
  const dirs = new Set<string>();
  const entries: TarEntry[] = [];
  const file = (path: string, content: string | Buffer): void => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = `${parts.slice(0, i).join('/')}/`;
      if (!dirs.has(dir)) entries.push({ path: dir, type: 'dir' });
      dirs.add(dir);
    }
    entries.push({ path, content });
  };
  file('etc/os-release', osRelease);
  file('etc/redhat-release', release);
  file('etc/rocky-release', release);
  for (const pkg of RPM_PACKAGES) file(pkg.file.slice(1), `${pkg.name}\n`);
  file('var/lib/rpm/rpmdb.sqlite', database);
  const pushed = await pushImageWith(registry, repository, tag, [tar(entries)], {
    compression,
    config: { config: { Cmd: ['/bin/bash'] } },
  });
  return {
    reference: pushed.reference,
    digest: pushed.digest,
    mediaType: manifestMediaType(pushed.manifest),
    expected: {
      os: { family: 'rocky', version: ROCKY_RELEASE },
      packages: RPM_PACKAGES.map((pkg): ExpectedPackage => ({
        type: 'rpm',
        name: pkg.name,
        version: rpmEvr(pkg),
      })),
      absent: [],
      files: [{ path: 'var/lib/rpm/rpmdb.sqlite', present: true }],
    },
  };
}
