// Runs each ecosystem's own reference version comparator as one batch process
// (libdpkg, rpm's Lua, Python's packaging, maven-artifact's ComparableVersion),
// and gathers real version strings to feed them. Each helper returns undefined
// when its tool is missing, so the caller can skip with a message.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const REFERENCE_DIR = join(REPO_ROOT, 'test/fixtures/vuln/reference');

export type Pair = [string, string];

/** The real OSV snapshots: $SHIPSHAPE_OSV_DIR, else shared/osv beside the repository (as CI lays it out). */
export function osvSnapshotDir(): string {
  const candidates = [process.env.SHIPSHAPE_OSV_DIR, join(REPO_ROOT, '../shared/osv'), '/work/shared/osv'];
  return (
    candidates.find((dir) => dir !== undefined && existsSync(join(dir, 'PyPI/all.zip'))) ?? candidates[1]!
  );
}

function run(command: string, args: string[], input: string): string | undefined {
  const result = spawnSync(command, args, { input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error !== undefined || result.status !== 0) return undefined;
  return result.stdout;
}

function lines(output: string): string[] {
  return output.split('\n').filter((line) => line !== '');
}

/** A deterministic generator, so a failing pair is the same pair on the next run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

export function randomPairs(pool: string[], count: number, random: () => number): Pair[] {
  const pairs: Pair[] = [];
  for (let i = 0; i < count && pool.length > 0; i++) {
    pairs.push([pool[Math.floor(random() * pool.length)]!, pool[Math.floor(random() * pool.length)]!]);
  }
  return pairs;
}

let debianVersionCache: string[] | undefined;

/** Version strings (binary and source) from the machine's Debian package lists (read once per run). */
export function debianVersions(): string[] | undefined {
  debianVersionCache ??= readDebianVersions();
  return debianVersionCache;
}

function readDebianVersions(): string[] | undefined {
  const dir = '/var/lib/apt/lists';
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir).filter((name) => /_Packages(\.\w+)?$/.test(name));
  if (files.length === 0) return undefined;
  const versions = new Set<string>();
  for (const file of files) {
    let text: string;
    try {
      text = execFileSync('/usr/lib/apt/apt-helper', ['cat-file', join(dir, file)], {
        encoding: 'utf8',
        maxBuffer: 1024 * 1024 * 1024,
      });
    } catch {
      continue;
    }
    for (const m of text.matchAll(/^(?:Version: (\S+)|Source: \S+ \((\S+)\))$/gm))
      versions.add(m[1] ?? m[2]!);
  }
  return [...versions];
}

/** Compiles the libdpkg batch comparator (the code behind `dpkg --compare-versions`). */
export function dpkgBatchComparator(): ((pairs: Pair[]) => string[]) | undefined {
  const flags = run('pkg-config', ['--cflags', '--libs', 'libdpkg'], '');
  if (flags === undefined) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'dpkg-compare-'));
  const binary = join(dir, 'dpkg-compare');
  const built = spawnSync(
    'gcc',
    ['-O1', '-o', binary, join(REFERENCE_DIR, 'dpkg-compare.c'), ...flags.trim().split(/\s+/)],
    { encoding: 'utf8' },
  );
  if (built.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return (pairs) => {
    const out = run(binary, [], pairs.map(([a, b]) => `${a} ${b}\n`).join(''));
    if (out === undefined) throw new Error('libdpkg comparator failed');
    return lines(out);
  };
}

/** `dpkg --compare-versions` itself, one process per pair (for a cross-check of the batch tool). */
export function dpkgCli(a: string, b: string): number | undefined {
  for (const [op, sign] of [
    ['lt', -1],
    ['eq', 0],
    ['gt', 1],
  ] as const) {
    const r = spawnSync('dpkg', ['--compare-versions', a, op, b], { stdio: 'ignore' });
    if (r.error !== undefined) return undefined;
    if (r.status === 0) return sign;
  }
  return undefined;
}

/** rpm's own `rpm.vercmp` over all pairs in one `rpm --eval` process. */
export function rpmVercmp(pairs: Pair[]): string[] | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'rpm-vercmp-'));
  try {
    const file = join(dir, 'pairs');
    writeFileSync(file, pairs.map(([a, b]) => `${a}\t${b}\n`).join(''));
    const lua = `%{lua: for line in io.lines("${file}") do local a, b = line:match("^([^\\t]*)\\t(.*)$"); print(rpm.vercmp(a, b) .. "\\n") end}`;
    const out = run('rpm', ['--eval', lua], '');
    return out === undefined ? undefined : lines(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Python's packaging.version over all pairs in one process. */
export function packagingCompare(pairs: Pair[]): string[] | undefined {
  const input = pairs.map(([a, b]) => `${a}\t${b}\n`).join('');
  for (const python of ['python3', '/usr/bin/python3']) {
    const out = run(python, [join(REFERENCE_DIR, 'pep440_compare.py')], input);
    if (out !== undefined) return lines(out);
  }
  return undefined;
}

/** maven-artifact's ComparableVersion over all pairs in one JVM. */
export function mavenCompare(pairs: Pair[]): string[] | undefined {
  const cache = process.env.SHIPSHAPE_CACHE ?? join(homedir(), '.cache/shipshape');
  const jar = join(cache, 'm2/org/apache/maven/maven-artifact/3.9.9/maven-artifact-3.9.9.jar');
  if (!existsSync(jar)) return undefined;
  const input = pairs.map(([a, b]) => `${a}\t${b}\n`).join('');
  const out = run('java', ['-cp', jar, join(REFERENCE_DIR, 'MavenCompare.java')], input);
  return out === undefined ? undefined : lines(out);
}

/** Every version listed in `affected[].versions` of the advisories in an OSV zip. */
export function osvListedVersions(zipPath: string): string[] | undefined {
  if (!existsSync(zipPath)) return undefined;
  const out = run('python3', ['-c', LIST_VERSIONS, zipPath], '');
  return out === undefined ? undefined : lines(out);
}

const LIST_VERSIONS = `
import json, sys, zipfile
seen = set()
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in z.namelist():
        for a in json.loads(z.read(name)).get("affected", []):
            for v in a.get("versions", []):
                if "\\t" not in v and "\\n" not in v: seen.add(v)
print("\\n".join(sorted(seen)))
`;

export function readFixture(name: string): string {
  return readFileSync(join(REPO_ROOT, 'test/fixtures/vuln', name), 'utf8');
}
