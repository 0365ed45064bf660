// Severity from what an advisory carries, in order of preference.
import assert from 'node:assert/strict';

import type { Advisory } from '../../../src/vuln/osv.js';
import { severityOf } from '../../../src/vuln/severity.js';

const advisory = (fields: Partial<Advisory>): Advisory => ({
  id: 'X-1',
  aliases: [],
  upstream: [],
  severity: [],
  affected: [],
  ...fields,
});

describe('advisory severity', () => {
  it('scores CVSS v3.1, v3.0, v2 and v4 vectors', () => {
    const v31 = severityOf(
      advisory({ severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }] }),
    );
    assert.deepEqual(v31, { level: 'CRITICAL', score: 9.8, source: 'CVSS_V3' });
    const v30 = severityOf(
      advisory({ severity: [{ type: 'CVSS_V3', score: 'CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N' }] }),
    );
    assert.equal(v30.level, 'LOW');
    const v2 = severityOf(advisory({ severity: [{ type: 'CVSS_V2', score: 'AV:N/AC:L/Au:N/C:P/I:P/A:P' }] }));
    assert.deepEqual(v2, { level: 'HIGH', score: 7.5, source: 'CVSS_V2' });
    const v4 = severityOf(
      advisory({
        severity: [
          { type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' },
        ],
      }),
    );
    assert.deepEqual(v4, { level: 'CRITICAL', score: 9.3, source: 'CVSS_V4' });
  });

  it('prefers v4 over v3 when both are present', () => {
    const both = severityOf(
      advisory({
        severity: [
          { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
          { type: 'CVSS_V4', score: 'CVSS:4.0/AV:L/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N' },
        ],
      }),
    );
    assert.equal(both.source, 'CVSS_V4');
    assert.equal(both.level, 'LOW');
  });

  it('falls back to the Ubuntu priority, then GitHub database_specific, and skips a broken vector', () => {
    assert.deepEqual(
      severityOf(
        advisory({
          severity: [
            { type: 'CVSS_V3', score: 'garbage' },
            { type: 'Ubuntu', score: 'negligible' },
          ],
        }),
      ),
      {
        level: 'LOW',
        source: 'Ubuntu',
      },
    );
    assert.deepEqual(severityOf(advisory({ databaseSeverity: 'MODERATE' })), {
      level: 'MEDIUM',
      source: 'database_specific',
    });
    assert.deepEqual(severityOf(advisory({})), { level: 'UNKNOWN' });
  });
});
