import assert from 'node:assert/strict';

import {
  familiarName,
  formatImageReference,
  manifestReference,
  registryApiHost,
  tryParseImageReference,
  type ImageReference,
} from '../../../src/registry/reference.js';

const DIGEST = 'sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa';

describe('image reference parsing (Docker normalization)', () => {
  const valid: [string, ImageReference][] = [
    ['nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['library/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['index.docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['index.docker.io/user/app', { registry: 'docker.io', repository: 'user/app' }],
    ['user/app', { registry: 'docker.io', repository: 'user/app' }],
    ['library/foo/bar', { registry: 'docker.io', repository: 'library/foo/bar' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['localhost:5000/x', { registry: 'localhost:5000', repository: 'x' }],
    ['localhost:5000/x:1', { registry: 'localhost:5000', repository: 'x', tag: '1' }],
    ['127.0.0.1:5000/private/moonbase', { registry: '127.0.0.1:5000', repository: 'private/moonbase' }],
    ['example.com:8000/privatebasee', { registry: 'example.com:8000', repository: 'privatebasee' }],
    ['ghcr.io/org/team/app:v2', { registry: 'ghcr.io', repository: 'org/team/app', tag: 'v2' }],
    ['[fc00::1]:5000/docker/docker', { registry: '[fc00::1]:5000', repository: 'docker/docker' }],
    ['LOCALDOMAIN/debian', { registry: 'LOCALDOMAIN', repository: 'debian' }],
    ['Foo/bar', { registry: 'Foo', repository: 'bar' }],
    // No slash: the whole thing is a Docker Hub name, so the ":80" is a tag.
    ['192.168.0.1:80', { registry: 'docker.io', repository: 'library/192.168.0.1', tag: '80' }],
    ['dock__er/docker', { registry: 'docker.io', repository: 'dock__er/docker' }],
    ['docker---rules/docker', { registry: 'docker.io', repository: 'docker---rules/docker' }],
    [`busybox@${DIGEST}`, { registry: 'docker.io', repository: 'library/busybox', digest: DIGEST }],
    [
      `busybox:latest@${DIGEST}`,
      { registry: 'docker.io', repository: 'library/busybox', tag: 'latest', digest: DIGEST },
    ],
    [
      `registry.k8s.io:443/pause:3.10@${DIGEST}`,
      { registry: 'registry.k8s.io:443', repository: 'pause', tag: '3.10', digest: DIGEST },
    ],
    [
      'docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a',
      {
        registry: 'docker.io',
        repository: 'library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a',
      },
    ],
  ];
  for (const [input, expected] of valid) {
    it(`parses ${input}`, () => {
      const parsed = tryParseImageReference(input);
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
      assert.deepEqual(parsed.reference, expected);
    });
  }

  const invalid: [string, RegExp][] = [
    ['', /at least one component/],
    ['docker/Docker', /must be lowercase/],
    ['docker.io/docker/Docker', /must be lowercase/],
    ['Nginx', /must be lowercase/],
    ['https://github.com/docker/docker', /invalid reference format/],
    ['-docker', /invalid reference format/],
    ['-docker.io/docker/docker', /invalid reference format/],
    ['docker///docker', /invalid reference format/],
    ['docker-/docker', /invalid reference format/],
    ['dock..er/docker', /invalid reference format/],
    ['docker/', /invalid reference format/],
    ['[fc00::1]:5000', /invalid reference format/],
    ['fc00::1:5000/debian', /invalid reference format/],
    ['[fe80::1%eth0]:5000/debian', /invalid reference format/],
    ['1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a', /64-byte hexadecimal/],
    ['nginx:-tag', /invalid reference format/],
    [`nginx:${'t'.repeat(129)}`, /invalid reference format/],
    ['nginx@sha256:abc', /invalid reference format/],
    [`nginx@md5:${'a'.repeat(32)}`, /unsupported digest algorithm "md5"/],
    [`nginx@sha256:${'A'.repeat(64)}`, /invalid sha256 digest/],
    [`nginx@sha256:${'a'.repeat(63)}`, /invalid sha256 digest/],
    [`example.com/${'a'.repeat(256)}`, /not be more than 255 characters/],
  ];
  for (const [input, message] of invalid) {
    it(`rejects ${JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}...` : input)}`, () => {
      const parsed = tryParseImageReference(input);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) {
        assert.match(parsed.error, message);
        assert.ok(parsed.error.startsWith('invalid image reference'));
      }
    });
  }

  it('formats the full and the familiar name', () => {
    const parsed = tryParseImageReference(`busybox:latest@${DIGEST}`);
    assert.ok(parsed.ok);
    assert.equal(formatImageReference(parsed.reference), `docker.io/library/busybox:latest@${DIGEST}`);
    assert.equal(familiarName(parsed.reference), 'busybox');
    assert.equal(familiarName({ registry: 'docker.io', repository: 'library/foo/bar' }), 'library/foo/bar');
    assert.equal(familiarName({ registry: 'ghcr.io', repository: 'o/r' }), 'ghcr.io/o/r');
  });

  it('asks for the digest of name:tag@digest, else the tag, else latest', () => {
    assert.equal(manifestReference({ registry: 'r', repository: 'x', tag: 't', digest: DIGEST }), DIGEST);
    assert.equal(manifestReference({ registry: 'r', repository: 'x', tag: 't' }), 't');
    assert.equal(manifestReference({ registry: 'r', repository: 'x' }), 'latest');
  });

  it('talks to registry-1.docker.io for Docker Hub and to the named host otherwise', () => {
    assert.equal(registryApiHost('docker.io'), 'registry-1.docker.io');
    assert.equal(registryApiHost('localhost:5000'), 'localhost:5000');
  });
});
