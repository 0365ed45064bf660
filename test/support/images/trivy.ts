// Trivy (pinned in hack/tools/trivy) as the reference inventory: it reads an
// image straight from the local registry and lists its packages as CycloneDX.
// Run so that it never leaves loopback: no vulnerability scanner (so no DB
// download), no version check, no telemetry, the remote image source only
// (no Docker/containerd/Podman socket probing), a throwaway cache.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolPath } from '../../cluster/local-cluster.js';
import { runBuffer } from './cache.js';

export interface TrivyPackage {
  purl: string;
  /** Full package name: npm scope and Go module path included, no distro namespace. */
  name: string;
  version: string;
  /** The purl type: deb, apk, rpm, npm, pypi, golang, ... */
  type: string;
}

/** The arguments that make Trivy produce a package inventory offline. */
export function trivyInventoryArgs(imageRef: string, cacheDir: string): string[] {
  return [
    'image',
    '--format=cyclonedx',
    // cyclonedx alone turns every security scanner off, so no database is needed or fetched.
    '--skip-db-update',
    '--skip-java-db-update',
    '--skip-vex-repo-update',
    '--skip-check-update',
    '--offline-scan',
    '--skip-version-check',
    '--disable-telemetry',
    '--image-src=remote',
    '--insecure',
    '--quiet',
    `--cache-dir=${cacheDir}`,
    imageRef,
  ];
}

interface CycloneDxComponent {
  purl?: string;
  name?: string;
  version?: string;
}

/** Name, version and type from a package URL (`pkg:type/namespace/name@version?...`). */
export function packageFromPurl(purl: string): TrivyPackage | undefined {
  const match = /^pkg:([^/]+)\/([^@?#]+)(?:@([^?#]*))?/.exec(purl);
  if (!match?.[1] || !match[2]) return undefined;
  const type = match[1];
  const segments = match[2].split('/').map((segment) => decodeURIComponent(segment));
  // Distribution packages carry the distro as namespace (pkg:deb/debian/bash); it is not part of the name.
  const name = ['deb', 'apk', 'rpm'].includes(type) ? (segments.at(-1) ?? '') : segments.join('/');
  return { purl, name, version: decodeURIComponent(match[3] ?? ''), type };
}

export function parseCycloneDxInventory(bom: string): TrivyPackage[] {
  const document = JSON.parse(bom) as { components?: CycloneDxComponent[] };
  return (document.components ?? [])
    .flatMap((component) => {
      if (!component.purl) return [];
      const parsed = packageFromPurl(component.purl);
      // Trivy's component version keeps the distro's own notation (deb epoch, rpm epoch:version-release).
      return parsed ? [{ ...parsed, version: component.version ?? parsed.version }] : [];
    })
    .sort((a, b) => a.purl.localeCompare(b.purl));
}

export async function trivyInventory(imageRef: string): Promise<TrivyPackage[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'shipshape-trivy-'));
  try {
    const bom = await runBuffer(toolPath('trivy'), trivyInventoryArgs(imageRef, join(scratch, 'cache')), {
      env: {
        ...process.env,
        TRIVY_NO_PROGRESS: 'true',
        HOME: scratch,
        DOCKER_CONFIG: join(scratch, 'docker'),
      },
    });
    return parseCycloneDxInventory(bom.toString('utf8'));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
