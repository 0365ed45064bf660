// Benchmark: how long a package inventory of a registry image takes, against the floor
// of merely downloading and decompressing its layers (bytes discarded), against Trivy
// inventorying the same image from the same registry (offline, a fresh cache each run,
// so it really downloads), and how long a cached re-analysis takes. Prints a table with
// ratios. Not a timed test.
//
// Usage:
//   node dist/bench/inventory.js <image> [--runs N] [--skip-trivy]
//   node dist/bench/inventory.js --debian [--compression gzip|zstd] [--registry host:port] [--runs N]
//     (builds the Debian test image of the e2e suite and pushes it; without --registry a
//     distribution registry is started on 127.0.0.1 for the run and stopped after it)
//   node dist/bench/inventory.js --registry 127.0.0.1:5000 --push DIR [--push DIR ...] [--runs N]
//     (makes one gzip layer per directory with the system tar, pushes the image, then measures)
// The image may also come from $SHIPSHAPE_BENCH_IMAGE. Registries on loopback addresses
// are allowed and spoken to over plain HTTP; others need HTTPS.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGunzip, createZstdDecompress } from 'node:zlib';

import { ImageAnalyzer } from '../src/image/image-analyzer.js';
import { classifyAddress } from '../src/registry/address-policy.js';
import { RegistryClient, type RegistryClientConfig } from '../src/registry/client.js';
import { parseImageReference } from '../src/registry/reference.js';
import { TieredInventoryCache } from '../src/sbom/cache.js';
import { DECOMPRESS_CHUNK_BYTES } from '../src/sbom/decompress.js';
import { startStandaloneRegistry } from '../test/e2e/harness.js';
import { debianImage, trivyInventory } from '../test/support/images/index.js';
import { pushBlob, pushManifest } from '../test/support/oci-push.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '3' },
    registry: { type: 'string' },
    push: { type: 'string', multiple: true },
    debian: { type: 'boolean', default: false },
    compression: { type: 'string', default: 'gzip' },
    'skip-trivy': { type: 'boolean', default: false },
  },
});
const runs = Math.max(1, Number(values.runs));

function clientConfig(registry: string): RegistryClientConfig {
  const host = registry.replace(/:\d+$/, '');
  const local = classifyAddress(host) === 'loopback' || host === 'localhost';
  return local
    ? {
        policy: { allow: [registry] },
        hosts: { [registry]: { plainHttp: true } },
        blobTimeoutMs: 30 * 60_000,
      }
    : {};
}

/** gzip tarball of a directory (paths relative to /), via the system tar. */
function tarGz(dir: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', ['-czf', '-', '-C', '/', dir.replace(/^\//, '')], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    // tar exits 1 when files changed while read; the archive is still usable.
    child.on('close', (code) =>
      code === 0 || code === 1 ? resolve(Buffer.concat(chunks)) : reject(new Error(`tar exited ${code}`)),
    );
  });
}

async function pushDirectories(registry: string, dirs: readonly string[]): Promise<string> {
  const repository = 'bench/inventory';
  const layers = [];
  for (const dir of dirs) {
    const blob = await tarGz(dir);
    layers.push({
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: await pushBlob(registry, repository, blob),
      size: blob.length,
    });
    console.error(`pushed ${dir}: ${(blob.length / 1e6).toFixed(1)} MB compressed`);
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  const configDescriptor = {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    digest: await pushBlob(registry, repository, config),
    size: config.length,
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: configDescriptor,
      layers,
    }),
  );
  const tag = createHash('sha256').update(manifest).digest('hex').slice(0, 12);
  await pushManifest(registry, repository, tag, manifest, 'application/vnd.oci.image.manifest.v1+json');
  return `${registry}/${repository}:${tag}`;
}

interface FloorResult {
  seconds: number;
  compressed: number;
  uncompressed: number;
}

/** Download, verify and decompress every layer, discarding the bytes. */
async function floor(image: string): Promise<FloorResult> {
  const ref = parseImageReference(image);
  const client = new RegistryClient({ config: clientConfig(ref.registry) });
  const started = performance.now();
  let compressed = 0;
  let uncompressed = 0;
  try {
    const resolved = await client.resolveImage(ref);
    await client.fetchBlobBytes(ref, resolved.config);
    for (const layer of resolved.layers) {
      const blob = await client.openBlob(ref, layer);
      compressed += layer.size;
      // The same output chunk size as the walker, so the floor is not slowed by zlib's small default.
      const options = { chunkSize: DECOMPRESS_CHUNK_BYTES };
      const decompress = layer.mediaType.endsWith('zstd')
        ? createZstdDecompress(options)
        : createGunzip(options);
      await pipeline(
        blob,
        decompress,
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            uncompressed += chunk.length;
            done();
          },
        }),
      );
    }
  } finally {
    client.close();
  }
  return { seconds: (performance.now() - started) / 1000, compressed, uncompressed };
}

async function inventory(
  image: string,
  cache: TieredInventoryCache,
): Promise<{ seconds: number; packages: number }> {
  const ref = parseImageReference(image);
  const client = new RegistryClient({ config: clientConfig(ref.registry) });
  try {
    const analyzer = new ImageAnalyzer({ registry: client, cache });
    const started = performance.now();
    const result = await analyzer.analyze(image);
    const seconds = (performance.now() - started) / 1000;
    if (!result.ok) throw new Error(`${result.reason}: ${result.message}`);
    return { seconds, packages: result.inventory.packages.length };
  } finally {
    client.close();
  }
}

/** Trivy's inventory of the image, from a fresh cache directory (see test/support/images/trivy.ts). */
async function trivy(image: string): Promise<{ seconds: number; packages: number }> {
  const started = performance.now();
  const packages = await trivyInventory(image);
  return { seconds: (performance.now() - started) / 1000, packages: packages.length };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  let stopRegistry: (() => Promise<void>) | undefined;
  try {
    let image = positionals[0] ?? process.env.SHIPSHAPE_BENCH_IMAGE;
    if (values.debian) {
      let registry = values.registry;
      if (registry === undefined) {
        const started = await startStandaloneRegistry();
        registry = started.host;
        stopRegistry = started.stop;
      }
      const compression = values.compression === 'zstd' ? 'zstd' : 'gzip';
      image = (await debianImage(registry, { compression })).reference;
    } else if (values.push !== undefined && values.push.length > 0) {
      if (values.registry === undefined) throw new Error('--push needs --registry host:port');
      image = await pushDirectories(values.registry, values.push);
    }
    if (image === undefined) throw new Error('give an image reference (argument or $SHIPSHAPE_BENCH_IMAGE)');
    await measure(image);
  } finally {
    await stopRegistry?.();
  }
}

async function measure(image: string): Promise<void> {
  await floor(image); // warm-up: the registry's files into the page cache
  const floors: FloorResult[] = [];
  const colds: number[] = [];
  const cached: number[] = [];
  const trivys: number[] = [];
  let packages = 0;
  let trivyPackages = 0;
  for (let i = 0; i < runs; i++) {
    floors.push(await floor(image));
    const cache = new TieredInventoryCache();
    const cold = await inventory(image, cache);
    colds.push(cold.seconds);
    packages = cold.packages;
    cached.push((await inventory(image, cache)).seconds);
    if (!values['skip-trivy']) {
      const reference = await trivy(image);
      trivys.push(reference.seconds);
      trivyPackages = reference.packages;
    }
  }
  const floorSeconds = median(floors.map((f) => f.seconds));
  const trivySeconds = median(trivys);
  const { compressed, uncompressed } = floors[0] ?? { compressed: 0, uncompressed: 0 };
  const rows: [string, number][] = [
    ['floor: download + decompress, discard', floorSeconds],
    ['shipshape inventory, cold cache', median(colds)],
    ['shipshape inventory, cached', median(cached)],
  ];
  if (trivys.length > 0) rows.push(['trivy inventory, fresh cache', trivySeconds]);
  console.log(`image ${image}`);
  console.log(
    `${(compressed / 1e6).toFixed(1)} MB compressed, ${(uncompressed / 1e6).toFixed(1)} MB uncompressed, ` +
      `${packages} packages (trivy: ${trivys.length > 0 ? trivyPackages : 'not run'}); median of ${runs} runs`,
  );
  console.log('');
  console.log(
    `${'phase'.padEnd(40)}  ${'seconds'.padStart(8)}  ${'x floor'.padStart(8)}  ${'MB/s'.padStart(8)}`,
  );
  for (const [name, seconds] of rows) {
    console.log(
      `${name.padEnd(40)}  ${seconds.toFixed(3).padStart(8)}  ${(seconds / floorSeconds).toFixed(2).padStart(8)}  ${(uncompressed / 1e6 / seconds).toFixed(0).padStart(8)}`,
    );
  }
  console.log('');
  const cold = median(colds);
  console.log(`shipshape / floor      ${(cold / floorSeconds).toFixed(2)}x   (target <= 1.5x)`);
  if (trivys.length > 0) {
    console.log(`shipshape / trivy      ${(cold / trivySeconds).toFixed(2)}x   (target < 1x)`);
  }
  console.log(`cached re-analysis     ${(median(cached) * 1000).toFixed(1)} ms   (target < 50 ms)`);
}

await main();
