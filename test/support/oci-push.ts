// Pushing test images to a registry over the OCI distribution API, the way a
// client such as crane or docker does: blob uploads, then the manifest.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

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

/** Push an OCI image made of the given uncompressed tar layers (gzipped here). */
export async function pushImage(
  registry: string,
  repository: string,
  tag: string,
  layerTars: Buffer[],
  config: Record<string, unknown> = {},
  auth?: string,
): Promise<PushedImage> {
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const layerTar of layerTars) {
    const gz = gzipSync(layerTar);
    diffIds.push(sha256(layerTar));
    layers.push({
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: await pushBlob(registry, repository, gz, auth),
      size: gz.length,
    });
  }
  const configBlob = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      ...config,
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
  const configDescriptor = {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    digest: await pushBlob(registry, repository, configBlob, auth),
    size: configBlob.length,
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: configDescriptor,
      layers,
    }),
  );
  const digest = await pushManifest(
    registry,
    repository,
    tag,
    manifest,
    'application/vnd.oci.image.manifest.v1+json',
    auth,
  );
  return {
    reference: `${registry}/${repository}:${tag}`,
    digest,
    manifest,
    config: configDescriptor,
    layers,
  };
}
