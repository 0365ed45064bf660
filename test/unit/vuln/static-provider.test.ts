// Specification of the local-path database provider and the OpenVEX reader: a directory is
// loaded once, reloaded only when its files changed (subscribers told), a reload that fails keeps
// the database in use and turns the status Stale; OpenVEX documents (v0.2.0 and the older
// string shapes) become statements in time order, and broken ones are errors, never throws.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { PathDatabaseProvider } from '../../../src/vuln/static-provider.js';
import { parseOpenVex } from '../../../src/vuln/vex.js';

const advisory = (id: string) =>
  JSON.stringify({
    schema_version: '1.7.0',
    id,
    modified: '2026-01-01T00:00:00Z',
    affected: [
      {
        package: { ecosystem: 'Debian:12', name: 'zlib' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
      },
    ],
  });

describe('PathDatabaseProvider', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'vulndb-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is Unavailable until loaded, then Ready with the advisories', async () => {
    writeFileSync(join(dir, 'CVE-2026-1.json'), advisory('CVE-2026-1'));
    const provider = new PathDatabaseProvider(dir);
    assert.equal(provider.status().state, 'Unavailable');
    assert.equal(provider.current(), undefined);
    assert.equal(await provider.reload(), true);
    assert.equal(provider.status().state, 'Ready');
    assert.equal(provider.current()?.db.size, 1);
  });

  it('reloads only when the files changed, and tells the subscribers', async () => {
    writeFileSync(join(dir, 'CVE-2026-1.json'), advisory('CVE-2026-1'));
    const provider = new PathDatabaseProvider(dir);
    const seen: number[] = [];
    provider.subscribe((loaded) => seen.push(loaded.db.size));
    await provider.reload();
    const first = provider.current()?.version;
    assert.equal(await provider.reload(), false);
    writeFileSync(join(dir, 'CVE-2026-2.json'), advisory('CVE-2026-2'));
    assert.equal(await provider.reload(), true);
    assert.notEqual(provider.current()?.version, first);
    assert.deepEqual(seen, [1, 2]);
  });

  it('keeps the database in use when a reload fails, and says Stale with why', async () => {
    writeFileSync(join(dir, 'CVE-2026-1.json'), advisory('CVE-2026-1'));
    const provider = new PathDatabaseProvider(dir);
    await provider.reload();
    rmSync(dir, { recursive: true, force: true });
    assert.equal(await provider.reload(), false);
    assert.equal(provider.current()?.db.size, 1);
    assert.equal(provider.status().state, 'Stale');
    assert.equal(provider.status().reason, 'SourceUnreadable');
    assert.match(provider.status().message ?? '', /could not be read/);
  });

  it('counts a malformed advisory as skipped, never fatal', async () => {
    writeFileSync(join(dir, 'good.json'), advisory('CVE-2026-1'));
    writeFileSync(join(dir, 'bad.json'), '{ not json');
    const now = new Date();
    utimesSync(join(dir, 'bad.json'), now, now);
    const provider = new PathDatabaseProvider(dir);
    await provider.reload();
    assert.equal(provider.current()?.db.size, 1);
    assert.equal(provider.current()?.db.summary.skippedCount, 1);
  });
});

describe('OpenVEX documents', () => {
  it('reads v0.2.0 statements with products, subcomponents and justifications, in time order', () => {
    const doc = {
      '@context': 'https://openvex.dev/ns/v0.2.0',
      '@id': 'https://example.com/vex/1',
      timestamp: '2026-01-01T00:00:00Z',
      statements: [
        {
          timestamp: '2026-03-01T00:00:00Z',
          vulnerability: { name: 'CVE-2026-1', aliases: ['GHSA-aaaa'] },
          products: [
            { '@id': 'pkg:oci/app@sha256%3Aabc', subcomponents: [{ '@id': 'pkg:deb/debian/zlib1g' }] },
          ],
          status: 'affected',
        },
        {
          timestamp: '2026-02-01T00:00:00Z',
          vulnerability: { name: 'CVE-2026-1' },
          products: [{ '@id': 'pkg:oci/app@sha256%3Aabc' }],
          status: 'not_affected',
          justification: 'component_not_present',
          impact_statement: 'zlib is not loaded',
        },
      ],
    };
    const result = parseOpenVex(JSON.stringify(doc), 'ConfigMap shop/vex key openvex.json');
    assert.ok(result.ok);
    assert.deepEqual(
      result.statements.map((s) => s.status),
      ['not_affected', 'affected'],
    );
    assert.deepEqual(result.statements[1]?.vulnerabilities, ['CVE-2026-1', 'GHSA-aaaa']);
    assert.deepEqual(result.statements[1]?.products, [
      { id: 'pkg:oci/app@sha256%3Aabc', subcomponents: ['pkg:deb/debian/zlib1g'] },
    ]);
    assert.equal(result.statements[0]?.justification, 'component_not_present');
    assert.match(
      result.statements[0]?.source ?? '',
      /ConfigMap shop\/vex key openvex\.json \(https:\/\/example\.com\/vex\/1\)/,
    );
  });

  it('reads the older shapes (vulnerability and products as strings) and skips broken statements', () => {
    const result = parseOpenVex(
      JSON.stringify({
        statements: [
          { vulnerability: 'CVE-2026-2', products: ['sha256:abc'], status: 'fixed' },
          { vulnerability: 'CVE-2026-3', products: ['sha256:abc'], status: 'maybe' },
          { products: ['sha256:abc'], status: 'fixed' },
          'nonsense',
        ],
      }),
      'x',
    );
    assert.ok(result.ok);
    assert.equal(result.statements.length, 1);
    assert.equal(result.skipped, 3);
  });

  it('returns an error value for what is not OpenVEX', () => {
    assert.deepEqual(parseOpenVex('{', 'x').ok, false);
    const notVex = parseOpenVex('{"hello":1}', 'x');
    assert.ok(!notVex.ok && notVex.reason === 'NotOpenVex');
    const big = parseOpenVex(JSON.stringify({ statements: Array.from({ length: 10_001 }, () => ({})) }), 'x');
    assert.ok(!big.ok && big.reason === 'TooLarge');
  });
});
