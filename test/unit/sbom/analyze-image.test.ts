import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { analyzeImage } from '../../../src/sbom/analyze-image.js';
import { ByteBoundedLru, TieredInventoryCache } from '../../../src/sbom/cache.js';
import { serializeCycloneDx, toCycloneDx } from '../../../src/sbom/format/cyclonedx.js';
import type { CycloneDxBom } from '../../../src/sbom/format/cyclonedx.js';
import { toJson } from '../../../src/sbom/format/json.js';
import { toTable } from '../../../src/sbom/format/table.js';
import { isImageAnalysisError } from '../../../src/sbom/types.js';
import type { ImageInventory } from '../../../src/sbom/types.js';
import { MEDIA_TYPE, blobLayer, compress, layerOf, tar } from './tar-writer.js';
import type { TestEntry } from './tar-writer.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../../../test/fixtures/sbom/${name}`, import.meta.url));

const baseEntries: TestEntry[] = [
  { name: 'usr/lib/os-release', content: fixture('os-release-debian') },
  { name: 'etc/os-release', type: 'symlink', linkName: '../usr/lib/os-release' },
  { name: 'etc/debian_version', content: fixture('debian_version') },
  { name: 'var/lib/dpkg/status', content: fixture('dpkg-status') },
  { name: 'usr/bin/sh-script', content: '#!/bin/sh\nexit 0\n', mode: 0o755 },
];
const appEntries: TestEntry[] = [
  { name: 'app/node_modules/@babel/code-frame/package.json', content: fixture('npm-package.json') },
  { name: 'app/node_modules/left-pad/package.json', content: '{"name":"left-pad","version":"1.3.0"}' },
  { name: 'app/node_modules/left-pad/lib/package.json', content: '{"type":"commonjs"}' },
  {
    name: 'usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA',
    content: fixture('python-METADATA'),
  },
];
const patchEntries: TestEntry[] = [
  { name: 'app/node_modules/.wh.left-pad' },
  {
    name: 'var/lib/dpkg/status',
    content: `${fixture('dpkg-status').toString()}\nPackage: hello\nStatus: install ok installed\nVersion: 2.10-3+b1\nArchitecture: amd64\n`,
  },
];
const config = { architecture: 'amd64', os: 'linux', config: { User: '1000', Env: ['API_KEY=xyz'] } };

function ok(result: Awaited<ReturnType<typeof analyzeImage>>): ImageInventory {
  if (isImageAnalysisError(result)) assert.fail(result.message);
  return result;
}

describe('image analysis', () => {
  const dpkgCount = (
    fixture('dpkg-status')
      .toString()
      .match(/^Package: /gm) ?? []
  ).length;

  it('inventories the OS, dpkg, npm and Python packages of the merged image, with purls and layers', async () => {
    const layers = [layerOf(baseEntries, 'gzip'), layerOf(appEntries, 'zstd'), layerOf(patchEntries, 'none')];
    const inv = ok(await analyzeImage({ layers, config }));
    assert.equal(inv.os?.id, 'debian');
    assert.equal(inv.os?.versionId, '12');
    assert.equal(inv.os?.source, '/usr/lib/os-release');
    const deb = inv.packages.filter((p) => p.ecosystem === 'deb');
    // The patch layer's status file replaced the base one: one more package, all from layer 2.
    assert.equal(deb.length, dpkgCount + 1);
    assert.ok(deb.every((p) => p.layerDigest === layers[2]?.digest));
    const hello = deb.find((p) => p.name === 'hello');
    assert.equal(hello?.purl, 'pkg:deb/debian/hello@2.10-3%2Bb1?arch=amd64&distro=debian-12');
    assert.deepEqual(
      inv.packages.filter((p) => p.ecosystem === 'npm').map((p) => p.purl),
      ['pkg:npm/%40babel/code-frame@7.23.5'],
    );
    assert.deepEqual(
      inv.packages.filter((p) => p.ecosystem === 'pypi').map((p) => [p.purl, p.location]),
      [['pkg:pypi/requests@2.31.0', '/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA']],
    );
    assert.deepEqual(inv.facts.secretEnvKeys, ['API_KEY']);
    assert.equal(inv.facts.runsAsRoot, false);
    assert.equal(inv.facts.layerCount, 3);
    assert.equal(
      inv.facts.compressedBytes,
      layers.reduce((s, l) => s + l.size, 0),
    );
    assert.equal(
      inv.facts.uncompressedBytes,
      inv.layers.reduce((s, l) => s + l.uncompressedBytes, 0),
    );
    assert.deepEqual(
      inv.layers.map((l) => l.entries),
      [5, 4, 2],
    );
    assert.deepEqual(inv.warnings, []);
  });

  it('returns the limit error of the failing layer instead of an inventory', async () => {
    const truncated = compress(tar(appEntries), 'gzip');
    const layers = [
      layerOf(baseEntries),
      blobLayer(truncated.subarray(0, truncated.length - 40), MEDIA_TYPE.gzip),
    ];
    const result = await analyzeImage({ layers, config });
    assert.ok(isImageAnalysisError(result));
    assert.equal(result.reason, 'CorruptLayer');
    assert.equal(result.layer?.index, 1);

    const limited = await analyzeImage({
      layers: [layerOf(baseEntries)],
      config,
      limits: { maxEntriesPerLayer: 2 },
    });
    assert.ok(isImageAnalysisError(limited));
    assert.deepEqual(limited.limit, { name: 'entriesPerLayer', value: 2 });
  });

  describe('with a cache', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'shipshape-sbom-cache-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('analyses a base layer shared by two images only once', async () => {
      const cache = new TieredInventoryCache({ directory: dir });
      const base = layerOf(baseEntries);
      const first = ok(
        await analyzeImage({ layers: [base, layerOf(appEntries)], config, cache, imageDigest: 'sha256:a' }),
      );
      const second = ok(
        await analyzeImage({ layers: [base, layerOf(patchEntries)], config, cache, imageDigest: 'sha256:b' }),
      );
      assert.equal(base.opened(), 1);
      assert.equal(first.packages.filter((p) => p.ecosystem === 'deb').length, dpkgCount);
      assert.equal(second.packages.filter((p) => p.ecosystem === 'deb').length, dpkgCount + 1);
    });

    it('merges cached layers with whiteouts exactly like freshly walked ones', async () => {
      const cache = new TieredInventoryCache({ directory: dir });
      const layers = [layerOf(baseEntries), layerOf(appEntries), layerOf(patchEntries)];
      const fresh = ok(await analyzeImage({ layers, config, cache }));
      const fromCache = ok(await analyzeImage({ layers, config, cache }));
      assert.ok(layers.every((l) => l.opened() === 1));
      assert.deepEqual(fromCache, fresh);
      assert.ok(!fromCache.packages.some((p) => p.name === 'left-pad'));
    });

    it('serves a whole inventory by image digest from disk after a restart, atomically written', async () => {
      const layers = [layerOf(baseEntries)];
      const before = ok(
        await analyzeImage({
          layers,
          config,
          cache: new TieredInventoryCache({ directory: dir }),
          imageDigest: 'sha256:x',
        }),
      );
      assert.deepEqual(
        readdirSync(join(dir, 'image')).filter((n) => n.endsWith('.tmp')),
        [],
      );
      const after = ok(
        await analyzeImage({
          layers,
          config,
          cache: new TieredInventoryCache({ directory: dir }),
          imageDigest: 'sha256:x',
        }),
      );
      assert.equal(layers[0]?.opened(), 1);
      assert.deepEqual(after, before);
    });

    it('does not reuse results of another analyzer version', async () => {
      const cache = new TieredInventoryCache({ directory: dir });
      const layer = layerOf(baseEntries);
      ok(await analyzeImage({ layers: [layer], config, cache, imageDigest: 'sha256:v' }));
      const dpkgOnly = (await import('../../../src/sbom/analyzers/dpkg.js')).dpkgAnalyzer;
      const bumped = { ...dpkgOnly, version: dpkgOnly.version + 1 };
      const inv = ok(
        await analyzeImage({ layers: [layer], config, cache, imageDigest: 'sha256:v', analyzers: [bumped] }),
      );
      assert.equal(layer.opened(), 2);
      assert.match(inv.analyzerVersion, new RegExp(`dpkg@${dpkgOnly.version + 1}`));
    });
  });
});

describe('bounded LRU', () => {
  it('evicts the least recently used entries when entries or bytes exceed the bound', () => {
    const lru = new ByteBoundedLru<string>(3, 100);
    lru.set('a', 'A', 10);
    lru.set('b', 'B', 10);
    lru.set('c', 'C', 10);
    lru.get('a');
    lru.set('d', 'D', 10);
    assert.equal(lru.get('b'), undefined);
    assert.equal(lru.get('a'), 'A');
    lru.set('big', 'X', 90);
    assert.deepEqual([lru.get('c'), lru.get('d')], [undefined, undefined]);
    assert.equal(lru.size, 2);
    assert.equal(lru.totalBytes, 100);
    lru.set('huge', 'H', 1000);
    assert.equal(lru.get('huge'), undefined);
  });
});

describe('inventory output', () => {
  let inventory: ImageInventory;
  before(async () => {
    inventory = ok(await analyzeImage({ layers: [layerOf(baseEntries), layerOf(appEntries)], config }));
  });

  it('writes CycloneDX 1.6 JSON with the image as subject, the OS, and one component per purl', () => {
    const bom = JSON.parse(
      serializeCycloneDx(inventory, {
        imageName: 'registry.local/app:1',
        imageDigest: 'sha256:abc',
        toolVersion: '0.1.0',
        timestamp: new Date('2024-01-01T00:00:00Z'),
      }),
    ) as CycloneDxBom;
    const components = bom.components ?? [];
    assert.equal(bom.bomFormat, 'CycloneDX');
    assert.equal(bom.specVersion, '1.6');
    assert.match(bom.serialNumber ?? '', /^urn:uuid:[0-9a-f-]{36}$/);
    assert.equal(bom.metadata?.component?.type, 'container');
    assert.equal(bom.metadata?.timestamp, '2024-01-01T00:00:00.000Z');
    assert.deepEqual(components[0], {
      type: 'operating-system',
      'bom-ref': 'os:debian',
      name: 'debian',
      version: '12',
    });
    const refs = components.map((c) => c['bom-ref']);
    assert.equal(new Set(refs).size, refs.length);
    assert.equal(components.length, 1 + new Set(inventory.packages.map((p) => p.purl)).size);
    assert.deepEqual(bom.dependencies?.[0]?.dependsOn, refs);
    const requests = components.find((c) => c.name === 'requests');
    assert.equal(requests?.purl, 'pkg:pypi/requests@2.31.0');
    assert.deepEqual(requests?.licenses, [{ license: { name: 'Apache 2.0' } }]);
    assert.equal(
      toCycloneDx(inventory, { imageName: 'x', toolVersion: '0', specVersion: '1.5' }).specVersion,
      '1.5',
    );
  });

  it('prints a table with a header row and one row per package', () => {
    const lines = toTable(inventory).split('\n');
    assert.match(lines[0] ?? '', /^OS: Debian GNU\/Linux 12/);
    assert.match(lines[3] ?? '', /^NAME +VERSION +TYPE +SOURCE +LOCATION$/);
    assert.equal(
      lines.filter((l) => /\/var\/lib\/dpkg\/status$/.test(l)).length,
      inventory.packages.filter((p) => p.ecosystem === 'deb').length,
    );
  });

  it('prints plain JSON that parses back to the inventory', () => {
    assert.deepEqual(JSON.parse(toJson(inventory)), inventory);
  });
});
