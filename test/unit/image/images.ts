// Test images for the image analyzer's tests: layers built in memory with the ustar
// writer, gzipped with node:zlib, stored in a FakeRegistry served on 127.0.0.1.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

import {
  OCI_IMAGE_CONFIG,
  OCI_IMAGE_MANIFEST,
  OCI_LAYER_TAR_GZIP,
} from '../../../src/registry/media-types.js';
import type { RegistryClientConfig } from '../../../src/registry/client.js';
import { tar, type TarEntry } from '../../support/tar.js';
import type { FakeRegistry } from '../registry/fake-registry.js';

export const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../../../test/fixtures/sbom/${name}`, import.meta.url));

/** A Debian base layer: os-release and the dpkg status database of the fixtures. */
export function baseLayer(): Buffer {
  return tar([
    { path: 'etc/', type: 'dir' },
    { path: 'etc/os-release', content: fixture('os-release-debian') },
    { path: 'var/lib/dpkg/status', content: fixture('dpkg-status') },
  ]);
}

/** An application layer with one npm package. */
export function appLayer(): Buffer {
  return tar([
    { path: 'app/node_modules/@babel/code-frame/package.json', content: fixture('npm-package.json') },
  ]);
}

export const DPKG_PACKAGES = fixture('dpkg-status')
  .toString()
  .split('\n')
  .filter((l) => l.startsWith('Package: ')).length;

export const IMAGE_CONFIG = {
  architecture: 'amd64',
  os: 'linux',
  created: '2024-05-01T10:00:00Z',
  config: {
    User: '1000:1000',
    Env: ['PATH=/usr/bin', 'API_KEY=abc123'],
    Healthcheck: { Test: ['CMD', 'true'] },
  },
};

export interface StoredImage {
  digest: string;
  layers: { digest: string; size: number }[];
  config: { digest: string; size: number };
}

/** Stores an image whose layer blobs are given as they are served (already compressed). */
export function storeImage(
  registry: FakeRegistry,
  repository: string,
  tag: string,
  blobs: Buffer[],
  config: unknown = IMAGE_CONFIG,
): StoredImage {
  const configBlob = registry.putBlob(Buffer.from(JSON.stringify(config)));
  const layers = blobs.map((b) => registry.putBlob(b));
  const digest = registry.putManifest(
    repository,
    tag,
    {
      schemaVersion: 2,
      mediaType: OCI_IMAGE_MANIFEST,
      config: { mediaType: OCI_IMAGE_CONFIG, ...configBlob },
      layers: layers.map((l) => ({ mediaType: OCI_LAYER_TAR_GZIP, ...l })),
    },
    OCI_IMAGE_MANIFEST,
  );
  return { digest, layers, config: configBlob };
}

/** Stores an image made of uncompressed tar layers, gzipping each. */
export function storeTarImage(
  registry: FakeRegistry,
  repository: string,
  tag: string,
  tars: Buffer[],
  config: unknown = IMAGE_CONFIG,
): StoredImage {
  return storeImage(
    registry,
    repository,
    tag,
    tars.map((t) => gzipSync(t)),
    config,
  );
}

export function layerTar(entries: TarEntry[]): Buffer {
  return tar(entries);
}

/** Client configuration for a registry on 127.0.0.1 over plain HTTP, without retries. */
export function loopbackConfig(extra: Partial<RegistryClientConfig> = {}): RegistryClientConfig {
  return {
    // Test registries listen on random ports; an entry without a port would admit 443/80 only.
    policy: { allow: ['127.0.0.1:*'] },
    hosts: { '127.0.0.1': { plainHttp: true } },
    retry: { maxAttempts: 1 },
    ...extra,
  };
}
