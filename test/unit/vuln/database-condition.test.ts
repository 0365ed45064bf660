// The database status as the condition an ImageReport shows.
import assert from 'node:assert/strict';

import { VulnerabilityDatabase } from '../../../src/vuln/database.js';
import { databaseCondition } from '../../../src/vuln/database-condition.js';
import type { LoadedDatabase } from '../../../src/vuln/provider.js';

const loaded: LoadedDatabase = {
  db: new VulnerabilityDatabase(),
  version: 'sha256:abc',
  loadedAt: new Date('2024-05-01T00:00:00Z'),
};

describe('vulnerability database condition', () => {
  it('is True with the version in use when Ready', () => {
    const c = databaseCondition({ state: 'Ready' }, loaded);
    assert.deepEqual([c.status, c.reason], ['True', 'Ready']);
    assert.match(c.message, /sha256:abc \(0 advisories, loaded 2024-05-01T00:00:00\.000Z\)/);
  });

  it('is False with the refresh failure as reason when Stale, the old database still named', () => {
    const c = databaseCondition(
      {
        state: 'Stale',
        reason: 'Stalled',
        message: 'mirror stopped sending data; still using the database loaded ...',
      },
      loaded,
    );
    assert.deepEqual([c.status, c.reason], ['False', 'Stalled']);
    assert.match(c.message, /still using/);
  });

  it('says vulnerabilities are unknown, never none, while Unavailable', () => {
    const c = databaseCondition(
      { state: 'Unavailable', reason: 'SourceNotFound', message: 'x answered 404' },
      undefined,
    );
    assert.deepEqual([c.status, c.reason], ['False', 'SourceNotFound']);
    assert.match(c.message, /x answered 404; no database is loaded, so vulnerabilities are unknown/);
    assert.equal(databaseCondition({ state: 'Unavailable' }, undefined).reason, 'Unavailable');
    assert.equal(databaseCondition({ state: 'Disabled' }, undefined).reason, 'Disabled');
  });
});
