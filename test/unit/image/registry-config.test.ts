import assert from 'node:assert/strict';

import {
  applyRegistryFlags,
  defaultRegistrySettings,
  parseRegistrySettings,
  toRegistryClientConfig,
} from '../../../src/image/registry-config.js';
import { AddressPolicy } from '../../../src/registry/address-policy.js';

const noCa = (): Promise<Buffer> => Promise.reject(Object.assign(new Error('x'), { code: 'ENOENT' }));

describe('registry configuration', () => {
  it('allows only public registries over HTTPS by default', async () => {
    const config = await toRegistryClientConfig(defaultRegistrySettings(), noCa);
    assert.deepEqual(config.policy, { allow: [], allowPublic: true });
    assert.deepEqual(config.hosts, {});
    const policy = new AddressPolicy(config.policy);
    assert.equal(policy.checkHost('127.0.0.1', 443).allowed, false);
    assert.equal(policy.checkHost('169.254.169.254', 80).allowed, false);
    assert.equal(policy.checkHost('ghcr.io', 443).allowed, true);
  });

  it('reads allow lists, per-host settings, timeouts and limits from YAML', async () => {
    const parsed = parseRegistrySettings(
      [
        'allow: ["registry.internal", "10.20.0.0/16", "127.0.0.1:5000"]',
        'hosts:',
        '  "registry.internal:5000":',
        '    plainHttp: true',
        '    caFile: /etc/ca.pem',
        '    mirrors: ["cache.internal:5000"]',
        '    requestsPerSecond: 10',
        '    burst: 20',
        '    maxConcurrency: 4',
        'timeouts: { connectMs: 2000, totalMs: 60000 }',
        'maxManifestBytes: 1048576',
        'platform: linux/arm64/v8',
      ].join('\n'),
      'registries.yaml',
    );
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    const config = await toRegistryClientConfig(parsed.settings, async (path) =>
      Buffer.from(`PEM of ${path}`),
    );
    assert.deepEqual(config.policy, {
      allow: ['registry.internal', '10.20.0.0/16', '127.0.0.1:5000'],
      allowPublic: true,
    });
    assert.deepEqual(config.hosts?.['registry.internal:5000'], {
      plainHttp: true,
      ca: Buffer.from('PEM of /etc/ca.pem'),
      mirrors: ['cache.internal:5000'],
      requestsPerSecond: 10,
      burst: 20,
      maxConcurrency: 4,
    });
    assert.deepEqual(config.timeouts, { connectMs: 2000, totalMs: 60000 });
    assert.equal(config.maxManifestBytes, 1048576);
    assert.deepEqual(config.platform, { os: 'linux', architecture: 'arm64', variant: 'v8' });
  });

  it('keeps the port of host:port allow entries, from the file and from flags', async () => {
    const parsed = parseRegistrySettings('allow: ["127.0.0.1:5000", "[::1]:5001"]', 'registries.yaml');
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    const flagged = applyRegistryFlags(parsed.settings, { allow: ['registry.internal:5002', '10.0.0.0/8'] });
    assert.ok(flagged.ok, flagged.ok ? '' : flagged.error);
    const config = await toRegistryClientConfig(flagged.settings, noCa);
    const policy = new AddressPolicy(config.policy);
    assert.equal(policy.checkHost('127.0.0.1', 5000).allowed, true);
    assert.equal(policy.checkHost('127.0.0.1', 5001).allowed, false, 'the port is not dropped');
    assert.equal(policy.checkHost('::1', 5001).allowed, true);
    assert.equal(policy.checkHost('::1', 5000).allowed, false);
    assert.equal(policy.checkResolved('registry.internal', '10.1.1.1', 5002).allowed, true);
    assert.equal(policy.checkResolved('registry.internal', '192.168.1.1', 5003).allowed, false);
    assert.equal(policy.checkResolved('x.test', '10.1.1.1', 443).allowed, true);
    assert.equal(policy.checkResolved('x.test', '10.1.1.1', 5000).allowed, false);
  });

  it('refuses a wildcard allow entry that would match every host', () => {
    const parsed = parseRegistrySettings('allow: ["*."]', 'registries.yaml');
    assert.ok(!parsed.ok);
    assert.match(parsed.error, /registries.yaml: .*"\*\." is not a valid wildcard/);
    const flagged = applyRegistryFlags(defaultRegistrySettings(), { allow: ['*.'] });
    assert.ok(!flagged.ok);
    assert.match(flagged.error, /--allow-registry: .*not a valid wildcard/);
  });

  it('refuses unknown fields, bad allow entries and bad numbers, naming the file', () => {
    const cases: [string, RegExp][] = [
      ['alow: []', /registries.yaml: unknown field "alow"/],
      ['allow: ["not a host!"]', /neither a host name, an IP address nor a CIDR/],
      ['hosts: { "r:5000": { plainHttp: "yes" } }', /plainHttp must be true or false/],
      ['hosts: { "r:5000": { maxConcurrency: -1 } }', /maxConcurrency must be a positive number/],
      ['timeouts: { idleMs: 5 }', /timeouts: unknown field "idleMs"/],
      ['platform: amd64', /platform must be os\/arch/],
      ['[1, 2]', /must be a mapping/],
    ];
    for (const [text, expected] of cases) {
      const parsed = parseRegistrySettings(text, 'registries.yaml');
      assert.equal(parsed.ok, false, text);
      if (!parsed.ok) assert.match(parsed.error, expected);
    }
  });

  it('adds command-line flags to the file settings', async () => {
    const merged = applyRegistryFlags(defaultRegistrySettings(), {
      allow: ['127.0.0.1:5000'],
      plainHttp: ['127.0.0.1:5000'],
      caFiles: ['r.internal=/ca.pem'],
      mirrors: ['docker.io=mirror.internal:5000'],
    });
    assert.ok(merged.ok);
    const config = await toRegistryClientConfig(merged.settings, async () => Buffer.from('pem'));
    assert.deepEqual(config.policy?.allow, ['127.0.0.1:5000']);
    assert.deepEqual(config.hosts?.['127.0.0.1:5000'], { plainHttp: true });
    assert.deepEqual(config.hosts?.['docker.io'], { mirrors: ['mirror.internal:5000'] });
    assert.deepEqual(config.hosts?.['r.internal'], { ca: Buffer.from('pem') });
    const bad = applyRegistryFlags(defaultRegistrySettings(), { plainHttp: ['http://x'] });
    assert.equal(bad.ok, false);
  });

  it('names the CA bundle that cannot be read', async () => {
    const merged = applyRegistryFlags(defaultRegistrySettings(), { caFiles: ['r.internal=/nope.pem'] });
    assert.ok(merged.ok);
    await assert.rejects(
      toRegistryClientConfig(merged.settings, noCa),
      /CA bundle \/nope.pem for registry r.internal cannot be read \(ENOENT\)/,
    );
  });
});
