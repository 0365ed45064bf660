// A Node.js application image whose node_modules is a real npm install
// (express 4 and its dependency tree, with package-lock.json), made once per
// machine through the npm client's configured registry and cached.
import { readdir, readFile } from 'node:fs/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pushImageWith, type LayerCompression } from '../oci-push.js';
import { cachedDir, layerFromDir, run } from './cache.js';
import { byTypeAndName, manifestMediaType, type ExpectedPackage, type TestImage } from './expected.js';

export const EXPRESS_VERSION = '4.22.3';
const APP_NAME = 'shipshape-test-app';

/** The cached install: `<dir>/app/{package.json,package-lock.json,node_modules}`. */
export async function expressApp(): Promise<string> {
  return cachedDir(`node-express-${EXPRESS_VERSION}`, async (dir) => {
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      `${JSON.stringify({ name: APP_NAME, version: '1.0.0', private: true, dependencies: { express: EXPRESS_VERSION } }, null, 2)}\n`,
    );
    writeFileSync(join(app, 'server.js'), "require('express')().listen(8080);\n");
    await run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app });
  });
}

/** Every package.json under node_modules, nested ones included, as npm packages. */
export async function installedNodePackages(nodeModules: string): Promise<ExpectedPackage[]> {
  const found: ExpectedPackage[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.name.startsWith('@')) {
        await visit(path);
        continue;
      }
      try {
        const manifest = JSON.parse(await readFile(join(path, 'package.json'), 'utf8')) as {
          name: string;
          version: string;
        };
        found.push({ type: 'npm', name: manifest.name, version: manifest.version });
      } catch {
        continue;
      }
      await visit(join(path, 'node_modules')).catch(() => undefined);
    }
  };
  await visit(nodeModules);
  return found.sort(byTypeAndName);
}

export async function nodeAppImage(
  registry: string,
  options: { repository?: string; tag?: string; compression?: LayerCompression } = {},
): Promise<TestImage> {
  const { repository = 'test/node-app', tag = `express-${EXPRESS_VERSION}`, compression = 'gzip' } = options;
  const root = await expressApp();
  const layer = await layerFromDir(root, ['app']);
  const pushed = await pushImageWith(registry, repository, tag, [layer], {
    compression,
    config: { config: { WorkingDir: '/app', Cmd: ['node', 'server.js'] } },
  });
  return {
    reference: pushed.reference,
    digest: pushed.digest,
    mediaType: manifestMediaType(pushed.manifest),
    expected: {
      // The application is a package too (the root of package-lock.json).
      packages: [
        { type: 'npm' as const, name: APP_NAME, version: '1.0.0' },
        ...(await installedNodePackages(join(root, 'app', 'node_modules'))),
      ].sort(byTypeAndName),
      absent: [],
      files: [{ path: 'app/node_modules/express/package.json', present: true }],
    },
  };
}
