// Layers built to make the walker and the image view do super-linear work or keep
// unbounded memory: each test names the bound that stops it.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync, zstdCompressSync } from 'node:zlib';

import { analyzeImage, buildVirtualFilesystem } from '../../../src/sbom/analyze-image.js';
import { analyzeFile } from '../../../src/sbom/analyzers/index.js';
import type { Analyzer } from '../../../src/sbom/analyzers/index.js';
import type { FileSelector, LayerRecord, LayerWalk } from '../../../src/sbom/layer-walker.js';
import { walkLayer } from '../../../src/sbom/layer-walker.js';
import { DEFAULT_WALK_LIMITS, isImageAnalysisError } from '../../../src/sbom/types.js';
import type { ImageAnalysisError, LayerSource, WalkLimits } from '../../../src/sbom/types.js';
import { VirtualFilesystem } from '../../../src/sbom/virtual-fs.js';
import { MEDIA_TYPE, blobLayer, entryBlocks, header, layerOf, tar } from './tar-writer.js';
import type { TestEntry } from './tar-writer.js';
import { longSameLengthNames, whiteoutBomb, zstdBomb } from '../../support/hostile-layers.js';

const everything: FileSelector = { select: () => ({}) };
const keepContent = (f: { content: Buffer }): Buffer => f.content;

function walk(
  layer: Pick<LayerSource, 'digest' | 'mediaType' | 'open'>,
  limits: Partial<WalkLimits> = {},
): Promise<LayerWalk<Buffer> | ImageAnalysisError> {
  return walkLayer(layer, 0, everything, keepContent, { ...DEFAULT_WALK_LIMITS, ...limits });
}

function ok<T>(value: T | ImageAnalysisError): T {
  if (isImageAnalysisError(value)) assert.fail(`unexpected error: ${value.message}`);
  return value;
}

/** CPU milliseconds (user + system) spent by `run`. */
async function cpuMs<T>(run: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const start = process.cpuUsage();
  const value = await run();
  const used = process.cpuUsage(start);
  return { value, ms: (used.user + used.system) / 1000 };
}

/** A layer streamed from a generator, counting how many of its items were pulled. */
function streamedLayer(
  items: () => Generator<Buffer>,
  mediaType = MEDIA_TYPE.none,
): { digest: string; mediaType: string; size: number; open(): Promise<Readable>; pulled: () => number } {
  let pulled = 0;
  function* counted(): Generator<Buffer> {
    for (const item of items()) {
      pulled++;
      yield item;
    }
  }
  return {
    digest: 'sha256:hostile',
    mediaType,
    size: 0,
    pulled: () => pulled,
    open: () => Promise.resolve(Readable.from(counted(), { objectMode: false })),
  };
}

function file(path: string): LayerRecord<string> {
  return { path, kind: 'file', size: 1, mode: 0o644, value: path };
}

describe('hostile layers', () => {
  describe('whiteouts over a large lower layer', () => {
    it('removes 40,000 whited-out directories with work proportional to what they held', async () => {
      const records: LayerRecord<string>[] = [file('keep/me')];
      for (let i = 0; i < 40_000; i++) records.push(file(`d${i}/a`), file(`d${i}/b`));
      const whiteouts = Array.from({ length: 40_000 }, (_, i) => `d${i}`);
      const { value: vfs, ms } = await cpuMs(
        () =>
          new VirtualFilesystem<string>([
            { digest: 'sha256:lower', records, whiteouts: [], opaqueDirs: [] },
            { digest: 'sha256:upper', records: [], whiteouts, opaqueDirs: [] },
          ]),
      );
      assert.deepEqual(
        vfs.files().map((f) => f.path),
        ['/keep/me'],
      );
      // Each removed file is visited once: 80,000, not 40,000 scans of 80,000 paths.
      assert.ok(vfs.removalWork <= 80_000, `removal visited ${vfs.removalWork} index entries`);
      assert.ok(ms < 2000, `took ${ms} ms of CPU`);
    });

    it('analyses the tar layers of 40,000 whited-out directories quickly, end to end', async () => {
      const { lower, upper } = whiteoutBomb(40_000);
      const layers = [layerOf(lower), layerOf(upper)];
      const { value, ms } = await cpuMs(() =>
        buildVirtualFilesystem(layers, () => false, { maxEntriesPerLayer: 100_000 }),
      );
      const vfs = ok(value);
      assert.equal(vfs.lookup('/d0/a').found, false);
      assert.ok(vfs.removalWork <= 80_000, `removal visited ${vfs.removalWork} index entries`);
      assert.ok(ms < 8000, `took ${ms} ms of CPU`);
    });

    it('still hides only lower layers and only the whited-out subtree', () => {
      const vfs = new VirtualFilesystem<string>([
        {
          digest: 'sha256:1',
          records: [file('a/b/c'), file('a/bc'), file('a/b2/x')],
          whiteouts: [],
          opaqueDirs: [],
        },
        { digest: 'sha256:2', records: [file('a/b/new')], whiteouts: ['a/b'], opaqueDirs: [] },
        { digest: 'sha256:3', records: [file('z')], whiteouts: [], opaqueDirs: ['a/b2'] },
      ]);
      assert.deepEqual(
        vfs.files().map((f) => f.path),
        ['/a/b/new', '/a/bc', '/z'],
      );
      assert.equal(vfs.removalWork, 2);
    });
  });

  describe('names over PATH_MAX', () => {
    it('walks 2,000 same-length names of 4,096 bytes quickly', async () => {
      for (const type of ['file', 'symlink'] as const) {
        const layer = blobLayer(tar(longSameLengthNames(2000, 4096, type)), MEDIA_TYPE.none, 64 * 1024);
        const { value, ms } = await cpuMs(() => walk(layer));
        assert.equal(ok(value).records.length, 2000, type);
        assert.ok(ms < 2000, `${type}s took ${ms} ms of CPU`);
      }
    });

    it('stops at the first of 2,000 same-length 20,000-byte names with a pathBytes error', async () => {
      const layer = streamedLayer(function* () {
        for (let i = 0; i < 2000; i++) {
          yield Buffer.concat([
            ...entryBlocks({
              name: `${'n'.repeat(19_994)}${String(i).padStart(6, '0')}`,
              longName: 'gnu',
              content: 'x',
            }),
          ]);
        }
      });
      const result = await walk(layer);
      assert.ok(isImageAnalysisError(result));
      assert.equal(result.reason, 'LimitExceeded');
      assert.deepEqual(result.limit, { name: 'pathBytes', value: 4096 });
      assert.deepEqual(result.layer, { index: 0, digest: 'sha256:hostile' });
      assert.match(result.message, /20000-byte name, over the limit of 4096 bytes/);
      assert.ok(result.message.length < 400, 'the error does not repeat the whole name');
      assert.ok(layer.pulled() < 50, `read ${layer.pulled()} of 2,000 entries`);
    });

    it('refuses a symlink target over PATH_MAX', async () => {
      const result = await walk(
        layerOf([{ name: 'link', type: 'symlink', linkName: 'x', pax: { linkpath: 't/'.repeat(3000) } }]),
      );
      assert.ok(isImageAnalysisError(result));
      assert.equal(result.limit?.name, 'pathBytes');
      assert.match(result.message, /6000-byte link target/);
    });
  });

  describe('kept link targets', () => {
    // One PAX body shared by every entry: only the header's name differs.
    const megabyteTarget = (): Buffer[] => {
      const target = 'a/'.repeat(500_000);
      return [...entryBlocks({ name: 'l', type: 'symlink', pax: { linkpath: target } })].slice(0, -1);
    };

    it('fails cleanly on 450 symlinks with 1 MB targets instead of keeping 450 MB', async () => {
      const pax = megabyteTarget();
      const layer = streamedLayer(function* () {
        for (let i = 0; i < 450; i++) {
          yield* pax;
          yield header({ name: `link${i}`, typeflag: '2', size: 0, linkName: 'placeholder' });
        }
      });
      const result = await walk(layer);
      assert.ok(isImageAnalysisError(result));
      assert.equal(result.limit?.name, 'pathBytes');
      assert.ok(layer.pulled() < 40, `pulled ${layer.pulled()} blocks of 450 symlinks`);
    });

    it('caps the link-target bytes one layer keeps (maxLayerMetadataBytes)', async () => {
      const entries: TestEntry[] = Array.from({ length: 450 }, (_, i) => ({
        name: `l${i}`,
        type: 'symlink',
        linkName: 'x',
        pax: { linkpath: `${'t'.repeat(3990)}${i}` },
      }));
      const result = await walk(blobLayer(tar(entries), MEDIA_TYPE.none, 64 * 1024), {
        maxLayerMetadataBytes: 1024 * 1024,
      });
      assert.ok(isImageAnalysisError(result));
      assert.equal(result.reason, 'LimitExceeded');
      assert.deepEqual(result.limit, { name: 'layerMetadataBytes', value: 1024 * 1024 });
      assert.match(result.message, /exceed 1048576 bytes \(layerMetadataBytes\) at \/l2\d\d/);
    });

    it('caps them across the layers of an image (maxImageMetadataBytes)', async () => {
      const links = (prefix: string): TestEntry[] =>
        Array.from({ length: 300 }, (_, i) => ({
          name: `${prefix}${i}`,
          type: 'symlink',
          linkName: 'x',
          pax: { linkpath: 't'.repeat(4000) },
        }));
      const layers = [layerOf(links('a')), layerOf(links('b')), layerOf(links('c'))];
      const limits = { maxLayerMetadataBytes: 2 * 1024 * 1024, maxImageMetadataBytes: 2 * 1024 * 1024 };
      const result = await buildVirtualFilesystem(layers, () => false, limits);
      assert.ok(isImageAnalysisError(result));
      assert.deepEqual(result.limit, { name: 'imageMetadataBytes', value: 2 * 1024 * 1024 });
      assert.equal(result.layer?.index, 1);
    });
  });

  describe('decompression', () => {
    it('stops inflating at the end-of-archive marker of a tiny tar followed by 1 GiB of gzip zeros', async () => {
      const archive = tar([{ name: 'etc/hostname', content: 'box\n' }]);
      // Concatenated gzip members are one gzip stream: 64 × 16 MiB of zeros after the tar.
      const zeros = gzipSync(Buffer.alloc(16 * 1024 * 1024));
      const layer = streamedLayer(function* () {
        yield gzipSync(archive);
        for (let i = 0; i < 64; i++) yield zeros;
      }, MEDIA_TYPE.gzip);
      const { value, ms } = await cpuMs(() => walk(layer));
      const result = ok(value);
      assert.deepEqual(
        result.records.map((r) => r.path),
        ['etc/hostname'],
      );
      assert.equal(result.uncompressedBytes, archive.length);
      assert.ok(layer.pulled() < 10, `read ${layer.pulled()} of 65 gzip members`);
      assert.ok(ms < 1000, `took ${ms} ms of CPU`);
    });

    it('reads every frame of a multi-frame zstd layer, whatever the chunking', async () => {
      const entries = Array.from({ length: 20 }, (_, i) =>
        tar([{ name: `f${i}`, content: `${i}` }], { end: false }),
      );
      // One frame per entry (as zstd:chunked writes them), a skippable frame, and the end blocks.
      const skippable = Buffer.alloc(8 + 5);
      skippable.writeUInt32LE(0x184d2a5e, 0);
      skippable.writeUInt32LE(5, 4);
      const blob = Buffer.concat([
        ...entries.map((e) => zstdCompressSync(e)),
        skippable,
        zstdCompressSync(Buffer.alloc(1024)),
      ]);
      for (const chunk of [1, 5, 333, blob.length]) {
        const result = ok(await walk(blobLayer(blob, MEDIA_TYPE.zstd, chunk)));
        assert.equal(result.entries, 20, `chunks of ${chunk} bytes`);
      }
    });

    it('spends the decompression budget on a 2 GiB zstd bomb of 70 KB', async () => {
      const bomb = zstdBomb();
      assert.ok(bomb.length < 100_000, `${bomb.length} bytes`);
      const { value: result, ms } = await cpuMs(() =>
        analyzeImage({
          layers: [blobLayer(bomb, MEDIA_TYPE.zstd, 64 * 1024)],
          config: {},
          limits: { maxImageBytes: 256 * 1024 * 1024 },
        }),
      );
      assert.ok(isImageAnalysisError(result));
      assert.deepEqual(result.limit, { name: 'imageBytes', value: 256 * 1024 * 1024 });
      assert.match(result.message, /maxImageBytes/);
      assert.ok(ms < 5000, `took ${ms} ms of CPU`);
    });

    it('spends one decompression budget over all layers of an image (maxImageBytes)', async () => {
      const layers = [0, 1, 2].map((i) => layerOf([{ name: `f${i}`, content: Buffer.alloc(1024 * 1024) }]));
      const result = await analyzeImage({ layers, config: {}, limits: { maxImageBytes: 2.5 * 1024 * 1024 } });
      assert.ok(isImageAnalysisError(result));
      assert.equal(result.reason, 'LimitExceeded');
      assert.deepEqual(result.limit, { name: 'imageBytes', value: 2.5 * 1024 * 1024 });
      assert.equal(result.layer?.index, 2);
      assert.match(result.message, /maxImageBytes/);
    });

    it('spends one entries budget over all layers of an image (maxImageEntries)', async () => {
      const files = (prefix: string): TestEntry[] =>
        Array.from({ length: 10 }, (_, i) => ({ name: `${prefix}${i}`, content: 'x' }));
      const layers = ['a', 'b', 'c'].map((p) => layerOf(files(p)));
      const limits = { maxEntriesPerLayer: 20, maxImageEntries: 25 };
      const result = await analyzeImage({ layers, config: {}, limits });
      assert.ok(isImageAnalysisError(result));
      assert.equal(result.reason, 'LimitExceeded');
      assert.deepEqual(result.limit, { name: 'imageEntries', value: 25 });
      assert.equal(result.layer?.index, 2);
      assert.match(result.message, /more than 25 entries \(maxImageEntries\)/);
      // Every layer passes on its own.
      for (const layer of layers)
        assert.ok(!isImageAnalysisError(await analyzeImage({ layers: [layer], config: {}, limits })));
    });

    it('fails an image whose dpkg database is over the package cap, naming the limit', async () => {
      const stanzas = Array.from(
        { length: 100_001 },
        (_, i) => `Package: p${i}\nStatus: install ok installed\nVersion: 1\n`,
      );
      const layers = [layerOf([{ name: 'var/lib/dpkg/status', content: stanzas.join('\n') }])];
      const result = await analyzeImage({ layers, config: {} });
      assert.ok(isImageAnalysisError(result));
      assert.equal(result.reason, 'LimitExceeded');
      assert.deepEqual(result.limit, { name: 'packagesPerFile', value: 100_000 });
      assert.equal(result.path, '/var/lib/dpkg/status');
      assert.match(result.message, /^layer 0 \(sha256:[0-9a-f]+\): dpkg: \/var\/lib\/dpkg\/status: /);
    });

    it('refuses an image of 200 layers (maxLayers 128) without opening any', async () => {
      const layers = Array.from({ length: 200 }, (_, i) => layerOf([{ name: `f${i}`, content: 'x' }]));
      const result = await analyzeImage({ layers, config: {} });
      assert.ok(isImageAnalysisError(result));
      assert.deepEqual(result.limit, { name: 'layers', value: 128 });
      assert.match(result.message, /200 layers, over the limit of 128/);
      assert.equal(
        layers.reduce((n, l) => n + l.opened(), 0),
        0,
      );
    });
  });

  describe('spreads of long arrays', () => {
    it('keeps all 500,000 packages an analyzer returns for one file', () => {
      const many: Analyzer = {
        name: 'many',
        version: 1,
        wants: () => true,
        analyze: (f) => ({
          packages: Array.from({ length: 500_000 }, (_, i) => ({
            name: `p${i}`,
            version: '1',
            ecosystem: 'npm' as const,
            location: f.path,
          })),
        }),
      };
      const result = analyzeFile([many], { path: 'x', size: 1, mode: 0o644, content: Buffer.from('x') });
      assert.equal(result.errors, undefined);
      assert.equal(result.packages.length, 500_000);
    });

    it('resolves a symlink with a long target to a reason, not a RangeError', () => {
      const vfs = new VirtualFilesystem<string>([
        {
          digest: 'sha256:1',
          records: [
            { path: 'long', kind: 'symlink', target: 'a/'.repeat(500_000) },
            { path: 'deep', kind: 'symlink', target: `${'d/'.repeat(1500)}f` },
            file(`${'d/'.repeat(1500)}f`),
          ],
          whiteouts: [],
          opaqueDirs: [],
        },
      ]);
      assert.deepEqual(vfs.lookup('long'), { found: false, reason: 'name-too-long' });
      const deep = vfs.lookup('/deep');
      assert.equal(deep.found, true);
      assert.equal(deep.found && deep.path, `/${'d/'.repeat(1500)}f`);
    });
  });
});
