// The database's compact index (rank keys, pooled events, memo) against the
// schema's evaluation as evaluate.ts writes it out, on every affected entry of
// the real Go and PyPI snapshots and on hand-made edge cases: the same
// advisories must match the same versions, whichever form answers.
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { VulnerabilityDatabase, normalizePackageName } from '../../../src/vuln/database.js';
import { isAffected } from '../../../src/vuln/evaluate.js';
import { isAdvisoryRejection, parseAdvisory } from '../../../src/vuln/osv.js';
import type { Advisory } from '../../../src/vuln/osv.js';
import { comparatorFor } from '../../../src/vuln/version/index.js';
import { readZipJsonEntries } from '../../../src/vuln/zip-reader.js';
import { osvSnapshotDir } from './reference-tools.js';

/** The ids the reference evaluation finds for each (ecosystem, name, version) asked. */
function referenceIds(advisories: Advisory[], ecosystem: string, name: string, version: string): string[] {
  const ids: string[] = [];
  const compare = comparatorFor(ecosystem);
  for (const advisory of advisories) {
    for (const affected of advisory.affected) {
      if (affected.package.ecosystem !== ecosystem) continue;
      if (normalizePackageName(ecosystem, affected.package.name) !== name) continue;
      if (isAffected(version, affected, compare)) ids.push(advisory.id);
    }
  }
  return ids.sort();
}

function indexIds(db: VulnerabilityDatabase, ecosystem: string, name: string, version: string): string[] {
  return db
    .affected(ecosystem, name, version)
    .map((e) => e.advisory.id)
    .sort();
}

function load(documents: object[]): { db: VulnerabilityDatabase; advisories: Advisory[] } {
  const db = new VulnerabilityDatabase();
  const advisories: Advisory[] = [];
  for (const document of documents) {
    const parsed = parseAdvisory(document);
    if (isAdvisoryRejection(parsed)) throw new Error(parsed.reason);
    advisories.push(parsed);
    db.addDocument(document, 'test');
  }
  return { db, advisories };
}

describe('compact index evaluation', function () {
  this.timeout(120_000);

  it('agrees with the reference evaluation on last_affected, limit, unsorted events and "0"', () => {
    const { db, advisories } = load([
      {
        id: 'T-1',
        affected: [
          {
            package: { ecosystem: 'npm', name: 'left' },
            ranges: [
              {
                type: 'SEMVER',
                events: [{ fixed: '1.4.0' }, { introduced: '1.2.0' }, { introduced: '2.0.0' }],
              },
              { type: 'SEMVER', events: [{ introduced: '0' }, { last_affected: '0.9.0' }] },
            ],
          },
        ],
      },
      {
        id: 'T-2',
        affected: [
          {
            package: { ecosystem: 'npm', name: 'left' },
            ranges: [
              { type: 'SEMVER', events: [{ introduced: '1.0.0' }, { limit: '1.3.0' }, { limit: '*' }] },
            ],
          },
        ],
      },
      {
        id: 'T-3',
        affected: [
          {
            package: { ecosystem: 'Maven', name: 'g:a' },
            // 1.0 and 1.0.0 are one Maven version: ranked as one.
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0' }, { fixed: '1.0.0.1' }] }],
            versions: ['0.5'],
          },
          {
            package: { ecosystem: 'Maven', name: 'g:a' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { last_affected: '1.0.0' }] }],
          },
        ],
      },
      {
        id: 'T-4',
        affected: [
          {
            package: { ecosystem: 'Debian:12', name: 'openssl' },
            ranges: [
              { type: 'GIT', events: [{ introduced: 'abc' }] },
              { type: 'ECOSYSTEM', events: [{ introduced: '1:1.0-1' }, { fixed: '1:1.2~rc1-1' }] },
            ],
          },
        ],
      },
      {
        id: 'T-5',
        affected: [
          {
            package: { ecosystem: 'Unknown', name: 'x' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
            versions: ['7'],
          },
        ],
      },
    ]);
    const asks: [string, string, string[]][] = [
      [
        'npm',
        'left',
        [
          '0',
          '0.1.0',
          '0.9.0',
          '0.9.1',
          '1.0.0',
          '1.1.9',
          '1.2.0',
          '1.3.0',
          '1.3.9',
          '1.4.0',
          '2.0.0',
          '9.0.0',
          'not-semver',
        ],
      ],
      ['Maven', 'g:a', ['0.5', '0.9', '1', '1.0', '1.0.0', '1.0.0.0', '1.0.0.1', '1.0.1', '2']],
      ['Debian:12', 'openssl', ['1.0-1', '1:1.0-1', '1:1.1-3', '1:1.2~rc1-1', '1:1.2~beta-1', '1:1.2-1']],
      ['Unknown', 'x', ['6', '7']],
    ];
    let agreed = 0;
    let matched = 0;
    for (const [ecosystem, name, versions] of asks) {
      for (const version of versions) {
        const expected = referenceIds(advisories, ecosystem, name, version);
        assert.deepEqual(indexIds(db, ecosystem, name, version), expected, `${ecosystem} ${name} ${version}`);
        agreed++;
        if (expected.length > 0) matched++;
      }
    }
    assert.ok(matched >= 15, `only ${matched} of ${agreed} asks matched anything: the cases prove little`);
  });

  it('agrees with the reference evaluation on every package of the real Go and PyPI snapshots', async () => {
    const OSV = osvSnapshotDir();
    const documents: object[] = [];
    for (const ecosystem of ['Go', 'PyPI']) {
      const result = await readZipJsonEntries(
        join(OSV, ecosystem, 'all.zip'),
        (_, text) => documents.push(JSON.parse(text) as object),
        () => {},
      );
      assert.ok(!('kind' in result), JSON.stringify(result));
    }
    const { db, advisories } = load(documents);
    const live = advisories.filter((a) => a.withdrawn === undefined);
    // Per package: its advisories, and the versions worth asking (every event and listed version, and neighbours).
    const byPackage = new Map<
      string,
      { ecosystem: string; name: string; advisories: Advisory[]; versions: Set<string> }
    >();
    for (const advisory of live) {
      for (const affected of advisory.affected) {
        const { ecosystem } = affected.package;
        const name = normalizePackageName(ecosystem, affected.package.name);
        const key = `${ecosystem}\u0000${name}`;
        let pkg = byPackage.get(key);
        if (pkg === undefined)
          byPackage.set(key, (pkg = { ecosystem, name, advisories: [], versions: new Set() }));
        if (!pkg.advisories.includes(advisory)) pkg.advisories.push(advisory);
        for (const range of affected.ranges) {
          for (const event of range.events) {
            const version = Object.values(event)[0] as string;
            pkg.versions.add(version);
            pkg.versions.add(`${version}.1`);
            pkg.versions.add(`${version}-rc1`);
          }
        }
        for (const version of affected.versions.slice(0, 20)) pkg.versions.add(version);
      }
    }
    let asked = 0;
    let affectedAnswers = 0;
    for (const pkg of byPackage.values()) {
      for (const version of pkg.versions) {
        const expected = referenceIds(pkg.advisories, pkg.ecosystem, pkg.name, version);
        assert.deepEqual(
          indexIds(db, pkg.ecosystem, pkg.name, version),
          expected,
          `${pkg.ecosystem} ${pkg.name} ${version}`,
        );
        asked++;
        if (expected.length > 0) affectedAnswers++;
      }
    }
    console.log(
      `      ${byPackage.size} packages, ${asked} versions asked, ${affectedAnswers} affected: all agree`,
    );
    assert.ok(asked > 30_000 && affectedAnswers > 10_000, `${asked} asked, ${affectedAnswers} affected`);
  });

  it('forgets remembered answers when an advisory is added', () => {
    const { db } = load([
      {
        id: 'A-1',
        affected: [
          {
            package: { ecosystem: 'npm', name: 'p' },
            ranges: [{ type: 'SEMVER', events: [{ introduced: '1.0.0' }, { fixed: '1.1.0' }] }],
          },
        ],
      },
    ]);
    assert.deepEqual(indexIds(db, 'npm', 'p', '2.0.0'), []);
    db.addDocument(
      {
        id: 'A-2',
        affected: [
          {
            package: { ecosystem: 'npm', name: 'p' },
            ranges: [{ type: 'SEMVER', events: [{ introduced: '2.0.0' }] }],
          },
        ],
      },
      'test',
    );
    assert.deepEqual(indexIds(db, 'npm', 'p', '2.0.0'), ['A-2']);
    assert.deepEqual(indexIds(db, 'npm', 'p', '1.0.5'), ['A-1']);
  });
});
