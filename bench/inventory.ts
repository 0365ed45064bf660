// Benchmark: how long a package inventory of a registry image takes, against the floor
// of merely downloading and decompressing its layers (bytes discarded, decompressed with
// the layer walker's own compression detection and decompressor), and against Trivy
// inventorying the same image from the same registry. Shipshape and Trivy are timed the
// same way: each as a process (`shipshape sbom`, `trivy image`), once with a fresh cache
// directory (cold: it really downloads and analyses every layer) and once more with that
// same directory (warm). The in-process analyzer's cached re-analysis, the operator's
// path, is reported too. Prints a table with ratios. Not a timed test.
//
// Usage (run with the project's Node, e.g. `npx node dist/bench/inventory.js ...`):
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
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { ImageAnalyzer } from '../src/image/image-analyzer.js';
import { classifyAddress } from '../src/registry/address-policy.js';
import { RegistryClient, type RegistryClientConfig } from '../src/registry/client.js';
import { parseImageReference } from '../src/registry/reference.js';
import { TieredInventoryCache } from '../src/sbom/cache.js';
import { tarChunks } from '../src/sbom/decompress.js';
import { toolPath } from '../test/cluster/local-cluster.js';
import { startStandaloneRegistry } from '../test/e2e/harness.js';
import { runBuffer } from '../test/support/images/cache.js';
import { debianImage } from '../test/support/images/index.js';
import { parseCycloneDxInventory, trivyInventoryArgs } from '../test/support/images/trivy.js';
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

function isLocalRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return classifyAddress(host) === 'loopback' || host === 'localhost';
}

function clientConfig(registry: string): RegistryClientConfig {
  return isLocalRegistry(registry)
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

/**
 * Download, verify and decompress every layer, discarding the bytes. The layer walker's
 * own tarChunks decompresses, so the floor detects the compression from the blob's
 * magic bytes exactly as the walker does and uses the same decompressor settings.
 */
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
      for await (const chunk of tarChunks(blob, layer.mediaType)) uncompressed += chunk.length;
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

interface ProcessRun {
  seconds: number;
  packages: number;
}

/** Wall time of one process from spawn to exit, and its stdout. */
async function timed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<[number, Buffer]> {
  const started = performance.now();
  const stdout = await runBuffer(command, args, { env });
  return [(performance.now() - started) / 1000, stdout];
}

const SHIPSHAPE_CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** `shipshape sbom` as a process, keeping its layer and image cache in cacheDir. */
async function shipshapeProcess(image: string, cacheDir: string): Promise<ProcessRun> {
  const registry = parseImageReference(image).registry;
  const local = isLocalRegistry(registry) ? ['--allow-registry', registry, '--plain-http', registry] : [];
  const [seconds, stdout] = await timed(
    process.execPath,
    [SHIPSHAPE_CLI, 'sbom', image, '--format', 'json', '--cache-dir', cacheDir, ...local],
    process.env,
  );
  const inventory = JSON.parse(stdout.toString('utf8')) as { packages: unknown[] };
  return { seconds, packages: inventory.packages.length };
}

/** `trivy image` as a process, offline (see test/support/images/trivy.ts), caching in scratch/cache. */
async function trivyProcess(image: string, scratch: string): Promise<ProcessRun> {
  const [seconds, stdout] = await timed(
    toolPath('trivy'),
    trivyInventoryArgs(image, join(scratch, 'cache')),
    {
      ...process.env,
      TRIVY_NO_PROGRESS: 'true',
      HOME: scratch,
      DOCKER_CONFIG: join(scratch, 'docker'),
    },
  );
  return { seconds, packages: parseCycloneDxInventory(stdout.toString('utf8')).length };
}

/** The same tool twice on one fresh cache directory: first cold, then warm. */
async function coldThenWarm(
  run: (scratch: string) => Promise<ProcessRun>,
): Promise<{ cold: ProcessRun; warm: ProcessRun }> {
  const scratch = await mkdtemp(join(tmpdir(), 'shipshape-bench-'));
  try {
    const cold = await run(scratch);
    const warm = await run(scratch);
    return { cold, warm };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
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
  if (!existsSync(SHIPSHAPE_CLI))
    throw new Error(`${SHIPSHAPE_CLI} not found: run npx tsc -p tsconfig.json first`);
  await floor(image); // warm-up: the registry's files into the page cache
  const floors: FloorResult[] = [];
  const shipshape = { cold: [] as number[], warm: [] as number[], packages: 0 };
  const trivy = { cold: [] as number[], warm: [] as number[], packages: 0 };
  const inProcess = { cold: [] as number[], cached: [] as number[] };
  for (let i = 0; i < runs; i++) {
    floors.push(await floor(image));
    const own = await coldThenWarm((scratch) => shipshapeProcess(image, scratch));
    shipshape.cold.push(own.cold.seconds);
    shipshape.warm.push(own.warm.seconds);
    shipshape.packages = own.cold.packages;
    if (own.warm.packages !== own.cold.packages) {
      throw new Error(`shipshape found ${own.cold.packages} packages cold but ${own.warm.packages} warm`);
    }
    if (!values['skip-trivy']) {
      const reference = await coldThenWarm((scratch) => trivyProcess(image, scratch));
      trivy.cold.push(reference.cold.seconds);
      trivy.warm.push(reference.warm.seconds);
      trivy.packages = reference.cold.packages;
    }
    const cache = new TieredInventoryCache();
    inProcess.cold.push((await inventory(image, cache)).seconds);
    inProcess.cached.push((await inventory(image, cache)).seconds);
  }
  const floorSeconds = median(floors.map((f) => f.seconds));
  const { compressed, uncompressed } = floors[0] ?? { compressed: 0, uncompressed: 0 };
  const rows: [string, number][] = [
    ['floor: download + decompress, discard', floorSeconds],
    ['shipshape sbom process, cold cache', median(shipshape.cold)],
    ['shipshape sbom process, warm cache', median(shipshape.warm)],
  ];
  if (trivy.cold.length > 0) {
    rows.push(['trivy image process, cold cache', median(trivy.cold)]);
    rows.push(['trivy image process, warm cache', median(trivy.warm)]);
  }
  rows.push(['shipshape in-process, cold cache', median(inProcess.cold)]);
  rows.push(['shipshape in-process, cached', median(inProcess.cached)]);
  console.log(`image ${image}`);
  console.log(
    `${(compressed / 1e6).toFixed(1)} MB compressed, ${(uncompressed / 1e6).toFixed(1)} MB uncompressed, ` +
      `${shipshape.packages} packages (trivy: ${trivy.cold.length > 0 ? trivy.packages : 'not run'}); ` +
      `median of ${runs} runs`,
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
  const ratio = (a: number[], b: number[]): string => `${(median(a) / median(b)).toFixed(2)}x`;
  console.log(
    `shipshape process cold / floor   ${(median(shipshape.cold) / floorSeconds).toFixed(2)}x   (target <= 1.5x)`,
  );
  console.log(`shipshape in-process / floor     ${(median(inProcess.cold) / floorSeconds).toFixed(2)}x`);
  if (trivy.cold.length > 0) {
    console.log(`shipshape / trivy, cold caches   ${ratio(shipshape.cold, trivy.cold)}   (target < 1x)`);
    console.log(`shipshape / trivy, warm caches   ${ratio(shipshape.warm, trivy.warm)}   (target < 1x)`);
  }
  console.log(
    `in-process cached re-analysis    ${(median(inProcess.cached) * 1000).toFixed(1)} ms   (target < 50 ms)`,
  );
}

await main();
