import assert from 'node:assert/strict';

import { RateLimiter, parseRetryAfter, type Clock } from '../../../src/registry/transport.js';

describe('registry request pacing', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  it('limits requests per second with a token bucket', async () => {
    let time = 0;
    const sleeps: number[] = [];
    const clock: Clock = {
      now: () => time,
      sleep: async (ms) => {
        sleeps.push(ms);
        time += ms;
      },
    };
    const limiter = new RateLimiter(2, 2, clock);
    for (let i = 0; i < 5; i++) await limiter.take();
    // Two from the burst, then one every 500 ms.
    assert.deepEqual(sleeps, [500, 500, 500]);
    assert.equal(time, 1500);
  });
});
