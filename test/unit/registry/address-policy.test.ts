import assert from 'node:assert/strict';

import { AddressPolicy, classifyAddress } from '../../../src/registry/address-policy.js';

describe('address classification', () => {
  const cases: [string, string][] = [
    ['8.8.8.8', 'public'],
    ['2606:4700::1111', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['fc00::1', 'private'],
    ['fd00:ec2::254', 'private'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['100.100.100.200', 'shared'],
    ['255.255.255.255', 'reserved'],
  ];
  for (const [address, category] of cases) {
    it(`classifies ${address} as ${category}`, () => assert.equal(classifyAddress(address), category));
  }
  it('returns undefined for names', () => assert.equal(classifyAddress('example.com'), undefined));
});

describe('address policy', () => {
  it('allows public names and addresses by default', () => {
    const policy = new AddressPolicy();
    assert.deepEqual(policy.checkHost('ghcr.io'), { allowed: true });
    assert.deepEqual(policy.checkHost('8.8.8.8'), { allowed: true });
    assert.deepEqual(policy.checkResolved('ghcr.io', '140.82.112.34'), { allowed: true });
  });

  it('blocks non-public literals and names that resolve to them, saying why', () => {
    const policy = new AddressPolicy();
    assert.deepEqual(policy.checkHost('169.254.169.254'), {
      allowed: false,
      reason: 'link-local addresses are blocked',
    });
    assert.deepEqual(policy.checkHost('localhost'), {
      allowed: false,
      reason: 'localhost is a loopback name, and loopback addresses are blocked',
    });
    assert.deepEqual(policy.checkResolved('evil.example', '10.1.2.3'), {
      allowed: false,
      reason: 'evil.example resolves to 10.1.2.3, and private-network addresses are blocked',
    });
  });

  it('allows exactly what the allow list names: addresses, CIDRs, host names and wildcards', () => {
    const policy = new AddressPolicy({
      allow: ['127.0.0.1', '10.20.0.0/16', 'registry.internal', '*.corp.example'],
    });
    assert.equal(policy.checkHost('127.0.0.1').allowed, true);
    assert.equal(policy.checkHost('127.0.0.2').allowed, false);
    assert.equal(policy.checkHost('localhost').allowed, true, 'localhost is judged as 127.0.0.1');
    assert.equal(policy.checkResolved('x.test', '10.20.3.4').allowed, true);
    assert.equal(policy.checkResolved('x.test', '10.21.3.4').allowed, false);
    assert.equal(policy.checkResolved('registry.internal', '192.168.9.9').allowed, true);
    assert.equal(policy.checkResolved('a.corp.example', '192.168.9.9').allowed, true);
    assert.equal(policy.checkResolved('corp.example.evil', '192.168.9.9').allowed, false);
  });

  it('can refuse everything that is not allow-listed', () => {
    const policy = new AddressPolicy({ allowPublic: false, allow: ['ghcr.io'] });
    assert.equal(policy.checkHost('ghcr.io').allowed, true);
    assert.equal(policy.checkHost('docker.io').allowed, false);
  });

  it('rejects allow list entries that are not hosts, addresses or CIDRs', () => {
    assert.throws(() => new AddressPolicy({ allow: ['http://x/'] }), /neither a host name/);
  });
});
