// Benchmark: the operator's re-match after a database change, through the ImageService
// as the operator runs it (compact inventories from its byte-bounded cache, matched in
// slices that yield): total wall and CPU time for N cached images, and how long the
// event loop was blocked at most meanwhile (a 1 ms ticker's largest gap, and
// perf_hooks' event-loop delay), which is what reconciles, probes and admission feel.
// The analyzer is a stand-in that answers at once, counted: the re-match must not call it.
// Each run replaces the database as the refresher does (the one in use released, then
// the next loaded), and prints the peak RSS and the heap in use after it; run it with
// the shipped operator's NODE_OPTIONS (config/manager) to see it inside that heap.
// Not a timed test.
//
// Usage: node dist/bench/vuln-rematch-operator.js [images] [generated-db-dir]
// Without a directory a database of 60,000 Debian/npm advisories is generated in memory.
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { trimmedAnalysis } from '../src/image/analysis-pool.js';
import { ImageService } from '../src/image/image-service.js';
import { compactInventoryOf, isCompactInventoryTooLarge } from '../src/image/compact-inventory.js';
import { matchInSlices } from '../src/image/vulnerability-scan.js';
import type { ImageInventory, InventoryPackage } from '../src/sbom/types.js';
import { ANONYMOUS } from '../src/registry/auth.js';
import { VulnerabilityDatabase } from '../src/vuln/database.js';
import { StaticDatabaseProvider } from '../test/support/static-database-provider.js';

const imageCount = Number(process.argv[2] ?? 1000);
const dbDir = process.argv[3];

let seed = 11;
const random = (): number => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const int = (n: number): number => Math.floor(random() * n);
const version = (): string => `${int(5)}.${int(10)}.${int(10)}`;

interface PackageNames {
  debianNames: string[];
  npmNames: string[];
}

function syntheticDatabase(advisories: number, salt: string): VulnerabilityDatabase {
  const db = new VulnerabilityDatabase();
  for (let i = 0; i < advisories; i++) {
    const debian = i % 2 === 0;
    db.addDocument(
      {
        schema_version: '1.7.0',
        id: `BENCH-${salt}-${i}`,
        modified: '2026-01-01T00:00:00Z',
        severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N' }],
        affected: [
          {
            package: { ecosystem: debian ? 'Debian:12' : 'npm', name: `pkg${int(8000)}` },
            ranges: [
              { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: `${int(5)}.${int(10)}.0` }] },
            ],
          },
        ],
      },
      'bench',
    );
  }
  return db;
}

function inventory({ debianNames, npmNames }: PackageNames): ImageInventory {
  const packages: InventoryPackage[] = [];
  const add = (name: string, ecosystem: 'deb' | 'npm'): void => {
    const v = version();
    packages.push({
      name,
      version: v,
      ecosystem,
      location: '/',
      purl: `pkg:${ecosystem}/${name}@${v}`,
      layerDigest: 'sha256:0',
    });
  };
  for (let k = 0; k < 200; k++) add(debianNames[int(debianNames.length)] ?? 'x', 'deb');
  for (let k = 0; k < 100; k++) add(npmNames[int(npmNames.length)] ?? 'x', 'npm');
  return {
    kind: 'ImageInventory',
    os: { id: 'debian', versionId: '12', source: '/etc/os-release' },
    packages,
    facts: {
      user: '',
      runsAsRoot: true,
      exposedPorts: [],
      secretEnvKeys: [],
      layerCount: 1,
      compressedBytes: 1,
      uncompressedBytes: 1,
      baseImage: { hints: [] },
    },
    layers: [],
    analyzerVersion: 'bench',
    warnings: [],
  };
}

async function loadDatabase(salt: string): Promise<VulnerabilityDatabase> {
  if (dbDir === undefined) return syntheticDatabase(60_000, salt);
  const db = new VulnerabilityDatabase();
  const error = await db.loadDirectory(dbDir);
  if (error !== undefined) throw new Error(error.message);
  return db;
}

async function firstDatabase(): Promise<{
  provider: StaticDatabaseProvider;
  advisories: number;
  names: PackageNames;
}> {
  const db = await loadDatabase('a');
  return {
    provider: new StaticDatabaseProvider({ db, version: 'v1', loadedAt: new Date() }),
    advisories: db.size,
    names: { debianNames: db.packageNames('Debian:12'), npmNames: db.packageNames('npm') },
  };
}

async function main(): Promise<void> {
  // The provider alone holds the database, so that releasing it frees it.
  const { provider, advisories, names } = await firstDatabase();
  // The database of the last run, for the slice measurement below (a holder, so that it can be let go).
  const inUse: { db?: VulnerabilityDatabase } = {};
  let analyzerCalls = 0;
  const service = new ImageService({
    analyzer: (reference) => {
      analyzerCalls++;
      const digest = `sha256:${reference.split(':').at(-1)!.padStart(64, '0')}`;
      return Promise.resolve(
        trimmedAnalysis({
          ok: true,
          reference,
          digest,
          manifestDigest: digest,
          inventory: inventory(names),
          facts: { digest },
        }),
      );
    },
    credentialsFor: () => Promise.resolve({ source: ANONYMOUS, secrets: [], problems: [] }),
    vulnerabilities: provider,
    concurrency: 4,
    maxTrackedDigests: imageCount + 10,
    maxTrackedImages: imageCount + 10,
  });
  const analysed = new Promise<void>((resolve) => {
    let n = 0;
    service.subscribe(() => {
      if (++n === imageCount) resolve();
    });
  });
  for (let i = 0; i < imageCount; i++)
    service.statusOf('bench', {}, `registry.example.com/app:${i.toString(16)}`);
  await analysed;
  const stats = service.compactInventoryStats();
  console.log(
    `${imageCount} images analysed; ${stats.entries} compact inventories cached in ${(stats.bytes / 1024 / 1024).toFixed(1)} MiB; database ${advisories} advisories`,
  );

  for (let run = 1; run <= 3; run++) {
    // As the refresher does: the database in use is released before the next one is built.
    provider.release();
    delete inUse.db;
    // Loaded by a helper, so that no frame of this loop keeps the previous one alive meanwhile.
    inUse.db = await loadDatabase(run % 2 === 1 ? 'b' : 'a');
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    let last = performance.now();
    let maxGap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 1);
    histogram.enable();
    const callsBefore = analyzerCalls;
    const cpu = process.cpuUsage();
    const started = performance.now();
    // replace() tells the service, whose listener starts the re-match; this call joins it.
    provider.replace({ db: inUse.db, version: `v${run + 1}`, loadedAt: new Date() });
    await service.rematchAll();
    const wall = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    histogram.disable();
    clearInterval(ticker);
    const totals = service.vulnerabilityTotals();
    console.log(
      `re-match run ${run}: ${imageCount} images in ${wall.toFixed(2)} s wall, ${((used.user + used.system) / 1e6).toFixed(2)} s CPU; ` +
        `longest event-loop gap ${maxGap.toFixed(1)} ms (delay p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms, max ${(histogram.max / 1e6).toFixed(1)} ms); ` +
        `analyzer calls ${analyzerCalls - callsBefore}; high findings ${totals.high}; ` +
        `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB, heap used ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`,
    );
  }
  await service.shutdown();

  // The slices themselves: wall and CPU time between two yields (CPU excludes time the
  // machine gave to other processes, which a shared machine's wall-clock gaps include).
  let slices = 0;
  let maxWall = 0;
  let maxCpu = 0;
  const over20 = { wall: 0, cpu: 0 };
  for (let i = 0; i < imageCount; i++) {
    const compact = compactInventoryOf(inventory(names));
    if (isCompactInventoryTooLarge(compact)) throw new Error('inventory too large');
    let wall = performance.now();
    let cpu = process.cpuUsage();
    const note = (): void => {
      const w = performance.now() - wall;
      const c = process.cpuUsage(cpu);
      const cpuMs = (c.user + c.system) / 1000;
      slices++;
      maxWall = Math.max(maxWall, w);
      maxCpu = Math.max(maxCpu, cpuMs);
      if (w > 20) over20.wall++;
      if (cpuMs > 20) over20.cpu++;
    };
    await matchInSlices(
      compact,
      { db: inUse.db! },
      {
        yieldNow: () => {
          note();
          return new Promise<void>((resolve) =>
            setImmediate(() => {
              wall = performance.now();
              cpu = process.cpuUsage();
              resolve();
            }),
          );
        },
      },
    );
    note();
  }
  console.log(
    `slices: ${slices} over ${imageCount} images; longest ${maxWall.toFixed(1)} ms wall, ${maxCpu.toFixed(1)} ms CPU; ` +
      `over 20 ms: ${over20.wall} by wall clock, ${over20.cpu} by CPU`,
  );
}

await main();
