// Benchmark: load time and memory of the vulnerability database (the real Go +
// PyPI snapshots, then the generated ≥300,000-advisory database from
// bench/vuln-generate.ts), and the re-match of 1,000 cached inventories against
// the full generated database on one core (target < 10 s): what the scheduled
// re-match does after a database refresh, without pulling any layer again.
// Not a timed test. Run with --expose-gc for honest memory figures, and with the
// shipped operator's heap flags and MALLOC_ARENA_MAX (config/manager) to see the
// re-match inside the operator's heap: on a large machine V8 lets garbage grow
// the peak RSS far past what is live.
//
// Usage: node --expose-gc dist/bench/vuln-match.js [generated-db-dir] [inventories] [osv-dir]
import { join } from 'node:path';

import type { ImageInventory, InventoryPackage, OsInfo } from '../src/sbom/types.js';
import { VulnerabilityDatabase } from '../src/vuln/database.js';
import { matchInventory } from '../src/vuln/match.js';

const dbDir = process.argv[2] ?? '.tmp/vuln-bench-db';
const inventoryCount = Number(process.argv[3] ?? 1000);
const osvDir = process.argv[4] ?? '../shared/osv';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const random = rng(7);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (n: number): number => Math.floor(random() * n);

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
/** The process's highest RSS so far: what the operator's memory limit must hold, garbage included. */
const peakRss = (): number => process.resourceUsage().maxRSS * 1024;
function memory(): { rss: number; heap: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

async function timedLoad(
  label: string,
  load: (db: VulnerabilityDatabase) => Promise<unknown>,
): Promise<VulnerabilityDatabase> {
  const before = memory();
  const started = performance.now();
  const cpu = process.cpuUsage();
  const db = new VulnerabilityDatabase();
  const error = await load(db);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const after = memory();
  if (error !== undefined) console.log(`${label}: error ${JSON.stringify(error)}`);
  console.log(
    `${label}: ${db.summary.loaded} advisories loaded (${db.summary.withdrawn} withdrawn, ${db.summary.skippedCount} skipped) in ${seconds.toFixed(1)} s wall, ${((used.user + used.system) / 1e6).toFixed(1)} s CPU; ` +
      `heap +${mib(after.heap - before.heap)}, RSS ${mib(after.rss)} (+${mib(after.rss - before.rss)}), peak RSS so far ${mib(peakRss())}`,
  );
  return db;
}

function versionOf(eco: string): string {
  const [a, b, c] = [int(8), int(10), int(10)];
  switch (eco) {
    case 'deb-debian':
      return `${a}.${b}.${c}-${1 + int(3)}`;
    case 'deb-ubuntu':
      return `${a}.${b}.${c}-${1 + int(3)}ubuntu${int(4)}.${1 + int(3)}`;
    case 'apk':
      return `${a}.${b}.${c}-r${int(5)}`;
    case 'golang':
      return `v${a}.${b}.${c}`;
    default:
      return `${a}.${b}.${c}`;
  }
}

const OSES: [OsInfo, string, 'deb' | 'apk'][] = [
  [{ id: 'debian', versionId: '12', source: '/etc/os-release' }, 'Debian:12', 'deb'],
  [{ id: 'ubuntu', versionId: '22.04', source: '/etc/os-release' }, 'Ubuntu:22.04:LTS', 'deb'],
  [{ id: 'alpine', versionId: '3.20.3', source: '/etc/os-release' }, 'Alpine:v3.20', 'apk'],
];

function inventories(db: VulnerabilityDatabase): ImageInventory[] {
  const names = new Map<string, string[]>();
  const namesOf = (eco: string): string[] => {
    let list = names.get(eco);
    if (list === undefined) names.set(eco, (list = db.packageNames(eco)));
    return list;
  };
  const result: ImageInventory[] = [];
  for (let i = 0; i < inventoryCount; i++) {
    const [os, osEcosystem, osType] = pick(OSES);
    const packages: InventoryPackage[] = [];
    const add = (name: string, version: string, ecosystem: InventoryPackage['ecosystem']): void => {
      packages.push({
        name,
        version,
        ecosystem,
        location: '/',
        purl: `pkg:${ecosystem}/${name}@${version}`,
        layerDigest: 'sha256:0',
      });
    };
    for (let k = 0; k < 150; k++) {
      add(pick(namesOf(osEcosystem)), versionOf(osType === 'apk' ? 'apk' : `deb-${os.id}`), osType);
    }
    for (let k = 0; k < 60; k++) add(pick(namesOf('npm')), versionOf('npm'), 'npm');
    for (let k = 0; k < 30; k++) add(pick(namesOf('PyPI')), versionOf('pypi'), 'pypi');
    for (let k = 0; k < 30; k++) add(pick(namesOf('Go')), versionOf('golang'), 'golang');
    for (let k = 0; k < 30; k++) add(pick(namesOf('Maven')), versionOf('maven'), 'maven');
    result.push({
      kind: 'ImageInventory',
      os,
      packages,
      facts: {} as ImageInventory['facts'],
      layers: [],
      analyzerVersion: 'bench',
      warnings: [],
    });
  }
  return result;
}

async function main(): Promise<void> {
  // Loaded and dropped: only its load time and memory are of interest here.
  await timedLoad('real Go + PyPI zips', async (db) => {
    for (const eco of ['Go', 'PyPI']) {
      const error = await db.loadZip(join(osvDir, eco, 'all.zip'));
      if (error !== undefined) return error;
    }
    return undefined;
  });
  const db = await timedLoad(`generated database (${dbDir})`, (d) => d.loadDirectory(dbDir));
  const cached = inventories(db);
  const packages = cached.reduce((n, inv) => n + inv.packages.length, 0);
  const held = memory();
  // What the inventories themselves hold, apart from what matching remembers.
  console.log(
    `${cached.length} cached inventories, ${packages} packages: heap ${mib(held.heap)}, RSS ${mib(held.rss)}`,
  );
  for (let run = 1; run <= 5; run++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    let findings = 0;
    for (const inventory of cached) findings += matchInventory(inventory, db).length;
    const wall = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    console.log(
      `re-match run ${run}: ${cached.length} inventories in ${wall.toFixed(2)} s wall, ${((used.user + used.system) / 1e6).toFixed(2)} s CPU; ${findings} findings; peak RSS ${mib(peakRss())}`,
    );
  }
  const settled = memory();
  console.log(
    `after re-matching: heap ${mib(settled.heap)}, RSS ${mib(settled.rss)} (database, ${cached.length} inventories and the facts kept for re-matching); peak RSS ${mib(peakRss())}`,
  );
}

await main();
