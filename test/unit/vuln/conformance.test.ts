// Conformance of the hand-written and wrapped version orders with each
// ecosystem's own reference implementation, on real version strings. Every
// suite prints how many pairs it compared and fails on any disagreement; a
// suite skips (with the reason) only when its reference tool is not installed
// here — hack/install-system-deps.sh installs all of them for CI.
import assert from 'node:assert/strict';
import { join } from 'node:path';

import {
  compareApkVersions,
  compareDebianVersions,
  compareMavenVersions,
  comparePythonVersions,
  compareRpmVersions,
} from '../../../src/vuln/version/index.js';
import { isPep440Version } from '../../../src/vuln/version/pep440.js';
import {
  debianVersions,
  dpkgBatchComparator,
  dpkgCli,
  mavenCompare,
  osvListedVersions,
  osvSnapshotDir,
  packagingCompare,
  randomPairs,
  readFixture,
  rpmVercmp,
  seededRandom,
} from './reference-tools.js';
import type { Pair } from './reference-tools.js';

function sign(n: number): string {
  return String(Math.sign(n) || 0);
}

function disagreements(pairs: Pair[], expected: string[], ours: (a: string, b: string) => number): string[] {
  assert.equal(expected.length, pairs.length, 'the reference tool answered every pair');
  const wrong: string[] = [];
  pairs.forEach(([a, b], i) => {
    if (expected[i] === 'invalid') return;
    const got = sign(ours(a, b));
    if (got !== expected[i]) wrong.push(`${a} vs ${b}: reference ${expected[i]}, ours ${got}`);
  });
  return wrong;
}

function report(name: string, compared: number, wrong: string[]): void {
  console.log(`      ${name}: ${compared} pairs compared, ${wrong.length} disagreements`);
  assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} disagreements with ${name}`);
}

/** Pairs that stress an order: random ones, random ones among "interesting" strings, and lexical neighbours. */
function stressPairs(
  pool: string[],
  interesting: (v: string) => boolean,
  count: number,
  seed: number,
): Pair[] {
  const random = seededRandom(seed);
  const special = pool.filter(interesting);
  const sorted = [...pool].sort();
  const neighbours: Pair[] = [];
  for (
    let i = 1;
    i < sorted.length && neighbours.length < count / 4;
    i += Math.max(1, Math.floor(sorted.length / (count / 4)))
  ) {
    neighbours.push([sorted[i - 1]!, sorted[i]!]);
  }
  return [
    ...randomPairs(pool, Math.floor(count / 4), random),
    ...randomPairs(special, Math.floor(count / 2), random),
    ...neighbours,
  ];
}

describe('version order conformance with the reference implementations', function () {
  // About 12 s on an idle machine; the margin is for a machine shared with builds.
  this.timeout(180_000);

  it('dpkg: agrees with libdpkg (dpkg --compare-versions) on 20,000+ pairs of real Debian versions', function () {
    const versions = debianVersions();
    const dpkg = dpkgBatchComparator();
    if (versions === undefined || versions.length < 1000) {
      console.log(
        '      skipped: no Debian package lists in /var/lib/apt/lists (apt-get update fetches them)',
      );
      return this.skip();
    }
    if (dpkg === undefined) {
      console.log('      skipped: libdpkg-dev/gcc missing (hack/install-system-deps.sh installs them)');
      return this.skip();
    }
    const pairs = stressPairs(versions, (v) => /[:~+]/.test(v), 24_000, 1);
    // Same upstream with different revisions, epochs and tildes: the cases that decide fixed/affected.
    const random = seededRandom(7);
    for (const v of versions.filter((x) => x.includes('~')).slice(0, 2000)) {
      pairs.push([v, v.replace(/~.*$/, '')], [v, `${v}+b1`]);
      if (random() < 0.5) pairs.push([`1:${v}`, v]);
    }
    const withEpoch = pairs.filter(([a, b]) => a.includes(':') || b.includes(':')).length;
    const expected = dpkg(pairs);
    console.log(`      dpkg: ${versions.length} distinct real versions, ${withEpoch} pairs with an epoch`);
    assert.ok(pairs.length >= 20_000);
    report('libdpkg', pairs.length, disagreements(pairs, expected, compareDebianVersions));
    // The batch tool is the CLI's own function; prove it on a sample through the CLI itself.
    const sample = pairs.filter((_, i) => i % 300 === 0);
    const cliWrong: string[] = [];
    for (const [a, b] of sample) {
      const cli = dpkgCli(a, b);
      if (cli !== undefined && sign(compareDebianVersions(a, b)) !== String(cli))
        cliWrong.push(`${a} vs ${b}`);
    }
    report('dpkg --compare-versions (sample)', sample.length, cliWrong);
  });

  it("rpm: agrees with rpm's rpm.vercmp on 2,000+ pairs including ~ and ^", function () {
    const base = (debianVersions() ?? []).map((v) => v.replace(/^\d+:/, '')).slice(0, 20_000);
    const random = seededRandom(3);
    const pieces = [
      '1',
      '1.0',
      '2.10',
      '0.9',
      '~rc1',
      '^git1',
      '^',
      '~',
      '.a',
      'b',
      '_1',
      '+x',
      '-1',
      '-2.el9',
      '01',
      '.0',
    ];
    const synthetic: string[] = [];
    for (let i = 0; i < 3000; i++) {
      let v = pieces[Math.floor(random() * 4)]!;
      const n = 1 + Math.floor(random() * 4);
      for (let k = 0; k < n; k++) v += pieces[Math.floor(random() * pieces.length)]!;
      if (random() < 0.2) v = `${Math.floor(random() * 3)}:${v}`;
      synthetic.push(v);
    }
    const pool = [...synthetic, ...base.filter((_, i) => i % 10 === 0)];
    const pairs = stressPairs(pool, (v) => /[~^:]/.test(v), 6000, 5);
    const expected = rpmVercmp(pairs);
    if (expected === undefined) {
      console.log('      skipped: rpm missing (hack/install-system-deps.sh installs it)');
      return this.skip();
    }
    assert.ok(pairs.length >= 2000);
    report('rpm.vercmp', pairs.length, disagreements(pairs, expected, compareRpmVersions));
  });

  it("apk: agrees with apk-tools' own test/version.data vectors", function () {
    const wrong: string[] = [];
    let compared = 0;
    for (const line of readFixture('apk-version.data').split('\n')) {
      const m = /^(\S+)\s+([<>=])\s+(\S+)/.exec(line);
      if (m === null) continue;
      const [, a, op, b] = m as unknown as [string, string, string, string];
      const want = op === '<' ? '-1' : op === '>' ? '1' : '0';
      compared++;
      if (sign(compareApkVersions(a, b)) !== want)
        wrong.push(`${line}: ours ${sign(compareApkVersions(a, b))}`);
      if (sign(compareApkVersions(b, a)) !== sign(-Number(want))) wrong.push(`${line} (reversed)`);
    }
    assert.ok(compared >= 700, `read ${compared} vectors`);
    report('apk-tools version.data', compared, wrong);
  });

  it("PEP 440: agrees with Python's packaging on 5,000+ pairs of versions from PyPI advisories", function () {
    const versions = osvListedVersions(join(osvSnapshotDir(), 'PyPI/all.zip'));
    if (versions === undefined) {
      console.log('      skipped: PyPI OSV snapshot or python3 missing');
      return this.skip();
    }
    const pairs = stressPairs(versions, (v) => /[a-z!+]/i.test(v), 12_000, 11);
    const expected = packagingCompare(pairs);
    if (expected === undefined) {
      console.log('      skipped: python3 with packaging missing (hack/install-system-deps.sh installs it)');
      return this.skip();
    }
    const validity: string[] = [];
    pairs.forEach(([a, b], i) => {
      const bothValid = isPep440Version(a) && isPep440Version(b);
      if (bothValid !== (expected[i] !== 'invalid'))
        validity.push(`${a} / ${b}: packaging says ${expected[i]}`);
    });
    const valid = expected.filter((e) => e !== 'invalid').length;
    console.log(
      `      PEP 440: ${versions.length} distinct versions, ${pairs.length - valid} pairs with a legacy version`,
    );
    assert.ok(valid >= 5000);
    report('packaging (validity)', pairs.length, validity);
    report('packaging.version', valid, disagreements(pairs, expected, comparePythonVersions));
  });

  it("Maven: agrees with maven-artifact's ComparableVersion on 1,000+ pairs", function () {
    const real = readFixture('maven-versions.txt')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    const random = seededRandom(13);
    const qualifiers = [
      'alpha',
      'beta',
      'milestone',
      'rc',
      'cr',
      'snapshot',
      'SNAPSHOT',
      'ga',
      'final',
      'Final',
      'release',
      'RELEASE',
      'sp',
      'a',
      'b',
      'm',
      'jre',
      'android',
      'x',
      '',
    ];
    const seps = ['.', '-', ''];
    const synthetic: string[] = [];
    for (let i = 0; i < 3000; i++) {
      let v = String(Math.floor(random() * 3));
      const n = 1 + Math.floor(random() * 4);
      for (let k = 0; k < n; k++) {
        v += seps[Math.floor(random() * seps.length)]!;
        v +=
          random() < 0.5
            ? String(Math.floor(random() * 12)).padStart(random() < 0.1 ? 2 : 1, '0')
            : qualifiers[Math.floor(random() * qualifiers.length)]!;
      }
      synthetic.push(v);
    }
    const pool = [...real, ...synthetic];
    const pairs = stressPairs(pool, (v) => /[a-z]/i.test(v), 8000, 17);
    const expected = mavenCompare(pairs);
    if (expected === undefined) {
      console.log('      skipped: java or maven-artifact missing (hack/install-system-deps.sh fetches it)');
      return this.skip();
    }
    assert.ok(pairs.length >= 1000);
    report('ComparableVersion', pairs.length, disagreements(pairs, expected, compareMavenVersions));
  });
});
