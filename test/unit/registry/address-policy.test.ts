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
    // Site-local (deprecated, still routed privately) and the documentation ranges.
    ['fec0::1', 'private'],
    ['feff:ffff::1', 'private'],
    ['192.0.2.10', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.200', 'documentation'],
    ['2001:db8::1', 'documentation'],
    ['2001:db8:ffff::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['3fff:fff:ffff::1', 'documentation'],
    ['3fff:1000::1', 'public'],
  ];
  for (const [address, category] of cases) {
    it(`classifies ${address} as ${category}`, () => assert.equal(classifyAddress(address), category));
  }
  it('returns undefined for names', () => assert.equal(classifyAddress('example.com'), undefined));
});

describe('IPv6 forms that embed an IPv4 address', () => {
  // Each is judged by the IPv4 address it reaches through a translator or tunnel.
  const cases: [form: string, address: string, category: string][] = [
    ['IPv4-mapped', '::ffff:169.254.169.254', 'link-local'],
    ['IPv4-mapped (hex)', '::ffff:a9fe:a9fe', 'link-local'],
    ['IPv4-compatible', '::169.254.169.254', 'link-local'],
    ['IPv4-compatible (hex)', '::a9fe:a9fe', 'link-local'],
    ['IPv4-compatible', '::127.0.0.1', 'loopback'],
    ['IPv4-compatible', '::10.0.0.1', 'private'],
    ['IPv4-compatible', '::0.0.0.2', 'unspecified'],
    ['IPv4-compatible', '::8.8.8.8', 'public'],
    ['SIIT', '::ffff:0:169.254.169.254', 'link-local'],
    ['SIIT (hex)', '::ffff:0:7f00:1', 'loopback'],
    ['SIIT', '::ffff:0:192.168.0.1', 'private'],
    ['SIIT', '::ffff:0:8.8.8.8', 'public'],
    ['NAT64', '64:ff9b::169.254.169.254', 'link-local'],
    ['NAT64 (hex)', '64:ff9b::a9fe:a9fe', 'link-local'],
    ['NAT64', '64:ff9b::127.0.0.1', 'loopback'],
    ['NAT64', '64:ff9b::10.1.2.3', 'private'],
    ['NAT64', '64:ff9b::100.64.0.1', 'shared'],
    ['NAT64', '64:ff9b::192.0.2.1', 'documentation'],
    ['NAT64', '64:ff9b::8.8.8.8', 'public'],
    ['NAT64 local-use prefix', '64:ff9b:1::8.8.8.8', 'private'],
    ['6to4', '2002:a9fe:a9fe::1', 'link-local'],
    ['6to4', '2002:7f00:1::', 'loopback'],
    ['6to4', '2002:c0a8:101:1::1', 'private'],
    ['6to4', '2002:0a00:0001:ffff:ffff:ffff:ffff:ffff', 'private'],
    ['6to4', '2002:808:808::1', 'public'],
    // Teredo 2001:0:SSSS:SSSS:flags:port:CCCC:CCCC, client address inverted.
    ['Teredo client', '2001:0:808:808:0:0:5601:5601', 'link-local'], // ~a9fe:a9fe
    ['Teredo client', '2001:0:808:808::80ff:fffe', 'loopback'], // ~7f00:1
    ['Teredo client', '2001:0:808:808:8000:ffff:f5ff:fffe', 'private'], // ~0a00:1
    ['Teredo server', '2001:0:a9fe:a9fe::f7f7:f7f7', 'link-local'], // server 169.254.169.254
    ['Teredo server', '2001:0:a00:1::f7f7:f7f7', 'private'],
    ['Teredo', '2001:0:808:808::f7f7:f7f7', 'public'], // server 8.8.8.8, client 8.8.8.8
  ];
  for (const [form, address, category] of cases) {
    it(`classifies ${form} ${address} as ${category}`, () =>
      assert.equal(classifyAddress(address), category));
  }

  it('refuses an embedded metadata address in every form, naming the category', () => {
    const policy = new AddressPolicy();
    for (const address of [
      '::169.254.169.254',
      '::ffff:0:169.254.169.254',
      '64:ff9b::a9fe:a9fe',
      '2002:a9fe:a9fe::',
      '2001:0:808:808::5601:5601',
    ]) {
      assert.deepEqual(
        policy.checkHost(address, 80),
        { allowed: false, reason: 'link-local addresses are blocked' },
        address,
      );
      assert.equal(policy.checkResolved('evil.example', address, 443).allowed, false, address);
    }
  });

  it('does not let an IPv4 allow entry admit the IPv6 forms that embed it', () => {
    const policy = new AddressPolicy({ allow: ['10.0.0.0/8:5000'] });
    assert.equal(policy.checkHost('10.0.0.1', 5000).allowed, true);
    assert.equal(policy.checkHost('2002:a00:1::', 5000).allowed, false);
    assert.equal(policy.checkHost('64:ff9b::a00:1', 5000).allowed, false);
  });
});

describe('address policy', () => {
  it('allows public names and addresses by default, on any port', () => {
    const policy = new AddressPolicy();
    assert.deepEqual(policy.checkHost('ghcr.io', 443), { allowed: true });
    assert.deepEqual(policy.checkHost('8.8.8.8', 5000), { allowed: true });
    assert.deepEqual(policy.checkResolved('ghcr.io', '140.82.112.34', 443), { allowed: true });
  });

  it('blocks non-public literals and names that resolve to them, saying why', () => {
    const policy = new AddressPolicy();
    assert.deepEqual(policy.checkHost('169.254.169.254', 80), {
      allowed: false,
      reason: 'link-local addresses are blocked',
    });
    assert.deepEqual(policy.checkHost('localhost', 5000), {
      allowed: false,
      reason: 'localhost is a loopback name, and loopback addresses are blocked',
    });
    assert.deepEqual(policy.checkResolved('evil.example', '10.1.2.3', 443), {
      allowed: false,
      reason: 'evil.example resolves to 10.1.2.3, and private-network addresses are blocked',
    });
    assert.deepEqual(policy.checkHost('2001:db8::5', 443), {
      allowed: false,
      reason: 'documentation-range addresses are blocked',
    });
  });

  it('allows exactly what the allow list names: addresses, CIDRs, host names and wildcards', () => {
    const policy = new AddressPolicy({
      allow: ['127.0.0.1', '10.20.0.0/16', 'registry.internal', '*.corp.example'],
    });
    assert.equal(policy.checkHost('127.0.0.1', 443).allowed, true);
    assert.equal(policy.checkHost('127.0.0.2', 443).allowed, false);
    assert.equal(policy.checkHost('localhost', 443).allowed, true, 'localhost is judged as 127.0.0.1');
    assert.equal(policy.checkResolved('x.test', '10.20.3.4', 443).allowed, true);
    assert.equal(policy.checkResolved('x.test', '10.21.3.4', 443).allowed, false);
    assert.equal(policy.checkResolved('registry.internal', '192.168.9.9', 443).allowed, true);
    assert.equal(policy.checkResolved('a.corp.example', '192.168.9.9', 443).allowed, true);
    assert.equal(policy.checkResolved('corp.example.evil', '192.168.9.9', 443).allowed, false);
  });

  it('admits an entry without a port only on 443 and 80', () => {
    const policy = new AddressPolicy({ allow: ['127.0.0.1', '10.0.0.0/8', 'registry.internal'] });
    for (const port of [443, 80]) {
      assert.equal(policy.checkHost('127.0.0.1', port).allowed, true, `127.0.0.1:${port}`);
      assert.equal(policy.checkResolved('x.test', '10.1.1.1', port).allowed, true, `10.1.1.1:${port}`);
      assert.equal(policy.checkResolved('registry.internal', '192.168.1.1', port).allowed, true);
    }
    assert.deepEqual(policy.checkHost('127.0.0.1', 2379), {
      allowed: false,
      reason: '127.0.0.1 is allow-listed only on ports 80, 443',
    });
    assert.equal(policy.checkResolved('x.test', '10.1.1.1', 10250).allowed, false);
    assert.deepEqual(policy.checkResolved('registry.internal', '192.168.1.1', 5000), {
      allowed: false,
      reason:
        'registry.internal resolves to 192.168.1.1, and private-network addresses are blocked (registry.internal is allow-listed only on ports 80, 443)',
    });
  });

  it('admits a host:port entry on exactly that port', () => {
    const policy = new AddressPolicy({
      allow: [
        '127.0.0.1:5000',
        '[::1]:5001',
        '10.0.0.0/8:5002',
        'registry.internal:5003',
        '*.corp.example:5004',
      ],
    });
    assert.equal(policy.checkHost('127.0.0.1', 5000).allowed, true);
    assert.equal(policy.checkHost('localhost', 5000).allowed, true);
    assert.deepEqual(policy.checkHost('127.0.0.1', 5001), {
      allowed: false,
      reason: '127.0.0.1 is allow-listed only on port 5000',
    });
    assert.equal(policy.checkHost('127.0.0.1', 443).allowed, false);
    assert.equal(policy.checkHost('localhost', 443).allowed, false);
    assert.equal(policy.checkHost('::1', 5001).allowed, true);
    assert.equal(policy.checkHost('::1', 5000).allowed, false);
    assert.equal(policy.checkResolved('x.test', '10.9.9.9', 5002).allowed, true);
    assert.equal(policy.checkResolved('x.test', '10.9.9.9', 5003).allowed, false);
    assert.equal(policy.checkResolved('registry.internal', '192.168.1.1', 5003).allowed, true);
    assert.equal(policy.checkResolved('registry.internal', '192.168.1.1', 5004).allowed, false);
    assert.equal(policy.checkResolved('a.corp.example', '192.168.1.1', 5004).allowed, true);
    assert.equal(policy.checkResolved('a.corp.example', '192.168.1.1', 443).allowed, false);
  });

  it('admits every port only when an entry says so with :*', () => {
    const policy = new AddressPolicy({ allow: ['127.0.0.1:*', 'registry.internal:*', '10.0.0.0/8:*'] });
    for (const port of [1, 80, 5000, 65535]) {
      assert.equal(policy.checkHost('127.0.0.1', port).allowed, true);
      assert.equal(policy.checkResolved('registry.internal', '192.168.1.1', port).allowed, true);
      assert.equal(policy.checkResolved('x.test', '10.1.1.1', port).allowed, true);
    }
    assert.equal(policy.checkHost('127.0.0.2', 5000).allowed, false);
  });

  it('can refuse everything that is not allow-listed, ports included', () => {
    const policy = new AddressPolicy({ allowPublic: false, allow: ['ghcr.io'] });
    assert.equal(policy.checkHost('ghcr.io', 443).allowed, true);
    assert.deepEqual(policy.checkHost('ghcr.io', 8443), {
      allowed: false,
      reason: 'ghcr.io is allow-listed only on ports 80, 443',
    });
    assert.equal(policy.checkHost('docker.io', 443).allowed, false);
    assert.equal(policy.checkHost('8.8.8.8', 443).allowed, false);
  });

  const invalid: [entry: string, message: RegExp][] = [
    ['http://x/', /neither a host name, an IP address nor a CIDR/],
    ['not a host!', /neither a host name/],
    ['*.', /not a valid wildcard/],
    ['*.:5000', /not a valid wildcard/],
    ['*..', /not a valid wildcard/],
    ['*', /neither a host name/],
    ['.', /neither a host name/],
    ['..', /neither a host name/],
    ['-', /neither a host name/],
    ['a..b', /neither a host name/],
    ['127.0.0.1:0', /invalid port/],
    ['127.0.0.1:65536', /invalid port/],
    ['registry.internal:', /neither a host name/],
    ['registry.internal:**', /neither a host name/],
    ['*:*', /neither a host name/],
    ['[registry.internal]:5000', /neither a host name/],
  ];
  for (const [entry, message] of invalid) {
    it(`rejects the allow list entry ${JSON.stringify(entry)}`, () => {
      assert.throws(() => new AddressPolicy({ allow: [entry] }), message);
    });
  }

  it('does not let a lone "*." match every host', () => {
    // Guard for the rule above: if "*." were accepted it would admit any private host.
    let policy: AddressPolicy | undefined;
    try {
      policy = new AddressPolicy({ allow: ['*.'] });
    } catch {
      policy = undefined;
    }
    assert.equal(policy?.checkResolved('anything.example', '10.0.0.1', 443).allowed ?? false, false);
  });
});
