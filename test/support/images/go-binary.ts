// An image holding one Go binary built here (static, CGO off) from a tiny
// main module with one pinned dependency, so its embedded build info names a
// real module and the toolchain's standard library version.
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pushImageWith, type LayerCompression } from '../oci-push.js';
import { tar } from '../tar.js';
import { cachedDir, run } from './cache.js';
import { manifestMediaType, type TestImage } from './expected.js';

export const GO_DEPENDENCY = { path: 'github.com/google/uuid', version: 'v1.6.0' };
export const GO_MAIN_MODULE = 'shipshape.dev/testapp';

const goEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  GOFLAGS: '-mod=mod',
  GOTOOLCHAIN: 'local',
  CGO_ENABLED: '0',
  GOOS: 'linux',
  GOARCH: 'amd64',
});

/** The toolchain's version as Go writes it (`go1.26.8`). */
export const goVersion = async (): Promise<string> => (await run('go', ['env', 'GOVERSION'])).trim();

/** Path of the cached binary, keyed by the toolchain and the dependency version. */
export async function goBinary(): Promise<string> {
  const toolchain = await goVersion();
  const dir = await cachedDir(`go-uuid-${GO_DEPENDENCY.version}-${toolchain}`, async (dir) => {
    writeFileSync(join(dir, 'go.mod'), `module ${GO_MAIN_MODULE}\n\ngo 1.22\n`);
    writeFileSync(
      join(dir, 'main.go'),
      'package main\n\nimport (\n\t"fmt"\n\n\t"github.com/google/uuid"\n)\n\nfunc main() { fmt.Println(uuid.NewString()) }\n',
    );
    await run('go', ['get', `${GO_DEPENDENCY.path}@${GO_DEPENDENCY.version}`], { cwd: dir, env: goEnv() });
    await run('go', ['build', '-trimpath', '-o', 'app', '.'], { cwd: dir, env: goEnv() });
  });
  return join(dir, 'app');
}

export async function goBinaryImage(
  registry: string,
  options: { repository?: string; tag?: string; compression?: LayerCompression } = {},
): Promise<TestImage> {
  const { repository = 'test/go-app', tag = 'uuid-1.6.0', compression = 'gzip' } = options;
  const binary = await readFile(await goBinary());
  const layer = tar([
    { path: 'usr/', type: 'dir' },
    { path: 'usr/local/', type: 'dir' },
    { path: 'usr/local/bin/', type: 'dir' },
    { path: 'usr/local/bin/app', content: binary, mode: 0o755 },
  ]);
  const pushed = await pushImageWith(registry, repository, tag, [layer], {
    compression,
    config: { config: { Entrypoint: ['/usr/local/bin/app'] } },
  });
  const toolchain = await goVersion();
  return {
    reference: pushed.reference,
    digest: pushed.digest,
    mediaType: manifestMediaType(pushed.manifest),
    expected: {
      packages: [
        // Go records the main module's version as "(devel)" (no VCS stamp): it has none to report.
        { type: 'golang', name: GO_MAIN_MODULE, version: '' },
        { type: 'golang', name: GO_DEPENDENCY.path, version: GO_DEPENDENCY.version },
        { type: 'golang', name: 'stdlib', version: toolchain.replace(/^go/, 'v') },
      ],
      absent: [],
      files: [{ path: 'usr/local/bin/app', present: true }],
    },
  };
}
