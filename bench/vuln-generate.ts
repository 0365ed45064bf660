// Generates a large OSV database for the matching benchmark: ≥300,000
// advisories across Debian, Ubuntu, Alpine, npm, PyPI, Go and Maven, written
// as `<out>/<ecosystem>/part-N.zip` archives. The shape of each advisory
// (affected entries, ranges, events, versions[] lists, aliases, severity
// vectors) is drawn from the distributions measured in the real Go and PyPI
// snapshots in ../shared/osv; names and versions follow each ecosystem's syntax.
//
// Usage: node dist/bench/vuln-generate.js [out-dir] [advisories] [osv-dir]
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { VulnerabilityDatabase } from '../src/vuln/database.js';
import type { Advisory } from '../src/vuln/osv.js';
import { ZipWriter } from './vuln-zip.js';

const outDir = process.argv[2] ?? '.tmp/vuln-bench-db';
const total = Number(process.argv[3] ?? 320_000);
const osvDir = process.argv[4] ?? '../shared/osv';
const PER_ZIP = 60_000; // the writer has no zip64, so at most 65,535 entries per archive

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const random = rng(2026);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (n: number): number => Math.floor(random() * n);

/** Empirical distributions of the real advisories' shape. */
interface Shape {
  affectedPerAdvisory: number[];
  rangesPerAffected: number[];
  eventPairsPerRange: number[];
  versionsPerAffected: number[];
  aliasesPerAdvisory: number[];
  vectors: string[];
}

async function measureShape(): Promise<Shape> {
  const db = new VulnerabilityDatabase();
  const advisories: Advisory[] = [];
  const original = db.add.bind(db);
  db.add = (a: Advisory) => {
    advisories.push(a);
    original(a);
  };
  for (const eco of ['Go', 'PyPI']) {
    const error = await db.loadZip(join(osvDir, eco, 'all.zip'));
    if (error !== undefined)
      throw new Error(`cannot measure the advisory shape: ${error.message} (pass the osv dir)`);
  }
  if (advisories.length === 0)
    throw new Error(`no advisories under ${osvDir}: pass the directory of the OSV snapshots`);
  const shape: Shape = {
    affectedPerAdvisory: [],
    rangesPerAffected: [],
    eventPairsPerRange: [],
    versionsPerAffected: [],
    aliasesPerAdvisory: [],
    vectors: [],
  };
  for (const a of advisories) {
    shape.affectedPerAdvisory.push(Math.max(1, a.affected.length));
    shape.aliasesPerAdvisory.push(a.aliases.length);
    for (const s of a.severity) if (s.type === 'CVSS_V3') shape.vectors.push(s.score);
    for (const af of a.affected) {
      const ranges = af.ranges.filter((r) => r.type !== 'GIT');
      shape.rangesPerAffected.push(Math.max(1, ranges.length));
      shape.versionsPerAffected.push(af.versions.length);
      for (const r of ranges) shape.eventPairsPerRange.push(Math.max(1, Math.ceil(r.events.length / 2)));
    }
  }
  console.log(
    `shape measured on ${advisories.length} real advisories (${shape.vectors.length} CVSS v3 vectors)`,
  );
  return shape;
}

type Ecosystem = 'Debian' | 'Ubuntu' | 'Alpine' | 'npm' | 'PyPI' | 'Go' | 'Maven';

/** Share of the generated advisories per ecosystem, roughly osv.dev's proportions. */
const SHARE: [Ecosystem, number][] = [
  ['Debian', 0.3],
  ['Ubuntu', 0.25],
  ['Alpine', 0.1],
  ['npm', 0.12],
  ['PyPI', 0.08],
  ['Go', 0.07],
  ['Maven', 0.08],
];
const RELEASES: Record<string, string[]> = {
  Debian: ['Debian:11', 'Debian:12', 'Debian:13'],
  Ubuntu: ['Ubuntu:20.04:LTS', 'Ubuntu:22.04:LTS', 'Ubuntu:24.04:LTS'],
  Alpine: ['Alpine:v3.18', 'Alpine:v3.19', 'Alpine:v3.20'],
};
/** Distinct package names per ecosystem: advisories concentrate on a few thousand packages. */
const NAMES_PER_ECOSYSTEM = 4000;

function packageName(eco: Ecosystem, i: number): string {
  switch (eco) {
    case 'Debian':
    case 'Ubuntu':
    case 'Alpine':
      return `lib${(i * 7919).toString(36)}`;
    case 'npm':
      return i % 5 === 0 ? `@scope${i % 37}/pkg-${i.toString(36)}` : `pkg-${i.toString(36)}`;
    case 'PyPI':
      return `py-${i.toString(36)}`;
    case 'Go':
      return `github.com/org${i % 97}/mod${i.toString(36)}`;
    case 'Maven':
      return `org.example${i % 53}:artifact-${i.toString(36)}`;
  }
}

/** A version in the ecosystem's syntax; `base` orders them so events can ascend. */
export function versionOf(eco: string, major: number, minor: number, patch: number): string {
  switch (eco) {
    case 'Debian':
      return `${random() < 0.1 ? '1:' : ''}${major}.${minor}.${patch}-${1 + int(3)}${random() < 0.3 ? `+deb12u${1 + int(3)}` : ''}`;
    case 'Ubuntu':
      return `${major}.${minor}.${patch}-${1 + int(3)}ubuntu${int(4)}.${1 + int(3)}`;
    case 'Alpine':
      return `${major}.${minor}.${patch}-r${int(5)}`;
    case 'PyPI':
      return random() < 0.1 ? `${major}.${minor}.${patch}rc${1 + int(3)}` : `${major}.${minor}.${patch}`;
    case 'Maven':
      return random() < 0.2 ? `${major}.${minor}.${patch}.Final` : `${major}.${minor}.${patch}`;
    default:
      return `${major}.${minor}.${patch}`;
  }
}

function advisory(eco: Ecosystem, n: number, shape: Shape): object {
  const distro = eco === 'Debian' || eco === 'Ubuntu' || eco === 'Alpine';
  const cve = `CVE-${2015 + int(11)}-${10000 + n}`;
  const id = distro ? `${eco.toUpperCase()}-${cve}` : `${eco.toUpperCase().slice(0, 4)}-${n}`;
  const affected = [];
  const affectedCount = distro ? 1 + int(2) : pick(shape.affectedPerAdvisory);
  const name = packageName(eco, int(NAMES_PER_ECOSYSTEM));
  const firstRelease = int(3);
  for (let a = 0; a < Math.min(affectedCount, 5); a++) {
    const ecosystem = distro ? RELEASES[eco]![(firstRelease + a) % 3]! : eco;
    const ranges = [];
    for (let r = 0; r < Math.min(pick(shape.rangesPerAffected), 4); r++) {
      const events: object[] = [];
      let major = int(4);
      for (let p = 0; p < Math.min(pick(shape.eventPairsPerRange), 6); p++) {
        events.push({
          introduced: p === 0 && random() < 0.6 ? '0' : versionOf(eco, major, int(10), int(10)),
        });
        major += 1 + int(2);
        if (random() < 0.9) events.push({ fixed: versionOf(eco, major, int(10), int(10)) });
        else events.push({ last_affected: versionOf(eco, major, int(10), int(10)) });
        major += 1;
      }
      ranges.push({ type: eco === 'Go' || eco === 'npm' ? 'SEMVER' : 'ECOSYSTEM', events });
    }
    const versions = Array.from({ length: Math.min(pick(shape.versionsPerAffected), 200) }, () =>
      versionOf(eco, int(8), int(10), int(10)),
    );
    affected.push({
      package: { ecosystem, name: a === 0 || distro ? name : packageName(eco, int(NAMES_PER_ECOSYSTEM)) },
      ranges,
      versions,
    });
  }
  const vector =
    shape.vectors.length > 0 && random() < 0.6 ? [{ type: 'CVSS_V3', score: pick(shape.vectors) }] : [];
  return {
    schema_version: '1.6.0',
    id,
    modified: '2026-01-01T00:00:00Z',
    ...(distro
      ? { upstream: [cve] }
      : {
          aliases: [
            cve,
            ...Array.from({ length: pick(shape.aliasesPerAdvisory) }, (_, k) => `GHSA-${n}-${k}`),
          ],
        }),
    summary: `generated advisory ${n} for ${name}`,
    details: `A generated flaw in ${name}. `.repeat(1 + int(8)),
    severity:
      eco === 'Ubuntu'
        ? [...vector, { type: 'Ubuntu', score: pick(['low', 'medium', 'high', 'negligible']) }]
        : vector,
    affected,
    ...(random() < 0.01 ? { withdrawn: '2026-01-01T00:00:00Z' } : {}),
    ...(eco === 'npm' || eco === 'Maven'
      ? { database_specific: { severity: pick(['LOW', 'MODERATE', 'HIGH', 'CRITICAL']) } }
      : {}),
  };
}

async function main(): Promise<void> {
  const shape = await measureShape();
  rmSync(outDir, { recursive: true, force: true });
  let written = 0;
  for (const [eco, share] of SHARE) {
    const count = Math.ceil(total * share);
    mkdirSync(join(outDir, eco), { recursive: true });
    let zip: ZipWriter | undefined;
    for (let i = 0; i < count; i++) {
      if (i % PER_ZIP === 0) {
        zip?.close();
        zip = new ZipWriter(join(outDir, eco, `part-${i / PER_ZIP}.zip`));
      }
      const doc = advisory(eco, written, shape) as { id: string };
      zip!.add(`${doc.id}.json`, Buffer.from(JSON.stringify(doc)));
      written++;
    }
    zip?.close();
    console.log(`${eco}: ${count} advisories`);
  }
  console.log(`wrote ${written} advisories to ${outDir}`);
}

await main();
