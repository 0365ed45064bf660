import assert from 'node:assert/strict';
import type { ScanCredentials } from '../../../src/image/credentials.js';
import { remembered } from '../../../src/image/credentials.js';

describe('pull credentials reuse', () => {
  const credentials: ScanCredentials = { source: { credentialsFor: () => [] }, secrets: [], problems: [] };

  it('reads the credentials of one namespace, service account and secret set once a minute', async () => {
    let reads = 0;
    let clock = 0;
    const lookup = remembered(
      async () => {
        reads++;
        return credentials;
      },
      () => clock,
    );
    const spec = { imagePullSecrets: [{ name: 'regcred' }] };
    await lookup('shop', spec);
    await lookup('shop', { imagePullSecrets: [{ name: 'regcred' }] });
    assert.equal(reads, 1);
    await lookup('shop', { imagePullSecrets: [{ name: 'other' }] });
    await lookup('billing', spec);
    assert.equal(reads, 3, 'another secret set or namespace is read on its own');
    clock = 60_001;
    await lookup('shop', spec);
    assert.equal(reads, 4, 'read again after a minute');
  });

  it('does not remember a failed read', async () => {
    let reads = 0;
    const lookup = remembered(async () => {
      reads++;
      throw new Error('forbidden');
    });
    await assert.rejects(lookup('shop', {}));
    await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(lookup('shop', {}));
    assert.equal(reads, 2);
  });
});
