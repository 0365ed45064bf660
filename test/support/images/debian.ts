// A Debian test image on a real debootstrap rootfs (hack/build-rootfs.sh),
// with later layers that add, replace and delete files through whiteouts and
// opaque directories, and purge one package the way `dpkg --purge` does: its
// files are whited out and a new var/lib/dpkg/status without its stanza
// shadows the base one. A correct inventory follows the topmost status file.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pushImageWith, type LayerCompression } from '../oci-push.js';
import { tar, type TarEntry } from '../tar.js';
import { run, runBuffer } from './cache.js';
import { manifestMediaType, type ExpectedFile, type ExpectedPackage, type TestImage } from './expected.js';

const execFileAsync = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** The package removed in the top layer; small, nothing in minbase depends on it. */
export const PURGED_PACKAGE = 'hostname';
/** Its copyright file goes in a cleanup layer, as image slimming does. */
const DOC_REMOVED_FROM = 'gzip';

/** Path of the cached rootfs tarball, built on first use (needs root). */
export async function debianRootfs(): Promise<string> {
  const script = join(repoRoot, 'hack', 'build-rootfs.sh');
  const { stdout } = await execFileAsync('bash', [script], { maxBuffer: 1024 * 1024 });
  const path = stdout.trim().split('\n').pop();
  if (!path) throw new Error('hack/build-rootfs.sh printed no tarball path');
  return path;
}

export interface DpkgStanza {
  fields: Map<string, string>;
  text: string;
}

/** Stanzas of a dpkg status file, each kept verbatim so a rewrite changes nothing else. */
export function parseDpkgStatus(status: string): DpkgStanza[] {
  return status
    .split(/\n\n+/)
    .filter((text) => text.trim() !== '')
    .map((text) => {
      const fields = new Map<string, string>();
      for (const line of text.split('\n')) {
        const match = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
        if (match?.[1] !== undefined) fields.set(match[1], match[2] ?? '');
      }
      return { fields, text: text.replace(/\n+$/, '') };
    });
}

export const formatDpkgStatus = (stanzas: DpkgStanza[]): string =>
  stanzas.map((stanza) => `${stanza.text}\n`).join('\n');

const isInstalled = (stanza: DpkgStanza): boolean =>
  stanza.fields.get('Status')?.split(' ')[2] === 'installed';

async function readFromTar(tarball: string, path: string): Promise<string> {
  return (await runBuffer('tar', ['-xOf', tarball, path])).toString('utf8');
}

interface TarListing {
  files: Set<string>;
  /** Top-level symlinks such as bin -> usr/bin on a merged-/usr system. */
  links: Map<string, string>;
}

async function listTar(tarball: string): Promise<TarListing> {
  const listing = await run('tar', ['--numeric-owner', '-tvf', tarball]);
  const files = new Set<string>();
  const links = new Map<string, string>();
  for (const line of listing.split('\n')) {
    // drwxr-xr-x 0/0  0 2026-07-02 19:05 usr/share/   |   lrwxrwxrwx ... bin -> usr/bin
    const match = /^(\S)\S+\s+\S+\s+\d+\s+\S+\s+\S+\s+(.*)$/.exec(line);
    if (!match?.[1] || !match[2]) continue;
    const [kind, rest] = [match[1], match[2]];
    if (kind === 'd') continue;
    if (kind === 'l') {
      const [name, target] = rest.split(' -> ');
      // A top-level link (bin -> usr/bin) stands for a directory dpkg lists as its
      // own: whiting it out would take every file below it along.
      if (name && target) {
        if (name.includes('/')) files.add(name);
        else links.set(name, target);
      }
      continue;
    }
    files.add(rest.split(' link to ')[0] ?? rest);
  }
  return { files, links };
}

/** Where a path dpkg recorded really lives in the tar (merged /usr moves /bin/x to usr/bin/x). */
function resolveInTar(listing: TarListing, path: string): string | undefined {
  const relative = path.replace(/^\/+/, '');
  if (listing.files.has(relative)) return relative;
  const [top, ...rest] = relative.split('/');
  const target = top === undefined ? undefined : listing.links.get(top);
  if (target && rest.length > 0) {
    const moved = [target.replace(/^\/+/, ''), ...rest].join('/');
    if (listing.files.has(moved)) return moved;
  }
  return undefined;
}

const whiteout = (path: string): TarEntry => {
  const slash = path.lastIndexOf('/');
  return { path: `${path.slice(0, slash + 1)}.wh.${path.slice(slash + 1)}` };
};

export interface DebianImageOptions {
  repository?: string;
  tag?: string;
  compression?: LayerCompression;
  format?: 'oci' | 'docker';
}

export async function debianImage(registry: string, options: DebianImageOptions = {}): Promise<TestImage> {
  const { repository = 'test/debian', compression = 'gzip', format = 'oci' } = options;
  const tag = options.tag ?? `minbase-${compression}`;
  const rootfs = await debianRootfs();
  const [base, status, listing, purgedList, debianVersion, aptConfDir] = await Promise.all([
    readFile(rootfs),
    readFromTar(rootfs, 'var/lib/dpkg/status'),
    listTar(rootfs),
    readFromTar(rootfs, `var/lib/dpkg/info/${PURGED_PACKAGE}.list`),
    readFromTar(rootfs, 'etc/debian_version'),
    run('tar', ['-tf', rootfs, '--wildcards', 'etc/apt/apt.conf.d/*']),
  ]);
  const stanzas = parseDpkgStatus(status);
  const kept = stanzas.filter((stanza) => stanza.fields.get('Package') !== PURGED_PACKAGE);
  const purged = stanzas.find((stanza) => stanza.fields.get('Package') === PURGED_PACKAGE);
  if (!purged) throw new Error(`the rootfs has no ${PURGED_PACKAGE} package to purge`);
  const originalAptConf = aptConfDir.split('\n').filter((path) => path && !path.endsWith('/'));

  const issue = 'Shipshape test image \\n \\l\n';
  const appLayer = tar([
    { path: 'opt/', type: 'dir' },
    { path: 'opt/shipshape/', type: 'dir' },
    { path: 'opt/shipshape/README', content: 'A file added on top of the Debian base.\n' },
    { path: 'opt/shipshape/build.log', content: 'removed again by the next layer\n' },
    { path: 'etc/', type: 'dir' },
    { path: 'etc/issue', content: issue },
  ]);
  const cleanupLayer = tar([
    { path: 'opt/', type: 'dir' },
    { path: 'opt/shipshape/', type: 'dir' },
    whiteout('opt/shipshape/build.log'),
    { path: 'usr/', type: 'dir' },
    { path: 'usr/share/', type: 'dir' },
    { path: 'usr/share/doc/', type: 'dir' },
    { path: `usr/share/doc/${DOC_REMOVED_FROM}/`, type: 'dir' },
    whiteout(`usr/share/doc/${DOC_REMOVED_FROM}/copyright`),
    { path: 'etc/', type: 'dir' },
    { path: 'etc/apt/', type: 'dir' },
    { path: 'etc/apt/apt.conf.d/', type: 'dir' },
    { path: 'etc/apt/apt.conf.d/.wh..wh..opq' },
    { path: 'etc/apt/apt.conf.d/99shipshape', content: 'APT::Install-Recommends "false";\n' },
  ]);

  const purgedFiles = purgedList
    .split('\n')
    .map((path) => resolveInTar(listing, path))
    .filter((path): path is string => path !== undefined)
    .sort();
  const docDir = `usr/share/doc/${PURGED_PACKAGE}/`;
  const infoFiles = [...listing.files].filter((path) =>
    path.startsWith(`var/lib/dpkg/info/${PURGED_PACKAGE}.`),
  );
  const purgeLayer = tar([
    // One whiteout for the doc directory hides everything below it.
    ...purgedFiles.filter((path) => !path.startsWith(docDir)).map(whiteout),
    whiteout(`usr/share/doc/${PURGED_PACKAGE}`),
    ...infoFiles.map(whiteout),
    { path: 'var/lib/dpkg/status', content: formatDpkgStatus(kept) },
    { path: 'var/lib/dpkg/status-old', content: status },
  ]);

  const pushed = await pushImageWith(registry, repository, tag, [base, appLayer, cleanupLayer, purgeLayer], {
    compression,
    format,
    config: {
      config: { Cmd: ['bash'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
      history: [
        { created_by: 'debootstrap --variant=minbase' },
        { created_by: 'COPY opt/shipshape etc/issue' },
        { created_by: 'RUN rm build.log copyright; apt.conf.d replaced' },
        { created_by: `RUN dpkg --purge ${PURGED_PACKAGE}` },
      ],
    },
  });

  const deb = (stanza: DpkgStanza): ExpectedPackage => ({
    type: 'deb',
    name: stanza.fields.get('Package') ?? '',
    version: stanza.fields.get('Version') ?? '',
  });
  const files: ExpectedFile[] = [
    { path: 'opt/shipshape/README', present: true, content: 'A file added on top of the Debian base.\n' },
    { path: 'opt/shipshape/build.log', present: false },
    { path: 'etc/issue', present: true, content: issue },
    { path: `usr/share/doc/${DOC_REMOVED_FROM}/copyright`, present: false },
    { path: 'etc/apt/apt.conf.d/99shipshape', present: true, content: 'APT::Install-Recommends "false";\n' },
    ...originalAptConf.map((path) => ({ path, present: false })),
    ...purgedFiles.map((path) => ({ path, present: false })),
    { path: 'var/lib/dpkg/status', present: true, content: formatDpkgStatus(kept) },
  ];
  return {
    reference: pushed.reference,
    digest: pushed.digest,
    mediaType: manifestMediaType(pushed.manifest),
    expected: {
      os: { family: 'debian', version: debianVersion.trim() },
      packages: kept.filter(isInstalled).map(deb),
      absent: [deb(purged)],
      files,
    },
  };
}
