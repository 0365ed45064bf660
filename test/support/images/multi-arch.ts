// A multi-platform image: an OCI index over linux/amd64 and linux/arm64
// Alpine fixture images whose contents differ (apk architecture, musl loader
// name), so a client that picks the wrong platform is caught.
import { pushImageWith, pushIndex, type LayerCompression, type Platform } from '../oci-push.js';
import { alpineLayer, ALPINE_RELEASE, type AlpineArch } from './alpine.js';
import { manifestMediaType, type TestImage } from './expected.js';

export interface MultiArchImage extends TestImage {
  /** Each platform's own image, pushed by digest only. */
  platforms: Array<TestImage & { platform: Platform }>;
}

const PLATFORMS: Array<{ arch: AlpineArch; platform: Platform }> = [
  { arch: 'x86_64', platform: { os: 'linux', architecture: 'amd64' } },
  { arch: 'aarch64', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
];

export async function multiArchIndex(
  registry: string,
  options: {
    repository?: string;
    tag?: string;
    compression?: LayerCompression;
    format?: 'oci' | 'docker';
  } = {},
): Promise<MultiArchImage> {
  const {
    repository = 'test/multi-arch',
    tag = ALPINE_RELEASE,
    compression = 'gzip',
    format = 'oci',
  } = options;
  const platforms: MultiArchImage['platforms'] = [];
  const children = [];
  for (const { arch, platform } of PLATFORMS) {
    const { layer, packages } = alpineLayer(arch);
    const image = await pushImageWith(registry, repository, '', [layer], {
      compression,
      format,
      config: { ...platform, config: { Cmd: ['/bin/sh'] } },
    });
    children.push({ image, platform });
    platforms.push({
      reference: image.reference,
      digest: image.digest,
      mediaType: manifestMediaType(image.manifest),
      platform,
      expected: {
        os: { family: 'alpine', version: ALPINE_RELEASE },
        packages,
        absent: [],
        files: [{ path: 'etc/apk/arch', present: true, content: `${arch}\n` }],
      },
    });
  }
  const index = await pushIndex(registry, repository, tag, children, { format });
  const amd64 = platforms[0];
  if (!amd64) throw new Error('no platforms');
  return {
    reference: index.reference,
    digest: index.digest,
    mediaType: manifestMediaType(index.index),
    // What a client on linux/amd64 resolves the index to.
    expected: amd64.expected,
    platforms,
  };
}
