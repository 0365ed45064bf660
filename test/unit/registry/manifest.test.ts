import assert from 'node:assert/strict';

import {
  parseManifest,
  parsePlatformString,
  selectPlatformManifest,
  type Descriptor,
  type ImageIndex,
} from '../../../src/registry/manifest.js';
import {
  DOCKER_MANIFEST_LIST,
  OCI_IMAGE_INDEX,
  OCI_IMAGE_MANIFEST,
} from '../../../src/registry/media-types.js';

const d = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;
const bytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

describe('manifest parsing', () => {
  it('parses an OCI image manifest', () => {
    const parsed = parseManifest(
      bytes({
        schemaVersion: 2,
        mediaType: OCI_IMAGE_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d(1), size: 10 },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d(2), size: 20 }],
      }),
    );
    assert.ok(parsed.ok);
    assert.equal(parsed.manifest.kind, 'manifest');
  });

  it('takes the media type from Content-Type or the shape when the document omits it', () => {
    const index = parseManifest(bytes({ schemaVersion: 2, manifests: [] }));
    assert.ok(index.ok && index.manifest.kind === 'index' && index.manifest.mediaType === OCI_IMAGE_INDEX);
    const list = parseManifest(bytes({ schemaVersion: 2, manifests: [] }), DOCKER_MANIFEST_LIST);
    assert.ok(list.ok && list.manifest.mediaType === DOCKER_MANIFEST_LIST);
  });

  const bad: [string, unknown, RegExp][] = [
    ['schema 1', { schemaVersion: 1, name: 'x', fsLayers: [] }, /schema 1 manifests are not supported/],
    [
      'an unknown media type',
      { schemaVersion: 2, mediaType: 'text/plain' },
      /unsupported manifest media type/,
    ],
    [
      'a bad layer digest',
      {
        schemaVersion: 2,
        mediaType: OCI_IMAGE_MANIFEST,
        config: { mediaType: 'c', digest: d(1), size: 1 },
        layers: [{ mediaType: 'l', digest: 'sha256:xyz', size: 1 }],
      },
      /layers\[0\]: invalid sha256 digest/,
    ],
    [
      'a negative size',
      {
        schemaVersion: 2,
        mediaType: OCI_IMAGE_MANIFEST,
        config: { mediaType: 'c', digest: d(1), size: -1 },
        layers: [],
      },
      /config has an invalid size/,
    ],
  ];
  for (const [what, document, message] of bad) {
    it(`refuses ${what}`, () => {
      const parsed = parseManifest(bytes(document));
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.error, message);
    });
  }
  it('refuses bytes that are not JSON', () => assert.equal(parseManifest(Buffer.from('{')).ok, false));
});

describe('platform selection from an index', () => {
  const entry = (n: number, platform: Record<string, string>): Descriptor => ({
    mediaType: OCI_IMAGE_MANIFEST,
    digest: d(n),
    size: 1,
    platform: {
      os: platform['os'] ?? '',
      architecture: platform['architecture'] ?? '',
      ...(platform['variant'] ? { variant: platform['variant'] } : {}),
    },
  });
  const index: ImageIndex = {
    kind: 'index',
    mediaType: OCI_IMAGE_INDEX,
    manifests: [
      entry(1, { os: 'linux', architecture: 'amd64' }),
      entry(2, { os: 'linux', architecture: 'arm64', variant: 'v8' }),
      entry(3, { os: 'linux', architecture: 'arm', variant: 'v6' }),
      entry(4, { os: 'linux', architecture: 'arm', variant: 'v7' }),
      entry(5, { os: 'windows', architecture: 'amd64' }),
      entry(6, { os: 'unknown', architecture: 'unknown' }),
    ],
  };
  const pick = (text: string): string | undefined => {
    const platform = parsePlatformString(text);
    assert.ok(platform !== undefined);
    return selectPlatformManifest(index, platform)?.digest;
  };

  it('picks linux/amd64', () => assert.equal(pick('linux/amd64'), d(1)));
  it('treats arm64 without a variant as arm64/v8', () => assert.equal(pick('linux/arm64'), d(2)));
  it('treats aarch64 as arm64', () => assert.equal(pick('linux/aarch64'), d(2)));
  it('prefers the exact arm variant', () => assert.equal(pick('linux/arm/v7'), d(4)));
  it('treats arm without a variant as arm/v7', () => assert.equal(pick('linux/arm'), d(4)));
  it('lets an older arm variant serve a newer host', () => assert.equal(pick('linux/arm/v8'), d(4)));
  it('never serves a newer arm variant to an older host', () =>
    assert.equal(pick('linux/arm/v5'), undefined));
  it('picks windows images only for windows', () => assert.equal(pick('windows/amd64'), d(5)));
  it('finds nothing for a platform that is not offered', () => assert.equal(pick('linux/s390x'), undefined));
});
