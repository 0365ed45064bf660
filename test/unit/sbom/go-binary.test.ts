import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { analyzeImage } from '../../../src/sbom/analyze-image.js';
import { purlFor } from '../../../src/sbom/purl.js';
import { isImageAnalysisError } from '../../../src/sbom/types.js';
import { layerOf } from './tar-writer.js';
import {
  goBinaryAnalyzer,
  parseModInfo,
  goPackages,
  readGoBuildInfo,
  elfSection,
} from '../../../src/sbom/analyzers/go-binary.js';

function goVersion(): string | undefined {
  try {
    return execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

describe('Go binary analyzer', function () {
  this.timeout(180_000);
  let dir: string | undefined;
  let binary: Buffer | undefined;
  const version = goVersion();

  before(function () {
    if (version === undefined) {
      console.log('    (skipped: `go` is not on PATH, no Go binary can be built for this test)');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'shipshape-go-'));
    writeFileSync(join(dir, 'go.mod'), 'module example.com/hello\n\ngo 1.21\n');
    writeFileSync(
      join(dir, 'main.go'),
      'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n',
    );
    execFileSync('go', ['build', '-buildvcs=false', '-o', join(dir, 'hello'), '.'], {
      cwd: dir,
      // Offline and with the local toolchain: the test must not reach any network.
      env: { ...process.env, GOTOOLCHAIN: 'local', GOPROXY: 'off', GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
      stdio: 'pipe',
    });
    binary = readFileSync(join(dir, 'hello'));
  });

  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the .go.buildinfo section of a binary built by `go build`', () => {
    assert.ok(binary);
    assert.ok((elfSection(binary, '.go.buildinfo') ?? 0) > 0);
  });

  it('reads the Go version and main module path embedded in the binary', () => {
    assert.ok(binary);
    const info = readGoBuildInfo(binary);
    assert.equal(info?.goVersion.split(' ')[0], version);
    assert.equal(info?.path, 'example.com/hello');
    assert.equal(info?.main?.path, 'example.com/hello');
  });

  it('reports the standard library as pkg:golang stdlib at the Go version, and the main module', () => {
    assert.ok(binary);
    const out = goBinaryAnalyzer.analyze({ path: '/usr/local/bin/hello', content: binary, mode: 0o755 });
    const stdlib = out.packages.find((p) => p.name === 'stdlib');
    assert.equal(stdlib?.version, version?.replace(/^go/, ''));
    // Built outside any VCS checkout, so Go stamps no version on the main module.
    assert.equal(out.packages.find((p) => p.name === 'example.com/hello')?.version, '');
    assert.ok(out.packages.every((p) => p.location === '/usr/local/bin/hello' && p.ecosystem === 'golang'));
  });

  it('finds Go binaries inside image layers by mode and ELF magic, ignoring non-executables', async () => {
    assert.ok(binary);
    const layer = layerOf(
      [
        { name: 'usr/local/bin/hello', content: binary, mode: 0o755 },
        { name: 'usr/share/doc/hello.copy', content: binary, mode: 0o644 },
        { name: 'usr/local/bin/script', content: '#!/bin/sh\n'.padEnd(200, '#'), mode: 0o755 },
      ],
      'gzip',
      64 * 1024,
    );
    const inv = await analyzeImage({ layers: [layer], config: {} });
    if (isImageAnalysisError(inv)) assert.fail(inv.message);
    assert.deepEqual([...new Set(inv.packages.map((p) => p.location))], ['/usr/local/bin/hello']);
    assert.ok(inv.packages.some((p) => p.purl === `pkg:golang/stdlib@${version?.replace(/^go/, '') ?? ''}`));
  });

  it('finds nothing in an ELF file without Go build info', () => {
    assert.ok(binary);
    const notGo = Buffer.from(binary);
    let at = notGo.indexOf(Buffer.from('\xff Go buildinf:', 'latin1'));
    while (at >= 0) {
      notGo[at + 1] = 0x58;
      at = notGo.indexOf(Buffer.from('\xff Go buildinf:', 'latin1'));
    }
    assert.deepEqual(goBinaryAnalyzer.analyze({ path: '/bin/x', content: notGo, mode: 0o755 }).packages, []);
  });
});

describe('Go module info', () => {
  it('reads deps and applies replace directives to the dependency before them', () => {
    const modinfo =
      'path\texample.com/app\nmod\texample.com/app\tv1.2.3\th1:abc=\n' +
      'dep\tgolang.org/x/net\tv0.17.0\th1:net=\n' +
      'dep\tgithub.com/old/lib\tv1.0.0\t\n=>\tgithub.com/fork/lib\tv1.0.1\th1:fork=\n' +
      'build\t-compiler=gc\n';
    const info = parseModInfo('go1.22.1 X:boringcrypto', modinfo);
    assert.deepEqual(info.main, { path: 'example.com/app', version: 'v1.2.3', sum: 'h1:abc=' });
    assert.deepEqual(
      info.deps.map((d) => `${d.path}@${d.version}`),
      ['golang.org/x/net@v0.17.0', 'github.com/fork/lib@v1.0.1'],
    );
    assert.deepEqual(
      goPackages(info, '/app').map((p) => `${p.name}@${p.version}`),
      ['stdlib@1.22.1', 'example.com/app@v1.2.3', 'golang.org/x/net@v0.17.0', 'github.com/fork/lib@v1.0.1'],
    );
  });

  it('reports a main module built without a VCS stamp ("(devel)") with no version, as Trivy does', () => {
    const info = parseModInfo('go1.26.0', 'path\texample.com/app\nmod\texample.com/app\t(devel)\t\n');
    const main = goPackages(info, '/app').find((p) => p.name === 'example.com/app');
    assert.equal(main?.version, '');
    assert.equal(
      purlFor(main ?? assert.fail('main module missing'), undefined),
      'pkg:golang/example.com/app',
    );
  });
});
