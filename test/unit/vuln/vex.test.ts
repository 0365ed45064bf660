// Specification of the OpenVEX reader: documents (v0.2.0 and the older string shapes) become
// statements in time order, and broken ones are errors, never throws.
import assert from 'node:assert/strict';

import { parseOpenVex } from '../../../src/vuln/vex.js';

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
