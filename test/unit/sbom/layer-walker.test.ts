import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';

import { buildVirtualFilesystem } from '../../../src/sbom/analyze-image.js';
import type { FileSelector, LayerWalk } from '../../../src/sbom/layer-walker.js';
import { walkLayer } from '../../../src/sbom/layer-walker.js';
import { DEFAULT_WALK_LIMITS, isImageAnalysisError } from '../../../src/sbom/types.js';
import type { ImageAnalysisError } from '../../../src/sbom/types.js';
import { VirtualFilesystem } from '../../../src/sbom/virtual-fs.js';
import { MEDIA_TYPE, blobLayer, compress, entryBlocks, header, layerOf, tar } from './tar-writer.js';
import type { Compression, TestEntry } from './tar-writer.js';

const everything: FileSelector = { select: () => ({}) };
const keepContent = (f: { content: Buffer }): Buffer => f.content;

async function walk(
  layer: ReturnType<typeof layerOf>,
  limits = {},
  selector: FileSelector = everything,
): Promise<LayerWalk<Buffer> | ImageAnalysisError> {
  return walkLayer(layer, 0, selector, keepContent, { ...DEFAULT_WALK_LIMITS, ...limits });
}

function ok<T>(value: T | ImageAnalysisError): T {
  if (isImageAnalysisError(value)) assert.fail(`unexpected error: ${value.message}`);
  return value;
}

function fileText(vfs: VirtualFilesystem<Buffer>, path: string): string | undefined {
  const hit = vfs.lookup(path);
  return hit.found ? hit.value.toString() : undefined;
}

describe('layer walker', () => {
  for (const compression of ['gzip', 'zstd', 'none'] as Compression[]) {
    it(`reads a ${compression} layer, detected by its magic bytes`, async () => {
      const layer = layerOf(
        [
          { name: 'etc/', type: 'dir' },
          { name: 'etc/hostname', content: 'box\n' },
          { name: './usr/bin/tool', content: Buffer.alloc(2000, 7), mode: 0o755 },
        ],
        compression,
      );
      const result = ok(await walk(layer));
      assert.equal(result.entries, 3);
      const byPath = new Map(result.records.map((r) => [r.path, r]));
      const hostname = byPath.get('etc/hostname');
      assert.equal(hostname?.kind, 'file');
      assert.equal(hostname?.kind === 'file' && hostname.value.toString(), 'box\n');
      const tool = byPath.get('usr/bin/tool');
      assert.equal(tool?.kind === 'file' && tool.mode, 0o755);
      assert.equal(result.uncompressedBytes, tar([]).length + 512 * 2 + 512 + 512 + 512 * 4);
    });
  }

  it('trusts magic bytes over a media type that says gzip for an uncompressed blob', async () => {
    const layer = blobLayer(tar([{ name: 'a', content: 'x' }]), MEDIA_TYPE.gzip);
    const result = ok(await walk(layer));
    assert.deepEqual(
      result.records.map((r) => r.path),
      ['a'],
    );
  });

  it('refuses a blob whose media type is not a filesystem layer', async () => {
    const layer = blobLayer(tar([]), 'application/vnd.in-toto+json');
    const result = await walk(layer);
    assert.ok(isImageAnalysisError(result));
    assert.equal(result.reason, 'UnsupportedMediaType');
  });

  it('reads only the files the selector asks for', async () => {
    const layer = layerOf([
      { name: 'var/lib/dpkg/status', content: 'Package: a\n' },
      { name: 'usr/share/doc/big', content: Buffer.alloc(100_000) },
    ]);
    const result = ok(
      await walk(layer, {}, { select: (p) => (p === 'var/lib/dpkg/status' ? {} : undefined) }),
    );
    assert.deepEqual(
      result.records.map((r) => r.path),
      ['var/lib/dpkg/status'],
    );
  });

  it('drops a file whose first bytes do not match the requested magic, but lets it hide lower layers', async () => {
    const layer = layerOf([
      { name: 'bin/elf', content: Buffer.concat([Buffer.from('\x7fELF', 'latin1'), Buffer.alloc(100)]) },
      { name: 'bin/script', content: '#!/bin/sh\necho hi\n' },
    ]);
    const magic = Buffer.from('\x7fELF', 'latin1');
    const result = ok(await walk(layer, {}, { select: () => ({ magic }) }));
    const kinds = Object.fromEntries(result.records.map((r) => [r.path, r.kind]));
    assert.deepEqual(kinds, { 'bin/elf': 'file', 'bin/script': 'unreadable' });
  });

  it('captures files byte-exact when their content arrives a few bytes at a time, magic split across chunks', async () => {
    const elf = Buffer.concat([
      Buffer.from('\x7fELF', 'latin1'),
      Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251)),
    ]);
    const blob = compress(
      tar([
        { name: 'bin/elf', content: elf },
        { name: 'bin/short', content: '\x7fE' },
        { name: 'bin/script', content: '#!/bin/sh\n' },
      ]),
      'none',
    );
    const magic = Buffer.from('\x7fELF', 'latin1');
    const result = ok(
      await walkLayer(
        blobLayer(blob, MEDIA_TYPE.none, 3),
        0,
        { select: () => ({ magic }) },
        keepContent,
        DEFAULT_WALK_LIMITS,
      ),
    );
    const byPath = new Map(result.records.map((r) => [r.path, r]));
    const captured = byPath.get('bin/elf');
    assert.equal(captured?.kind, 'file');
    assert.ok(captured.value.equals(elf));
    assert.equal(byPath.get('bin/short')?.kind, 'unreadable');
    assert.equal(byPath.get('bin/script')?.kind, 'unreadable');
  });
  it('reads names from GNU long-name records and PAX path records', async () => {
    const deep = `${'very-long-directory-name/'.repeat(8)}file.txt`;
    const layer = layerOf([
      { name: `gnu/${deep}`, content: 'gnu', longName: 'gnu' },
      { name: `pax/${deep}`, content: 'pax', longName: 'pax' },
      { name: 'pax/ünïcödé-name', content: 'utf8', longName: 'pax' },
    ]);
    const result = ok(await walk(layer));
    const byPath = new Map(
      result.records.map((r) => [r.path, r.kind === 'file' ? r.value.toString() : r.kind]),
    );
    assert.equal(byPath.get(`gnu/${deep}`), 'gnu');
    assert.equal(byPath.get(`pax/${deep}`), 'pax');
    assert.equal(byPath.get('pax/ünïcödé-name'), 'utf8');
    assert.equal(result.entries, 3);
  });

  it('uses a PAX size record instead of the header size', async () => {
    const content = Buffer.from('0123456789');
    const blocks = [...entryBlocks({ name: 'sized', content, claimedSize: 0, pax: { size: '10' } })];
    blocks.push(...entryBlocks({ name: 'after', content: 'still in sync' }), Buffer.alloc(1024));
    const layer = blobLayer(Buffer.concat(blocks), MEDIA_TYPE.none);
    const result = ok(await walk(layer));
    const byPath = new Map(
      result.records.map((r) => [r.path, r.kind === 'file' ? r.value.toString() : r.kind]),
    );
    assert.equal(byPath.get('sized'), '0123456789');
    assert.equal(byPath.get('after'), 'still in sync');
  });

  it('keeps ../ and absolute entry names inside the image root', async () => {
    const layer = layerOf([
      { name: '../../../etc/passwd', content: 'evil' },
      { name: '/abs/file', content: 'abs' },
      { name: 'a/b/../../c', content: 'c' },
    ]);
    const result = ok(await walk(layer));
    assert.deepEqual(result.records.map((r) => r.path).sort(), ['abs/file', 'c', 'etc/passwd']);
  });

  it('stops at a header claiming a 10 GB file that is wanted, without reading or allocating it', async () => {
    const blob = Buffer.concat([
      header({ name: 'var/lib/dpkg/status', typeflag: '0', size: 10 * 1024 ** 3 }),
    ]);
    const started = process.hrtime.bigint();
    const result = await walk(blobLayer(gzipSync(blob), MEDIA_TYPE.gzip), { maxLayerBytes: 64 * 1024 ** 3 });
    assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 1000);
    assert.ok(isImageAnalysisError(result));
    assert.equal(result.reason, 'LimitExceeded');
    assert.equal(result.limit?.name, 'fileBytes');
    assert.equal(result.path, '/var/lib/dpkg/status');
    assert.equal(result.layer?.index, 0);
  });

  it('stops at a header claiming a 10 GB file beyond the layer limit, even when nobody wants it', async () => {
    const blob = header({ name: 'junk', typeflag: '0', size: 10 * 1024 ** 3 });
    const result = await walk(blobLayer(blob, MEDIA_TYPE.none), { maxLayerBytes: 1024 ** 3 });
    assert.ok(isImageAnalysisError(result));
    assert.equal(result.limit?.name, 'layerBytes');
    assert.match(result.message, /claims 10737418240 bytes/);
  });

  it('does not believe the real size a GNU sparse header claims', async () => {
    const sparse = header({ name: 'sparse', typeflag: 'S', size: 512, gnu: true });
    // Real size field (offset 483) claiming 1 TB; only 512 bytes are stored.
    sparse.write('17777777777\0', 483, 'latin1');
    const fixed = withChecksum(sparse);
    const blob = Buffer.concat([
      fixed,
      Buffer.alloc(512, 1),
      ...entryBlocks({ name: 'next', content: 'ok' }),
      Buffer.alloc(1024),
    ]);
    const result = ok(await walk(blobLayer(blob, MEDIA_TYPE.none)));
    const kinds = Object.fromEntries(result.records.map((r) => [r.path, r.kind]));
    assert.deepEqual(kinds, { sparse: 'unreadable', next: 'file' });
  });

  it('stops a stream of 1,000,000 tiny entries at the entry limit without reading the rest', async () => {
    let produced = 0;
    // Headers are stamped from one template (name and checksum patched) and sent
    // 128 per chunk, so generating them costs far less than parsing them.
    const template = header({ name: 'f/0000000', typeflag: '0', size: 0 });
    const baseSum = parseInt(template.toString('latin1', 148, 154), 8) - 7 * 0x30;
    function* million(): Generator<Buffer> {
      for (let i = 0; i < 1_000_000; i += 128) {
        const chunk = Buffer.alloc(512 * 128);
        for (let j = 0; j < 128; j++) {
          const h = chunk.subarray(j * 512, j * 512 + 512);
          template.copy(h);
          const digits = String(i + j).padStart(7, '0');
          h.write(digits, 2, 'latin1');
          let sum = baseSum;
          for (let k = 0; k < 7; k++) sum += digits.charCodeAt(k);
          h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
          produced++;
        }
        yield chunk;
      }
    }
    const layer = {
      digest: 'sha256:million',
      mediaType: MEDIA_TYPE.none,
      open: () => Promise.resolve(Readable.from(million(), { objectMode: false })),
    };
    const result = await walkLayer(layer, 3, everything, keepContent, {
      ...DEFAULT_WALK_LIMITS,
      maxEntriesPerLayer: 20_000,
    });
    assert.ok(isImageAnalysisError(result));
    assert.equal(result.reason, 'LimitExceeded');
    assert.equal(result.limit?.name, 'entriesPerLayer');
    assert.deepEqual(result.layer, { index: 3, digest: 'sha256:million' });
    assert.ok(produced < 100_000, `read ${produced} entries`);
  });

  it('reports a truncated gzip layer as corrupt, naming the layer', async () => {
    const full = compress(tar([{ name: 'a', content: Buffer.alloc(50_000, 3) }]), 'gzip');
    const layer = blobLayer(full.subarray(0, full.length - 100), MEDIA_TYPE.gzip);
    const result = await walk(layer);
    assert.ok(isImageAnalysisError(result));
    assert.equal(result.reason, 'CorruptLayer');
    assert.match(result.message, new RegExp(layer.digest));
  });

  it('reports a tar that ends inside an entry as corrupt', async () => {
    const blob = tar([{ name: 'a', content: Buffer.alloc(5000) }], { end: false }).subarray(0, 2048);
    const result = await walk(blobLayer(blob, MEDIA_TYPE.none));
    assert.ok(isImageAnalysisError(result));
    assert.equal(result.reason, 'CorruptLayer');
  });

  it('reports a header with a bad checksum as corrupt', async () => {
    const blob = tar([{ name: 'a', content: 'x' }]);
    blob[0] = 'b'.charCodeAt(0);
    const result = await walk(blobLayer(blob, MEDIA_TYPE.none));
    assert.ok(isImageAnalysisError(result));
    assert.equal(result.reason, 'CorruptLayer');
    assert.match(result.message, /checksum/);
  });

  it('reports a layer that cannot be opened as unavailable', async () => {
    const layer = {
      digest: 'sha256:gone',
      mediaType: MEDIA_TYPE.gzip,
      open: () => Promise.reject(new Error('401')),
    };
    const result = await walkLayer(layer, 1, everything, keepContent, DEFAULT_WALK_LIMITS);
    assert.ok(isImageAnalysisError(result));
    assert.equal(result.reason, 'LayerUnavailable');
  });

  it('enforces the total uncompressed bytes of a layer (a gzip bomb stops at the limit)', async () => {
    const bomb = gzipSync(Buffer.concat([tar([{ name: 'z', content: Buffer.alloc(4 * 1024 * 1024) }])]));
    const result = await walk(blobLayer(bomb, MEDIA_TYPE.gzip), { maxLayerBytes: 1024 * 1024 });
    assert.ok(isImageAnalysisError(result));
    assert.equal(result.limit?.name, 'layerBytes');
  });
});

describe('virtual filesystem across layers', () => {
  const all = (): boolean => true;

  async function image(...layers: TestEntry[][]): Promise<VirtualFilesystem<Buffer>> {
    const vfs = await buildVirtualFilesystem(
      layers.map((l) => layerOf(l)),
      all,
    );
    if (isImageAnalysisError(vfs)) assert.fail(vfs.message);
    return vfs;
  }

  it('shows the topmost layer version of a replaced file, and which layer it came from', async () => {
    const vfs = await image([{ name: 'etc/motd', content: 'old' }], [{ name: 'etc/motd', content: 'new' }]);
    const hit = vfs.lookup('/etc/motd');
    assert.ok(hit.found);
    assert.equal(hit.value.toString(), 'new');
    assert.equal(hit.layerIndex, 1);
  });

  it('removes a file whited out by a later layer', async () => {
    const vfs = await image(
      [
        { name: 'etc/a', content: 'a' },
        { name: 'etc/b', content: 'b' },
      ],
      [{ name: 'etc/.wh.a', content: '' }],
    );
    assert.equal(fileText(vfs, '/etc/a'), undefined);
    assert.equal(fileText(vfs, '/etc/b'), 'b');
  });

  it('removes a whole directory whited out by a later layer', async () => {
    const vfs = await image(
      [
        { name: 'opt/app/x', content: 'x' },
        { name: 'opt/keep', content: 'k' },
      ],
      [{ name: 'opt/.wh.app' }],
    );
    assert.equal(fileText(vfs, '/opt/app/x'), undefined);
    assert.equal(fileText(vfs, '/opt/keep'), 'k');
  });

  it('hides everything below an opaque directory from lower layers but keeps the same layer files', async () => {
    const vfs = await image(
      [
        { name: 'var/lib/x/old', content: 'old' },
        { name: 'var/lib/y', content: 'y' },
      ],
      [{ name: 'var/lib/x/new', content: 'new' }, { name: 'var/lib/x/.wh..wh..opq' }],
    );
    assert.equal(fileText(vfs, '/var/lib/x/old'), undefined);
    assert.equal(fileText(vfs, '/var/lib/x/new'), 'new');
    assert.equal(fileText(vfs, '/var/lib/y'), 'y');
  });

  it('lets a file re-added above its whiteout be visible again', async () => {
    const vfs = await image(
      [{ name: 'f', content: '1' }],
      [{ name: '.wh.f' }],
      [{ name: 'f', content: '3' }],
    );
    assert.equal(fileText(vfs, '/f'), '3');
  });

  it('ignores a whiteout for files of its own layer (it applies to lower layers only)', async () => {
    const vfs = await image(
      [{ name: 'g', content: 'low' }],
      [{ name: '.wh.g' }, { name: 'g', content: 'same' }],
    );
    assert.equal(fileText(vfs, '/g'), 'same');
  });

  it('follows relative and absolute symlinks, and symlinked directories, inside the image', async () => {
    const vfs = await image(
      [
        { name: 'usr/lib/os-release', content: 'ID=debian' },
        { name: 'etc/os-release', type: 'symlink', linkName: '../usr/lib/os-release' },
      ],
      [
        { name: 'lib', type: 'symlink', linkName: '/usr/lib' },
        { name: 'abs', type: 'symlink', linkName: '/etc/os-release' },
      ],
    );
    assert.equal(fileText(vfs, '/etc/os-release'), 'ID=debian');
    assert.equal(fileText(vfs, '/abs'), 'ID=debian');
    assert.equal(fileText(vfs, '/lib/os-release'), 'ID=debian');
  });

  it('never resolves a symlink above the image root', async () => {
    const vfs = await image([
      { name: 'etc/passwd', content: 'image passwd' },
      { name: 'escape', type: 'symlink', linkName: '../../../../etc/passwd' },
      { name: 'abs-escape', type: 'symlink', linkName: '/../../etc/passwd' },
    ]);
    assert.equal(fileText(vfs, '/escape'), 'image passwd');
    assert.equal(fileText(vfs, '/abs-escape'), 'image passwd');
    assert.equal(vfs.resolve('/escape'), 'etc/passwd');
  });

  it('gives up on a symlink loop after the hop limit', async () => {
    const vfs = await image([
      { name: 'a', type: 'symlink', linkName: 'b' },
      { name: 'b', type: 'symlink', linkName: '/a' },
    ]);
    assert.deepEqual(vfs.lookup('/a'), { found: false, reason: 'symlink-loop' });
  });

  it('resolves a hardlink to the content of its target in the same layer', async () => {
    const vfs = await image([
      { name: 'usr/bin/perl5.36', content: 'perl' },
      { name: 'usr/bin/perl', type: 'hardlink', linkName: 'usr/bin/perl5.36' },
    ]);
    assert.equal(fileText(vfs, '/usr/bin/perl'), 'perl');
  });

  it('keeps a hardlinked file visible when its first name is whited out above', async () => {
    const vfs = await image(
      [
        { name: 'x/orig', content: 'data' },
        { name: 'x/link', type: 'hardlink', linkName: 'x/orig' },
      ],
      [{ name: 'x/.wh.orig' }],
    );
    assert.equal(fileText(vfs, '/x/orig'), undefined);
    assert.equal(fileText(vfs, '/x/link'), 'data');
  });

  it('hides lower files below a path that an upper layer turned into a symlink', async () => {
    const vfs = await image(
      [
        { name: 'lib/apk/db/installed', content: 'P:old' },
        { name: 'usr/lib/apk/db/installed', content: 'P:new' },
      ],
      [{ name: 'lib', type: 'symlink', linkName: 'usr/lib' }],
    );
    assert.equal(fileText(vfs, '/lib/apk/db/installed'), 'P:new');
    assert.deepEqual(
      vfs.files().map((f) => f.path),
      ['/usr/lib/apk/db/installed'],
    );
  });
});

function withChecksum(h: Buffer): Buffer {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}
