import assert from 'node:assert/strict';
import {
  formatWorkloadKey,
  parseWorkloadKey,
  reportNameFor,
  type WorkloadKey,
} from '../../../../src/controllers/workload/key.js';

// What the API server accepts as an object name (a DNS-1123 subdomain).
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

describe('workload keys', () => {
  it('are written as Kind/namespace/name', () => {
    assert.equal(
      formatWorkloadKey({ kind: 'Deployment', namespace: 'shop', name: 'web' }),
      'Deployment/shop/web',
    );
  });

  it('read back to the same workload', () => {
    const key: WorkloadKey = { kind: 'CronJob', namespace: 'batch', name: 'nightly-backup' };
    assert.deepEqual(parseWorkloadKey(formatWorkloadKey(key)), key);
  });

  for (const malformed of [
    '',
    'Deployment',
    'Deployment/shop',
    'Deployment//web',
    '/shop/web',
    'Pod/shop/web/extra',
  ]) {
    it(`refuses the malformed key "${malformed}", naming it`, () => {
      assert.throws(() => parseWorkloadKey(malformed), {
        message: `malformed workload key "${malformed}"`,
      });
    });
  }
});

describe('SecurityReport names', () => {
  it('are the lowercased workload kind and the workload name', () => {
    assert.equal(reportNameFor({ kind: 'Deployment', namespace: 'shop', name: 'web' }), 'deployment-web');
    assert.equal(reportNameFor({ kind: 'CronJob', namespace: 'shop', name: 'backup' }), 'cronjob-backup');
    assert.equal(reportNameFor({ kind: 'Pod', namespace: 'shop', name: 'debug' }), 'pod-debug');
  });

  it('differ between kinds of workload with the same name', () => {
    const names = ['Deployment', 'StatefulSet', 'Pod'].map((kind) =>
      reportNameFor({ kind, namespace: 'shop', name: 'web' }),
    );
    assert.equal(new Set(names).size, 3);
  });

  it('keep a workload name of the longest length within the 253-character limit', () => {
    const name = reportNameFor({ kind: 'ReplicationController', namespace: 'shop', name: 'a'.repeat(253) });
    assert.ok(name.length <= 253, `length ${name.length}`);
    assert.match(name, DNS_SUBDOMAIN);
  });

  it('stay distinct for two long workload names that differ only after the cut', () => {
    const prefix = 'x'.repeat(250);
    const first = reportNameFor({ kind: 'Deployment', namespace: 'shop', name: `${prefix}-one` });
    const second = reportNameFor({ kind: 'Deployment', namespace: 'shop', name: `${prefix}-two` });
    assert.notEqual(first, second);
    assert.ok(first.startsWith(`deployment-${'x'.repeat(200)}`), 'the name still says whose report it is');
  });

  it('never end in a dash or dot when a long name is shortened at one', () => {
    // The cut of a plain truncation would fall right after the "-" at position 253.
    const name = `${'y'.repeat(241)}-${'z'.repeat(11)}`;
    const reportName = reportNameFor({ kind: 'Deployment', namespace: 'shop', name });
    assert.ok(reportName.length <= 253);
    assert.match(reportName, DNS_SUBDOMAIN);
  });

  it('are stable: the same workload always gets the same report name', () => {
    const key = { kind: 'Deployment', namespace: 'shop', name: 'q'.repeat(253) };
    assert.equal(reportNameFor(key), reportNameFor({ ...key }));
  });
});
