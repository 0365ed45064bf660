// Benchmark: `shipshape scan` of the Debian test image end to end (a fresh
// process reading the image from a registry on loopback, analysing it, loading a
// Debian OSV database, matching, printing JSON), timed over several runs; and,
// when osv-scanner has been built into the tool cache, osv-scanner in offline
// mode on the same image's CycloneDX SBOM (from `shipshape sbom`) and the same
// zip, in the same run, with the ratio. The database is generated: advisories
// for every source package of the image (some affecting the installed version,
// some fixed before it, some listing other versions) and filler packages up to
// --advisories, as `Debian/all.zip`. Not a timed test.
//
// Usage: npx node dist/bench/vuln-scan.js [--runs 3] [--advisories 40000] [--registry host:port]
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import type { ImageInventory } from '../src/sbom/types.js';
import { startStandaloneRegistry } from '../test/e2e/harness.js';
import { debianImage } from '../test/support/images/index.js';
import { ZipWriter } from './vuln-zip.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    advisories: { type: 'string', default: '40000' },
    registry: { type: 'string' },
  },
});
const runs = Math.max(1, Number(values.runs));
// The zip writer has no zip64: at most 65,535 entries.
const total = Math.min(60_000, Math.max(100, Number(values.advisories)));
const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(command, args, { env, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** osv-scanner from the tool cache: bin/ when linked there, else the newest built tools/osv-scanner-* directory. */
function osvScannerPath(): string | undefined {
  const cache = process.env.SHIPSHAPE_CACHE ?? join(homedir(), '.cache', 'shipshape');
  const linked = join(cache, 'bin', 'osv-scanner');
  if (existsSync(linked)) return linked;
  const tools = join(cache, 'tools');
  if (!existsSync(tools)) return undefined;
  for (const dir of readdirSync(tools).filter((d) => d.startsWith('osv-scanner-'))) {
    const path = join(tools, dir, 'osv-scanner');
    if (existsSync(join(tools, dir, '.complete')) && existsSync(path)) return path;
  }
  return undefined;
}

/** A Debian database shaped around the image: its source packages get real hits and misses. */
function writeDatabase(path: string, inventory: ImageInventory, release: string): { affecting: number } {
  const writer = new ZipWriter(path);
  const sources = new Map<string, string>();
  for (const p of inventory.packages) {
    if (p.ecosystem !== 'deb') continue;
    sources.set(p.sourceName ?? p.name, p.sourceVersion ?? p.version);
  }
  const ecosystem = `Debian:${release}`;
  let n = 0;
  let affecting = 0;
  const add = (name: string, affected: object): void => {
    const id = `DEBIAN-CVE-2099-${String(n++).padStart(6, '0')}`;
    writer.add(
      `${id}.json`,
      Buffer.from(
        JSON.stringify({
          schema_version: '1.7.0',
          id,
          modified: '2026-01-01T00:00:00Z',
          aliases: [id.replace('DEBIAN-', '')],
          summary: `generated advisory ${n}`,
          severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
          affected: [{ package: { ecosystem, name }, ...affected }],
        }),
      ),
    );
  };
  for (const [name, version] of sources) {
    if (n + 3 > total) break;
    // '+' sorts after the end of a version in dpkg's order: this fix is newer than the installed version.
    add(name, {
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: `${version}+bench1` }] }],
    });
    affecting++;
    add(name, { ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '0~' }] }] });
    add(name, { versions: [`${version}~older1`, `${version}~older2`] });
  }
  for (let i = 0; n < total; i++) {
    add(`bench-filler-${i % 5000}`, {
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0-1' }, { fixed: `1.${i % 50}-1` }] }],
    });
  }
  writer.close();
  return { affecting };
}

async function main(): Promise<void> {
  const registry = values.registry === undefined ? await startStandaloneRegistry() : undefined;
  const host = values.registry ?? registry!.host;
  const work = mkdtempSync(join(tmpdir(), 'shipshape-vuln-scan-bench-'));
  try {
    const image = await debianImage(host, { repository: 'bench/debian' });
    const flags = ['--allow-registry', host, '--plain-http', host];
    const inventoryRun = await run(process.execPath, [
      MAIN,
      'sbom',
      image.reference,
      '--format',
      'json',
      ...flags,
    ]);
    if (inventoryRun.code !== 0) throw new Error(`shipshape sbom failed: ${inventoryRun.stderr}`);
    const inventory = JSON.parse(inventoryRun.stdout) as ImageInventory;
    const release = /^(\d+)/.exec(inventory.os?.versionId ?? '')?.[1];
    if (release === undefined)
      throw new Error(`the test image has no numbered Debian release (${inventory.os?.versionId})`);
    const dbRoot = join(work, 'db');
    for (const layout of ['osv-scanner', 'osv-scalibr'])
      mkdirSync(join(dbRoot, layout, 'Debian'), { recursive: true });
    const zip = join(dbRoot, 'osv-scanner', 'Debian', 'all.zip');
    const { affecting } = writeDatabase(zip, inventory, release);
    symlinkSync(zip, join(dbRoot, 'osv-scalibr', 'Debian', 'all.zip'));
    console.log(
      `image ${image.reference}: ${inventory.packages.length} packages (Debian ${release}); database ${total} advisories, ${affecting} affecting its source packages`,
    );

    const cdx = await run(process.execPath, [
      MAIN,
      'sbom',
      image.reference,
      '--format',
      'cyclonedx',
      ...flags,
    ]);
    if (cdx.code !== 0) throw new Error(`shipshape sbom --format cyclonedx failed: ${cdx.stderr}`);
    const sbomPath = join(work, 'bom.cdx.json');
    writeFileSync(sbomPath, cdx.stdout);

    const shipshape: number[] = [];
    const sbomOnly: number[] = [];
    let findings = 0;
    for (let i = 0; i < runs; i++) {
      const scan = await run(process.execPath, [
        MAIN,
        'scan',
        image.reference,
        '--db',
        zip,
        '--format',
        'json',
        ...flags,
      ]);
      if (scan.code !== 0) throw new Error(`shipshape scan exited ${scan.code}: ${scan.stderr}`);
      findings = (JSON.parse(scan.stdout) as { findings: unknown[] }).findings.length;
      shipshape.push(scan.ms);
      sbomOnly.push(
        (await run(process.execPath, [MAIN, 'sbom', image.reference, '--format', 'json', ...flags])).ms,
      );
    }
    console.log(
      `shipshape scan (registry → inventory → load → match → JSON): median ${Math.round(median(shipshape))} ms over ${runs} runs [${shipshape.map(Math.round).join(', ')}], ${findings} findings`,
    );
    console.log(
      `  of which shipshape sbom alone (same image, same process start): median ${Math.round(median(sbomOnly))} ms`,
    );

    const osv = osvScannerPath();
    if (osv === undefined) {
      console.log(
        'osv-scanner was not built (hack/build-tools.sh builds it from hack/tools/osv-scanner): no ratio',
      );
      return;
    }
    const env = { ...process.env, OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY: dbRoot };
    const osvTimes: number[] = [];
    let osvFindings = -1;
    for (let i = 0; i < runs; i++) {
      const scan = await run(osv, ['scan', 'source', '--offline', '-L', sbomPath, '--format', 'json'], env);
      // osv-scanner exits 1 when it found vulnerabilities.
      if (scan.code !== 0 && scan.code !== 1)
        throw new Error(`osv-scanner exited ${scan.code}: ${scan.stderr.slice(0, 2000)}`);
      const parsed = JSON.parse(scan.stdout) as {
        results?: { packages?: { groups?: unknown[] }[] }[];
      };
      osvFindings = (parsed.results ?? []).reduce(
        (sum, r) => sum + (r.packages ?? []).reduce((s, p) => s + (p.groups ?? []).length, 0),
        0,
      );
      osvTimes.push(scan.ms);
    }
    console.log(
      `osv-scanner --offline on the CycloneDX SBOM and the same zip: median ${Math.round(median(osvTimes))} ms over ${runs} runs [${osvTimes.map(Math.round).join(', ')}], ${osvFindings} findings (groups)`,
    );
    console.log(
      `ratio shipshape scan / osv-scanner: ${(median(shipshape) / median(osvTimes)).toFixed(2)} (shipshape also reads and analyses the image; osv-scanner starts from the SBOM)`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
    await registry?.stop();
  }
}

await main();
