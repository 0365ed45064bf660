import assert from 'node:assert/strict';

import { TokenCache, parseTokenResponse, parseWwwAuthenticate } from '../../../src/registry/auth.js';

describe('WWW-Authenticate parsing', () => {
  it('reads a bearer challenge with quoted parameters containing commas', () => {
    const header =
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"';
    assert.deepEqual(parseWwwAuthenticate(header), [
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example.com/token',
          service: 'registry.example.com',
          scope: 'repository:a/b:pull,push',
        },
      },
    ]);
  });

  it('reads several challenges, unquoted values and escapes', () => {
    const header = 'Basic realm="say \\"hi\\"", Bearer realm=https://t.example/token, service=reg';
    assert.deepEqual(parseWwwAuthenticate(header), [
      { scheme: 'basic', params: { realm: 'say "hi"' } },
      { scheme: 'bearer', params: { realm: 'https://t.example/token', service: 'reg' } },
    ]);
  });

  it('returns nothing for an empty header', () => assert.deepEqual(parseWwwAuthenticate(''), []));
});

describe('token responses and the token cache', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('accepts token or access_token and defaults the lifetime to 60 seconds', () => {
    assert.deepEqual(parseTokenResponse('{"token":"a"}', now), {
      token: 'a',
      expiresAt: now + 60_000 - 5_000,
    });
    assert.equal(
      parseTokenResponse('{"access_token":"b","expires_in":300}', now)?.expiresAt,
      now + 300_000 - 5_000,
    );
    assert.equal(parseTokenResponse('{}', now), undefined);
    assert.equal(parseTokenResponse('not json', now), undefined);
  });

  it('keeps a token until it expires, per credential', () => {
    let clock = now;
    const cache = new TokenCache(() => clock);
    const alice = TokenCache.key('realm', 'svc', 'repository:x:pull', {
      username: 'alice',
      password: 'Secret-A',
      source: 's',
    });
    const bob = TokenCache.key('realm', 'svc', 'repository:x:pull', {
      username: 'bob',
      password: 'Secret-A',
      source: 's',
    });
    assert.notEqual(alice, bob);
    assert.ok(
      !alice.includes('Secret-A') && !alice.includes('alice'),
      'the key holds a fingerprint, not the credential',
    );
    cache.set(alice, { token: 't', expiresAt: now + 1000 });
    assert.equal(cache.get(alice), 't');
    assert.equal(cache.get(bob), undefined);
    clock += 1000;
    assert.equal(cache.get(alice), undefined);
    assert.equal(cache.size, 0);
  });
});
