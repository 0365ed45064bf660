// Pushing test images to a registry over the OCI distribution API, the way a
// client such as crane or docker does: blob uploads, then the manifest.
import { createHash } from 'node:crypto';
import { gzipSync, zstdCompressSync } from 'node:zlib';

export const sha256 = (data: Buffer | string): string =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface PushedImage {
  reference: string;
  digest: string;
  manifest: Buffer;
  config: Descriptor;
  layers: Descriptor[];
}

export async function pushBlob(
  registry: string,
  repository: string,
  data: Buffer,
  auth?: string,
): Promise<string> {
  const digest = sha256(data);
  const headers: Record<string, string> = auth ? { Authorization: auth } : {};
  const start = await fetch(`http://${registry}/v2/${repository}/blobs/uploads/`, {
    method: 'POST',
    headers,
  });
  if (start.status !== 202) throw new Error(`blob upload start: ${start.status} ${await start.text()}`);
  const location = new URL(start.headers.get('location') ?? '', `http://${registry}`);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { ...headers, 'Content-Type': 'application/octet-stream' },
    body: data,
  });
  if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${await put.text()}`);
  return digest;
}

export async function pushManifest(
  registry: string,
  repository: string,
  reference: string,
  manifest: Buffer,
  mediaType: string,
  auth?: string,
): Promise<string> {
  const response = await fetch(`http://${registry}/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'Content-Type': mediaType, ...(auth ? { Authorization: auth } : {}) },
    body: manifest,
  });
  if (response.status !== 201) throw new Error(`manifest push: ${response.status} ${await response.text()}`);
  return response.headers.get('docker-content-digest') ?? sha256(manifest);
}

/** How layers are stored in the registry; `none` pushes the tar itself. */
export type LayerCompression = 'gzip' | 'zstd' | 'none';
/** OCI media types, or Docker's v2 schema 2 (which has no zstd layer type). */
export type ManifestFormat = 'oci' | 'docker';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface PushImageOptions {
  /** Fields merged into the image config (architecture, os, config, history, ...). */
  config?: Record<string, unknown>;
  compression?: LayerCompression;
  format?: ManifestFormat;
  auth?: string;
}

const MEDIA_TYPES = {
  oci: {
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    index: 'application/vnd.oci.image.index.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: {
      gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
      zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
      none: 'application/vnd.oci.image.layer.v1.tar',
    },
  },
  docker: {
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: {
      gzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
      zstd: undefined,
      none: 'application/vnd.docker.image.rootfs.diff.tar',
    },
  },
} as const;

export function compressLayer(layerTar: Buffer, compression: LayerCompression): Buffer {
  if (compression === 'gzip') return gzipSync(layerTar);
  if (compression === 'zstd') return zstdCompressSync(layerTar);
  return layerTar;
}

/** Push an OCI image made of the given uncompressed tar layers (gzipped here). */
export async function pushImage(
  registry: string,
  repository: string,
  tag: string,
  layerTars: Buffer[],
  config: Record<string, unknown> = {},
  auth?: string,
): Promise<PushedImage> {
  return pushImageWith(registry, repository, tag, layerTars, { config, ...(auth ? { auth } : {}) });
}

/**
 * Push an image made of uncompressed tar layers, compressed and described as
 * asked. An empty tag pushes by digest only (how index children are pushed).
 */
export async function pushImageWith(
  registry: string,
  repository: string,
  tag: string,
  layerTars: Buffer[],
  options: PushImageOptions = {},
): Promise<PushedImage> {
  const { compression = 'gzip', format = 'oci', auth } = options;
  const types = MEDIA_TYPES[format];
  const layerType = types.layer[compression];
  if (!layerType) throw new Error(`${format} manifests have no media type for ${compression} layers`);
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const layerTar of layerTars) {
    const blob = compressLayer(layerTar, compression);
    diffIds.push(sha256(layerTar));
    layers.push({
      mediaType: layerType,
      digest: await pushBlob(registry, repository, blob, auth),
      size: blob.length,
    });
  }
  const configBlob = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      ...options.config,
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
  const configDescriptor = {
    mediaType: types.config,
    digest: await pushBlob(registry, repository, configBlob, auth),
    size: configBlob.length,
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: types.manifest,
      config: configDescriptor,
      layers,
    }),
  );
  const digest = await pushManifest(
    registry,
    repository,
    tag || sha256(manifest),
    manifest,
    types.manifest,
    auth,
  );
  return {
    reference: tag ? `${registry}/${repository}:${tag}` : `${registry}/${repository}@${digest}`,
    digest,
    manifest,
    config: configDescriptor,
    layers,
  };
}

export interface PushedIndex {
  reference: string;
  digest: string;
  index: Buffer;
  manifests: Array<Descriptor & { platform: Platform }>;
}

/** Push an image index (manifest list) over images already pushed to the same repository. */
export async function pushIndex(
  registry: string,
  repository: string,
  tag: string,
  images: Array<{ image: PushedImage; platform: Platform }>,
  options: { format?: ManifestFormat; auth?: string } = {},
): Promise<PushedIndex> {
  const { format = 'oci', auth } = options;
  const types = MEDIA_TYPES[format];
  const manifests = images.map(({ image, platform }) => ({
    mediaType: (JSON.parse(image.manifest.toString()) as { mediaType: string }).mediaType,
    digest: image.digest,
    size: image.manifest.length,
    platform,
  }));
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: types.index, manifests }));
  const digest = await pushManifest(registry, repository, tag, index, types.index, auth);
  return { reference: `${registry}/${repository}:${tag}`, digest, index, manifests };
}
