import assert from 'node:assert/strict';

import {
  credentialsFor,
  keyMatchesImage,
  MAX_KEYRING_HOST_LENGTH,
  keyringKey,
  parsePullSecret,
  type DockerConfig,
  type PullSecretOrigin,
} from '../../../src/registry/docker-config.js';

function config(origin: PullSecretOrigin, secretName: string, keys: string[]): DockerConfig {
  return {
    origin,
    secretName,
    auths: Object.fromEntries(keys.map((k) => [k, { username: `${secretName}@${k}`, password: 'pw' }])),
  };
}

function usersFor(registry: string, repository: string, configs: DockerConfig[]): string[] {
  return credentialsFor(registry, repository, configs).map((c) => c.username);
}

describe('pull secret keyring matching (kubelet rules)', () => {
  const matches: [string, string, boolean][] = [
    ['registry.example.com', 'registry.example.com/team/app', true],
    ['https://registry.example.com', 'registry.example.com/team/app', true],
    ['http://registry.example.com/v2/', 'registry.example.com/team/app', true],
    ['registry.example.com/team', 'registry.example.com/team/app', true],
    ['registry.example.com/other', 'registry.example.com/team/app', false],
    // A plain string prefix, exactly as the kubelet compares paths.
    ['registry.example.com/te', 'registry.example.com/team/app', true],
    ['*.example.com', 'registry.example.com/team/app', true],
    ['*.example.com', 'example.com/team/app', false],
    ['*.example.com', 'a.registry.example.com/team/app', false],
    ['*.*.example.com', 'a.registry.example.com/team/app', true],
    ['r*y.example.com', 'registry.example.com/team/app', true],
    // "?" starts a URL query for the kubelet's url.Parse, so it is no wildcard in a key.
    ['reg?stry.example.com', 'registry.example.com/team/app', false],
    ['registry.example.[d-f]om', 'registry.example.com/team/app', false],
    ['registry.example.[b-d]om', 'registry.example.com/team/app', true],
    ['registry.example.com', 'registry.example.com:5000/team/app', false],
    ['registry.example.com:5000', 'registry.example.com/team/app', false],
    ['registry.example.com:5000', 'registry.example.com:5000/team/app', true],
    ['https://registry.example.com:5000/v1/', 'registry.example.com:5000/team/app', true],
    ['docker.io', 'docker.io/library/nginx', true],
    // Go's filepath.Match: classes negate with ^, a backslash quotes the next character.
    ['[^a-q]egistry.example.com', 'registry.example.com/team/app', true],
    ['[^r]egistry.example.com', 'registry.example.com/team/app', false],
    ['\\registry.example.\\com', 'registry.example.com/team/app', true],
    ['\\d.example.com', 'd.example.com/team/app', true],
    ['\\d.example.com', '7.example.com/team/app', false],
    // A malformed pattern (Go's ErrBadPattern) matches nothing.
    ['registry.example.co[', 'registry.example.co[/team/app', false],
    ['registry.example.[]om', 'registry.example.com/team/app', false],
    ['*.example.co\\', 'registry.example.co/team/app', false],
  ];
  for (const [key, image, expected] of matches) {
    it(`${expected ? 'matches' : 'does not match'} key ${key} for ${image}`, () => {
      assert.equal(keyMatchesImage(keyringKey(key), image), expected);
    });
  }

  it('matches a key with 24 stars against a long host in linear time', () => {
    const key = `${'*a'.repeat(24)}.example.com`;
    const start = performance.now();
    assert.equal(keyMatchesImage(key, `${'a'.repeat(60)}.example.com/team/app`), true);
    assert.equal(keyMatchesImage(key, `${'a'.repeat(60)}b.example.com/team/app`), false);
    assert.equal(keyMatchesImage(key, `${'a'.repeat(200)}!.example.com/team/app`), false);
    const ms = performance.now() - start;
    // As a backtracking RegExp, ten stars already take minutes.
    assert.ok(ms < 2000, `${ms} ms`);
  });

  it('matches no host longer than MAX_KEYRING_HOST_LENGTH', () => {
    const host = `${'a'.repeat(MAX_KEYRING_HOST_LENGTH)}.example.com`;
    assert.equal(keyMatchesImage('*.example.com', `${host}/team/app`), false);
    assert.equal(keyMatchesImage('*.example.com', `${host.slice(-MAX_KEYRING_HOST_LENGTH)}/team/app`), true);
  });

  it('reduces keys to host plus path, /v1/ and /v2/ meaning the bare host', () => {
    assert.equal(keyringKey('https://index.docker.io/v1/'), 'index.docker.io');
    assert.equal(keyringKey('http://example.com:5000/v2/team'), 'example.com:5000/team');
    assert.equal(keyringKey('quay.io/coreos'), 'quay.io/coreos');
  });

  it('puts the most specific path first', () => {
    const configs = [config('pod', 'a', ['quay.io', 'quay.io/coreos'])];
    assert.deepEqual(usersFor('quay.io', 'coreos/etcd', configs), ['a@quay.io/coreos', 'a@quay.io']);
  });

  it('serves Docker Hub images with index.docker.io entries', () => {
    const configs = [config('pod', 'hub', ['https://index.docker.io/v1/'])];
    assert.deepEqual(usersFor('docker.io', 'library/nginx', configs), ['hub@https://index.docker.io/v1/']);
    assert.deepEqual(usersFor('ghcr.io', 'o/r', configs), []);
  });

  it('orders pod pull secrets, then ServiceAccount ones, then the operator-wide secret', () => {
    const configs = [
      config('operator', 'op', ['ghcr.io']),
      config('serviceAccount', 'sa', ['ghcr.io']),
      config('pod', 'pod', ['ghcr.io']),
      config('pod', 'other', ['quay.io']),
    ];
    assert.deepEqual(usersFor('ghcr.io', 'o/r', configs), ['pod@ghcr.io', 'sa@ghcr.io', 'op@ghcr.io']);
  });

  it('names the secret a credential came from, never its content', () => {
    const [first] = credentialsFor('ghcr.io', 'o/r', [config('pod', 'ns/regcred', ['ghcr.io'])]);
    assert.equal(first?.source, 'pull secret ns/regcred');
  });
});

describe('pull secret parsing', () => {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');

  it('reads a kubernetes.io/dockerconfigjson secret, the auth field winning over username/password', () => {
    const document = {
      auths: { 'ghcr.io': { username: 'ignored', password: 'ignored', auth: b64('robot:pa:ss') } },
    };
    const parsed = parsePullSecret(
      {
        metadata: { namespace: 'ns', name: 's' },
        type: 'kubernetes.io/dockerconfigjson',
        data: { '.dockerconfigjson': b64(JSON.stringify(document)) },
      },
      'pod',
    );
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.config.auths['ghcr.io'], { username: 'robot', password: 'pa:ss' });
    assert.equal(parsed.config.secretName, 'ns/s');
  });

  it('reads a legacy kubernetes.io/dockercfg secret with unpadded base64 auth', () => {
    const auth = b64('u:p1').replace(/=+$/, '');
    const document = { 'https://quay.io': { auth, email: 'x@example.com' } };
    const parsed = parsePullSecret(
      {
        metadata: { namespace: 'ns', name: 'old' },
        type: 'kubernetes.io/dockercfg',
        data: { '.dockercfg': b64(JSON.stringify(document)) },
      },
      'serviceAccount',
    );
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.config.auths['https://quay.io'], { username: 'u', password: 'p1' });
  });

  it('refuses other secret types and malformed auth without quoting the content', () => {
    const opaque = parsePullSecret(
      { metadata: { namespace: 'ns', name: 'o' }, type: 'Opaque', data: {} },
      'pod',
    );
    assert.equal(opaque.ok, false);
    const secretText = 'no-colon-secret-value';
    const bad = parsePullSecret(
      {
        metadata: { namespace: 'ns', name: 'bad' },
        type: 'kubernetes.io/dockerconfigjson',
        data: {
          '.dockerconfigjson': b64(JSON.stringify({ auths: { 'ghcr.io': { auth: b64(secretText) } } })),
        },
      },
      'pod',
    );
    assert.equal(bad.ok, false);
    if (!bad.ok) {
      assert.match(
        bad.error,
        /pull secret ns\/bad: the auth field for ghcr.io must be base64 of username:password/,
      );
      assert.ok(!bad.error.includes(secretText) && !bad.error.includes(b64(secretText)));
    }
  });
});
