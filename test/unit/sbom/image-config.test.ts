import assert from 'node:assert/strict';

import { imageConfigFacts, isRootUser, secretEnvKeys } from '../../../src/sbom/image-config.js';

const sizes = { layerCount: 3, compressedBytes: 1000, uncompressedBytes: 5000 };

describe('image configuration facts', () => {
  it('treats an empty user, 0, root and 0:0 as root, and a numeric or named user as not', () => {
    for (const user of ['', '0', 'root', '0:0', 'root:wheel']) assert.equal(isRootUser(user), true, user);
    for (const user of ['1000', 'nobody', '65532:65532', 'app:0'])
      assert.equal(isRootUser(user), false, user);
  });

  it('reports env keys that look like secrets, by key or by value, and never their values', () => {
    const env = [
      'PATH=/usr/local/bin:/usr/bin',
      'DB_PASSWORD=hunter2',
      'GITHUB_TOKEN=abc',
      'PASSWORD_FILE=/run/secrets/pw',
      'AWS_ID=AKIAABCDEFGHIJKLMNOP',
      'DATABASE_URL=postgres://app:s3cr3t@db:5432/app',
      'GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D',
      'EMPTY_SECRET=',
    ];
    const keys = secretEnvKeys(env);
    assert.deepEqual(keys, ['DB_PASSWORD', 'GITHUB_TOKEN', 'AWS_ID', 'DATABASE_URL']);
    const facts = imageConfigFacts({ config: { Env: env } }, sizes);
    assert.ok(!JSON.stringify(facts).includes('hunter2'));
    assert.ok(!JSON.stringify(facts).includes('s3cr3t'));
  });

  it('reads user, health check, ports, sizes, creation time and base image hints', () => {
    const facts = imageConfigFacts(
      {
        architecture: 'amd64',
        os: 'linux',
        created: '2024-01-02T03:04:05Z',
        config: {
          User: '65532',
          ExposedPorts: { '8080/tcp': {}, '443/tcp': {} },
          Healthcheck: { Test: ['CMD', '/healthz'] },
          Labels: {
            'org.opencontainers.image.base.name': 'docker.io/library/debian:12',
            'org.opencontainers.image.base.digest': 'sha256:abc',
          },
        },
        history: [
          { created_by: '/bin/sh -c #(nop) ADD file:123 in / ' },
          { created_by: '/bin/sh -c #(nop) CMD ["bash"]', empty_layer: true },
        ],
      },
      sizes,
    );
    assert.equal(facts.user, '65532');
    assert.equal(facts.runsAsRoot, false);
    assert.deepEqual(facts.healthcheck, { test: ['CMD', '/healthz'] });
    assert.deepEqual(facts.exposedPorts, ['443/tcp', '8080/tcp']);
    assert.equal(facts.layerCount, 3);
    assert.equal(facts.compressedBytes, 1000);
    assert.equal(facts.uncompressedBytes, 5000);
    assert.equal(facts.created, '2024-01-02T03:04:05Z');
    assert.equal(facts.baseImage.name, 'docker.io/library/debian:12');
    assert.equal(facts.baseImage.digest, 'sha256:abc');
    assert.ok(facts.baseImage.hints.some((h) => h.includes('ADD file:123 in /')));
  });

  it('treats a missing config, and a health check of NONE, as root without a health check', () => {
    const facts = imageConfigFacts({ config: { Healthcheck: { Test: ['NONE'] } } }, sizes);
    assert.equal(facts.runsAsRoot, true);
    assert.equal(facts.healthcheck, undefined);
    assert.equal(imageConfigFacts({}, sizes).runsAsRoot, true);
  });
});
