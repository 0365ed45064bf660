// An Alpine-shaped fixture image: lib/apk/db/installed written in apk's real
// line format (C: P: V: A: ... F: R: a: Z:) for the packages of an Alpine
// 3.20 base, with etc/alpine-release, etc/os-release and the files each
// package owns. The database is written here, not by apk (not on Debian).
import { createHash } from 'node:crypto';
import { pushImageWith, type LayerCompression } from '../oci-push.js';
import { tar, type TarEntry } from '../tar.js';
import { manifestMediaType, type ExpectedPackage, type TestImage } from './expected.js';

export type AlpineArch = 'x86_64' | 'aarch64';
export const ALPINE_RELEASE = '3.20.3';

interface ApkPackage {
  name: string;
  version: string;
  origin: string;
  license: string;
  description: string;
  url: string;
  /** Files the package owns, layer-relative. */
  files: string[];
}

const packages = (arch: AlpineArch): ApkPackage[] => [
  {
    name: 'alpine-baselayout-data',
    version: '3.6.5-r0',
    origin: 'alpine-baselayout',
    license: 'GPL-2.0-only',
    description: 'Alpine base dir structure and init scripts',
    url: 'https://git.alpinelinux.org/cgit/aports/tree/main/alpine-baselayout',
    files: ['etc/hosts', 'etc/shells'],
  },
  {
    name: 'musl',
    version: '1.2.5-r0',
    origin: 'musl',
    license: 'MIT',
    description: 'the musl c library (libc) implementation',
    url: 'https://musl.libc.org/',
    files: [`lib/ld-musl-${arch}.so.1`],
  },
  {
    name: 'busybox',
    version: '1.36.1-r29',
    origin: 'busybox',
    license: 'GPL-2.0-only',
    description: 'Size optimized toolbox of many common UNIX utilities',
    url: 'https://busybox.net/',
    files: ['bin/busybox'],
  },
  {
    name: 'busybox-binsh',
    version: '1.36.1-r29',
    origin: 'busybox',
    license: 'GPL-2.0-only',
    description: 'busybox ash /bin/sh',
    url: 'https://busybox.net/',
    files: [],
  },
  {
    name: 'libcrypto3',
    version: '3.3.2-r0',
    origin: 'openssl',
    license: 'Apache-2.0',
    description: 'Crypto library from openssl',
    url: 'https://www.openssl.org/',
    files: ['lib/libcrypto.so.3'],
  },
  {
    name: 'libssl3',
    version: '3.3.2-r0',
    origin: 'openssl',
    license: 'Apache-2.0',
    description: 'SSL shared libraries',
    url: 'https://www.openssl.org/',
    files: ['lib/libssl.so.3'],
  },
  {
    name: 'zlib',
    version: '1.3.1-r1',
    origin: 'zlib',
    license: 'Zlib',
    description: 'A compression/decompression Library',
    url: 'https://zlib.net/',
    files: ['lib/libz.so.1.3.1'],
  },
  {
    name: 'apk-tools',
    version: '2.14.4-r1',
    origin: 'apk-tools',
    license: 'GPL-2.0-only',
    description: 'Alpine Package Keeper - package manager for alpine',
    url: 'https://gitlab.alpinelinux.org/alpine/apk-tools',
    files: ['sbin/apk'],
  },
];

/** apk's checksum notation: "Q1" + base64 of a SHA-1. */
const q1 = (text: string): string => `Q1${createHash('sha1').update(text).digest('base64')}`;
const fileContent = (pkg: ApkPackage, path: string, arch: AlpineArch): string =>
  `${pkg.name} ${pkg.version} ${arch} ${path}\n`;

/** One package's stanza; files are grouped under their directory (F:) as apk does. */
function apkStanza(pkg: ApkPackage, arch: AlpineArch): string {
  const lines = [
    `C:${q1(`${pkg.name}-${pkg.version}-${arch}`)}`,
    `P:${pkg.name}`,
    `V:${pkg.version}`,
    `A:${arch}`,
    `S:${1000 + pkg.name.length * 37}`,
    `I:${4096 + pkg.name.length * 111}`,
    `T:${pkg.description}`,
    `U:${pkg.url}`,
    `L:${pkg.license}`,
    `o:${pkg.origin}`,
    'm:Natanael Copa <ncopa@alpinelinux.org>',
    't:1725000000',
    `c:${createHash('sha1').update(pkg.origin).digest('hex')}`,
  ];
  const byDir = new Map<string, string[]>();
  for (const path of pkg.files) {
    const slash = path.lastIndexOf('/');
    const dir = path.slice(0, slash);
    byDir.set(dir, [...(byDir.get(dir) ?? []), path.slice(slash + 1)]);
  }
  for (const [dir, names] of byDir) {
    lines.push(`F:${dir}`);
    for (const name of names) {
      lines.push(`R:${name}`, `Z:${q1(fileContent(pkg, `${dir}/${name}`, arch))}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export const apkInstalledDatabase = (arch: AlpineArch): string =>
  packages(arch)
    .map((pkg) => apkStanza(pkg, arch))
    .join('\n')
    .concat('\n');

/** The single layer of an Alpine fixture root filesystem for `arch`. */
export function alpineLayer(arch: AlpineArch): { layer: Buffer; packages: ExpectedPackage[] } {
  const entries: TarEntry[] = [];
  const dirs = new Set<string>();
  const addDirs = (path: string): void => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = `${parts.slice(0, i).join('/')}/`;
      if (!dirs.has(dir)) {
        dirs.add(dir);
        entries.push({ path: dir, type: 'dir' });
      }
    }
  };
  const file = (path: string, content: string, mode?: number): void => {
    addDirs(path);
    entries.push({ path, content, ...(mode === undefined ? {} : { mode }) });
  };
  file('etc/alpine-release', `${ALPINE_RELEASE}\n`);
  file(
    'etc/os-release',
    [
      'NAME="Alpine Linux"',
      'ID=alpine',
      `VERSION_ID=${ALPINE_RELEASE}`,
      `PRETTY_NAME="Alpine Linux v${ALPINE_RELEASE.split('.').slice(0, 2).join('.')}"`,
      'HOME_URL="https://alpinelinux.org/"',
      'BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"',
      '',
    ].join('\n'),
  );
  file('etc/apk/arch', `${arch}\n`);
  file('lib/apk/db/installed', apkInstalledDatabase(arch));
  for (const pkg of packages(arch)) {
    for (const path of pkg.files) file(path, fileContent(pkg, path, arch), 0o755);
  }
  return {
    layer: tar(entries),
    packages: packages(arch).map((pkg) => ({ type: 'apk', name: pkg.name, version: pkg.version })),
  };
}

export async function alpineFixtureImage(
  registry: string,
  options: { repository?: string; tag?: string; arch?: AlpineArch; compression?: LayerCompression } = {},
): Promise<TestImage> {
  const { repository = 'test/alpine', arch = 'x86_64', compression = 'gzip' } = options;
  const tag = options.tag ?? `${ALPINE_RELEASE}-${arch}`;
  const { layer, packages: expected } = alpineLayer(arch);
  const pushed = await pushImageWith(registry, repository, tag, [layer], {
    compression,
    config: { architecture: arch === 'x86_64' ? 'amd64' : 'arm64', config: { Cmd: ['/bin/sh'] } },
  });
  return {
    reference: pushed.reference,
    digest: pushed.digest,
    mediaType: manifestMediaType(pushed.manifest),
    expected: {
      os: { family: 'alpine', version: ALPINE_RELEASE },
      packages: expected,
      absent: [],
      files: [{ path: 'lib/apk/db/installed', present: true, content: apkInstalledDatabase(arch) }],
    },
  };
}
