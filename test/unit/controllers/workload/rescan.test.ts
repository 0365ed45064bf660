import assert from 'node:assert/strict';
import { msUntilNextRescan } from '../../../../src/controllers/workload/rescan.js';

describe('rescan schedule', () => {
  const MINUTE = 60_000;

  it('gives the time until a five-minute schedule next fires', () => {
    const ms = msUntilNextRescan(['*/5 * * * *']);
    assert.ok(ms !== undefined && ms >= 1000 && ms <= 5 * MINUTE, `${ms}`);
  });

  it('takes the soonest of several schedules', () => {
    const daily = msUntilNextRescan(['0 3 * * *']);
    const both = msUntilNextRescan(['0 3 * * *', '* * * * *']);
    assert.ok(daily !== undefined && daily <= 24 * 60 * MINUTE);
    assert.ok(both !== undefined && both <= MINUTE && both <= daily);
  });

  it('ignores what node-cron cannot read and answers undefined without a schedule', () => {
    assert.equal(msUntilNextRescan([]), undefined);
    assert.equal(msUntilNextRescan(['not a schedule']), undefined);
    const ms = msUntilNextRescan(['not a schedule', '*/5 * * * *']);
    assert.ok(ms !== undefined && ms <= 5 * MINUTE);
  });
});
