// Reading h2load's per-request log and summary, which bench/admission's webhook-alone figures come from.
import assert from 'node:assert/strict';
import { h2loadFailed, parseH2loadLog } from '../../support/h2load.js';

describe('h2load results', () => {
  it('reads latencies, non-200 answers and the span from the request log', () => {
    const log = [
      '1700000000000000\t200\t1500',
      '1700000000000500\t403\t2500',
      '1700000000001000\t200\t250',
      '',
    ].join('\n');
    const result = parseH2loadLog(log);
    assert.deepEqual(result.latenciesMs, [1.5, 2.5, 0.25]);
    assert.equal(result.failures, 1);
    // From the first start (…000) to the last end (…500 + 2500 µs).
    assert.equal(result.spanMs, 3);
  });

  it('counts the requests the summary says failed, and refuses output without a summary', () => {
    const stdout =
      'finished in 1.02s, 9800.00 req/s, 1.2MB/s\nrequests: 10000 total, 10000 started, 9990 done, 9990 succeeded, 10 failed, 10 errored, 0 timeout\n';
    assert.equal(h2loadFailed(stdout), 10);
    assert.throws(() => h2loadFailed('connect failed'), /no request summary/);
  });
});
