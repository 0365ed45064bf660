// The version orders as specifications: the rules each ecosystem documents,
// one per test (the conformance suite proves them at scale against the
// reference tools).
import assert from 'node:assert/strict';

import {
  comparatorFor,
  compareApkVersions,
  compareDebianVersions,
  compareMavenVersions,
  comparePythonVersions,
  compareRpmVersions,
  compareSemverVersions,
  goToolchainToSemver,
} from '../../../src/vuln/version/index.js';
import { isPep440Version } from '../../../src/vuln/version/pep440.js';

const lt = (compare: (a: string, b: string) => number, a: string, b: string): void => {
  assert.ok(compare(a, b) < 0, `${a} < ${b}`);
  assert.ok(compare(b, a) > 0, `${b} > ${a}`);
};

describe('dpkg version order', () => {
  it('treats ~ as lower than the end of the string', () => lt(compareDebianVersions, '1.0~rc1', '1.0'));
  it('lets the epoch outrank everything after it', () => lt(compareDebianVersions, '9.9-9', '1:0.1-1'));
  it('compares digit runs numerically and letters before other characters', () => {
    lt(compareDebianVersions, '1.9', '1.10');
    lt(compareDebianVersions, '1.0a', '1.0+');
  });
  it('splits the revision at the last hyphen', () => lt(compareDebianVersions, '1.0-2-1', '1.0-2-2'));
  it('treats a missing revision like revision 0', () =>
    assert.equal(compareDebianVersions('1.0', '1.0-0'), 0));
});

describe('rpm version order', () => {
  it('sorts ~ before the release and ^ after it but before any further segment', () => {
    lt(compareRpmVersions, '1.0~rc1', '1.0');
    lt(compareRpmVersions, '1.0', '1.0^git1');
    lt(compareRpmVersions, '1.0^git1', '1.0.1');
  });
  it('treats a numeric segment as newer than an alphabetic one', () => lt(compareRpmVersions, '1.a', '1.1'));
  it('ignores leading zeros and separators', () => assert.equal(compareRpmVersions('1.01', '1_1'), 0));
  it('compares epoch, then version, then release', () => {
    lt(compareRpmVersions, '2.0-1', '1:1.0-1');
    lt(compareRpmVersions, '1.0-1.el9', '1.0-2.el9');
  });
});

describe('apk version order', () => {
  it('orders pre-release suffixes below the release and post-release ones above', () => {
    lt(compareApkVersions, '1.0_alpha1', '1.0_beta1');
    lt(compareApkVersions, '1.1_rc1', '1.1');
    lt(compareApkVersions, '1.1', '1.1_p1');
  });
  it('orders by package revision -rN last', () => lt(compareApkVersions, '1.2.3-r9', '1.2.3-r10'));
  it("keeps version.c's quirk after a zero component: 1.0_rc1 sorts above 1.0", () => {
    // The leading-zero token leaves the cursor on a digit token, so the suffix is read as one more component.
    assert.ok(compareApkVersions('1.0_rc1', '1.0') > 0);
  });
  it('compares 64-bit suffix numbers exactly', () =>
    lt(compareApkVersions, '1.0_pre20191002222144', '1.0_pre20210530193627'));
});

describe('PEP 440 version order', () => {
  it('orders dev < pre < release < post', () => {
    lt(comparePythonVersions, '1.0.dev1', '1.0a1');
    lt(comparePythonVersions, '1.0a1', '1.0');
    lt(comparePythonVersions, '1.0', '1.0.post1');
  });
  it('normalises spellings: 1.0-1 is 1.0.post1, 1.0.0 is 1.0', () => {
    assert.equal(comparePythonVersions('1.0-1', '1.0.post1'), 0);
    assert.equal(comparePythonVersions('1.0.0', '1.0'), 0);
  });
  it('lets an epoch outrank the release', () => lt(comparePythonVersions, '2.0', '1!1.0'));
  it('sorts legacy (non-PEP 440) versions before every PEP 440 version, and among themselves by the setuptools key', () => {
    assert.equal(isPep440Version('2004d'), false);
    lt(comparePythonVersions, '2004d', '0.0.1');
    assert.equal(isPep440Version('foo-1'), false);
    lt(comparePythonVersions, 'foo-1', 'foo-2');
  });
});

describe('Maven version order', () => {
  it('orders qualifiers alpha < beta < milestone < rc < snapshot < release < sp', () => {
    const order = ['1.0-alpha1', '1.0-beta1', '1.0-m1', '1.0-rc1', '1.0-SNAPSHOT', '1.0', '1.0-sp1'];
    for (let i = 1; i < order.length; i++) lt(compareMavenVersions, order[i - 1]!, order[i]!);
  });
  it('treats ga, final and release as the release, and cr as rc', () => {
    assert.equal(compareMavenVersions('1.0.Final', '1.0'), 0);
    assert.equal(compareMavenVersions('1.0-ga', '1.0.RELEASE'), 0);
    assert.equal(compareMavenVersions('1.0-cr1', '1.0-rc1'), 0);
  });
  it('drops trailing zeros and sorts unknown qualifiers after the release', () => {
    assert.equal(compareMavenVersions('1.0.0', '1'), 0);
    lt(compareMavenVersions, '1.0', '1.0-jre');
  });
});

describe('SemVer version order', () => {
  it('orders pre-releases before the release and accepts a v prefix', () => {
    lt(compareSemverVersions, 'v1.2.3-rc.1', '1.2.3');
  });
  it('turns Go toolchain versions into SemVer for the stdlib package', () => {
    assert.equal(goToolchainToSemver('go1.22rc1'), '1.22.0-rc.1');
    assert.equal(goToolchainToSemver('1.21'), '1.21.0');
    lt(compareSemverVersions, '1.16.0-0', '1.16');
  });
  it('has an order for each supported OSV ecosystem and none for unknown ones', () => {
    for (const e of [
      'Debian:12',
      'Ubuntu:22.04:LTS',
      'Alpine:v3.20',
      'npm',
      'PyPI',
      'Go',
      'Maven',
      'crates.io',
    ]) {
      assert.ok(comparatorFor(e), e);
    }
    assert.equal(comparatorFor('Hackage'), undefined);
  });
});
