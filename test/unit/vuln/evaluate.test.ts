// The OSV evaluation rules, one per test, on hand-made affected entries.
import assert from 'node:assert/strict';

import { isAffected, rangeIncludes } from '../../../src/vuln/evaluate.js';
import type { OsvAffected, OsvEvent, OsvRange } from '../../../src/vuln/osv.js';
import { compareDebianVersions, compareSemverVersions } from '../../../src/vuln/version/index.js';

const range = (type: OsvRange['type'], ...events: OsvEvent[]): OsvRange => ({ type, events });
const entry = (ranges: OsvRange[], versions: string[] = []): OsvAffected => ({
  package: { ecosystem: 'npm', name: 'x' },
  ranges,
  versions,
  severity: [],
});

describe('OSV range evaluation', () => {
  it('affects from introduced (inclusive) up to fixed (exclusive)', () => {
    const r = range('SEMVER', { introduced: '1.2.0' }, { fixed: '1.4.0' });
    assert.equal(rangeIncludes('1.1.9', r, compareSemverVersions), false);
    assert.equal(rangeIncludes('1.2.0', r, compareSemverVersions), true);
    assert.equal(rangeIncludes('1.3.9', r, compareSemverVersions), true);
    assert.equal(rangeIncludes('1.4.0', r, compareSemverVersions), false);
  });

  it('treats introduced "0" as the beginning of time', () => {
    const r = range('SEMVER', { introduced: '0' }, { fixed: '2.0.0' });
    assert.equal(rangeIncludes('0.0.1', r, compareSemverVersions), true);
    assert.equal(rangeIncludes('2.0.0', r, compareSemverVersions), false);
  });

  it('keeps last_affected itself affected and clears above it', () => {
    const r = range('SEMVER', { introduced: '0' }, { last_affected: '1.5.0' });
    assert.equal(rangeIncludes('1.5.0', r, compareSemverVersions), true);
    assert.equal(rangeIncludes('1.5.1', r, compareSemverVersions), false);
  });

  it('gives the same answer as the event walk when events share a version', () => {
    const single = range('SEMVER', { introduced: '1.0.0' }, { last_affected: '1.0.0' });
    assert.equal(rangeIncludes('1.0.0', single, compareSemverVersions), true);
    assert.equal(rangeIncludes('1.0.1', single, compareSemverVersions), false);
    const many = range(
      'SEMVER',
      { introduced: '0' },
      { fixed: '1.0.0' },
      { introduced: '1.0.0' },
      { fixed: '1.2.0' },
    );
    assert.equal(
      rangeIncludes('1.0.0', many, compareSemverVersions),
      true,
      'the later event at 1.0.0 wins, as in the walk',
    );
    assert.equal(rangeIncludes('1.2.0', many, compareSemverVersions), false);
  });

  it('stops at limit even while still introduced, and "*" means no limit', () => {
    const limited = range('SEMVER', { introduced: '1.0.0' }, { limit: '1.3.0' });
    assert.equal(rangeIncludes('1.2.0', limited, compareSemverVersions), true);
    assert.equal(rangeIncludes('1.3.0', limited, compareSemverVersions), false);
    const unlimited = range('SEMVER', { introduced: '1.0.0' }, { limit: '*' });
    assert.equal(rangeIncludes('9.0.0', unlimited, compareSemverVersions), true);
  });

  it('sorts events by version before walking them, so several introduced/fixed pairs work in any order', () => {
    const r = range(
      'SEMVER',
      { fixed: '2.1.0' },
      { introduced: '2.0.0' },
      { fixed: '1.1.0' },
      { introduced: '1.0.0' },
    );
    assert.equal(rangeIncludes('1.0.5', r, compareSemverVersions), true);
    assert.equal(rangeIncludes('1.5.0', r, compareSemverVersions), false);
    assert.equal(rangeIncludes('2.0.1', r, compareSemverVersions), true);
    assert.equal(rangeIncludes('2.1.0', r, compareSemverVersions), false);
  });

  it('orders ECOSYSTEM ranges with the ecosystem comparator (Debian ~ sorts before the release)', () => {
    const r = range('ECOSYSTEM', { introduced: '0' }, { fixed: '1.2-1' });
    assert.equal(rangeIncludes('1.2~rc1-1', r, compareDebianVersions), true);
    assert.equal(rangeIncludes('1.2-1', r, compareDebianVersions), false);
    assert.equal(
      rangeIncludes('1:1.0-1', r, compareDebianVersions),
      false,
      'an epoch outranks the upstream version',
    );
  });

  it('orders SEMVER ranges by SemVer even in an ecosystem with its own order', () => {
    const r = range('SEMVER', { introduced: '0' }, { fixed: '1.10.0' });
    assert.equal(rangeIncludes('1.9.0', r, compareDebianVersions), true);
    assert.equal(rangeIncludes('1.10.0-rc.1', r, compareDebianVersions), true);
  });
});

describe('OSV affected evaluation', () => {
  it('matches a version listed in versions[] without any range', () => {
    assert.equal(isAffected('1.0.3', entry([], ['1.0.3']), compareSemverVersions), true);
    assert.equal(isAffected('1.0.4', entry([], ['1.0.3']), compareSemverVersions), false);
  });

  it('skips a GIT range and still evaluates the ranges after it', () => {
    const e = entry([
      range('GIT', { introduced: 'abc' }, { fixed: 'def' }),
      range('ECOSYSTEM', { introduced: '0' }, { fixed: '2.0.0' }),
    ]);
    assert.equal(isAffected('1.0.0', e, compareSemverVersions), true);
    assert.equal(isAffected('2.0.0', e, compareSemverVersions), false);
  });

  it('without a version order only versions[] can match', () => {
    const e = entry([range('ECOSYSTEM', { introduced: '0' })], ['7']);
    assert.equal(isAffected('6', e, undefined), false);
    assert.equal(isAffected('7', e, undefined), true);
  });
});
