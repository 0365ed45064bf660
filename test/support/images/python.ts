// A Python image whose site-packages holds real wheels installed by pip
// (requests and its dependencies, every version pinned), with the .dist-info
// metadata an analyzer reads. Installed once per machine and cached.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pushImageWith, type LayerCompression } from '../oci-push.js';
import { cachedDir, layerFromDir, run } from './cache.js';
import { byTypeAndName, manifestMediaType, type ExpectedPackage, type TestImage } from './expected.js';

export const SITE_PACKAGES = 'usr/local/lib/python3.11/site-packages';
export const PYTHON_REQUIREMENTS = [
  'requests==2.32.3',
  'certifi==2024.8.30',
  'charset-normalizer==3.4.0',
  'idna==3.10',
  'urllib3==2.2.3',
];

/** The cached install root: `<dir>/usr/local/lib/python3.11/site-packages/...`. */
export async function sitePackages(): Promise<string> {
  const key = `python-cp311-${PYTHON_REQUIREMENTS.join('-').replaceAll('==', '-')}`;
  return cachedDir(key, async (dir) => {
    await run('pip', [
      'install',
      '--quiet',
      '--no-deps',
      '--no-compile',
      '--only-binary=:all:',
      '--python-version=3.11',
      '--implementation=cp',
      '--abi=cp311',
      '--platform=manylinux2014_x86_64',
      `--target=${join(dir, SITE_PACKAGES)}`,
      ...PYTHON_REQUIREMENTS,
    ]);
  });
}

/** Name and version from each `*.dist-info/METADATA`, as the core metadata spec writes them. */
export async function installedDistributions(site: string): Promise<ExpectedPackage[]> {
  const found: ExpectedPackage[] = [];
  for (const entry of await readdir(site)) {
    if (!entry.endsWith('.dist-info')) continue;
    const metadata = await readFile(join(site, entry, 'METADATA'), 'utf8');
    const name = /^Name: (.+)$/m.exec(metadata)?.[1]?.trim();
    const version = /^Version: (.+)$/m.exec(metadata)?.[1]?.trim();
    if (name && version) found.push({ type: 'pypi', name, version });
  }
  return found.sort(byTypeAndName);
}

export async function pythonImage(
  registry: string,
  options: { repository?: string; tag?: string; compression?: LayerCompression } = {},
): Promise<TestImage> {
  const { repository = 'test/python', tag = 'requests-2.32.3', compression = 'gzip' } = options;
  const root = await sitePackages();
  const layer = await layerFromDir(root, ['usr']);
  const pushed = await pushImageWith(registry, repository, tag, [layer], {
    compression,
    config: { config: { Cmd: ['python3', '-c', 'import requests'] } },
  });
  return {
    reference: pushed.reference,
    digest: pushed.digest,
    mediaType: manifestMediaType(pushed.manifest),
    expected: {
      packages: await installedDistributions(join(root, SITE_PACKAGES)),
      absent: [],
      files: [{ path: `${SITE_PACKAGES}/requests-2.32.3.dist-info/METADATA`, present: true }],
    },
  };
}
