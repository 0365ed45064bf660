// Manifest documents (OCI image manifest and index, Docker v2 schema 2 manifest and
// manifest list): validation of their shape, digests of their bytes, and choosing the
// platform's manifest out of an index the way containerd's platform matcher does.
import { createHash } from 'node:crypto';

import {
  DOCKER_MANIFEST_V1,
  DOCKER_MANIFEST_V1_SIGNED,
  OCI_IMAGE_INDEX,
  OCI_IMAGE_MANIFEST,
  isImageManifestMediaType,
  isIndexMediaType,
} from './media-types.js';
import { digestProblem } from './reference.js';

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: Platform;
  readonly artifactType?: string;
}

export interface ImageManifest {
  readonly kind: 'manifest';
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly subject?: Descriptor;
}

export interface ImageIndex {
  readonly kind: 'index';
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

export type Manifest = ImageManifest | ImageIndex;

export type ManifestParseResult = { ok: true; manifest: Manifest } | { ok: false; error: string };

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

/** The canonical digest of some bytes, `sha256:<hex>` unless another algorithm is asked for. */
export function computeDigest(bytes: Uint8Array, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** The algorithm part of a digest as node:crypto names it, or undefined if unsupported. */
export function digestAlgorithm(digest: string): string | undefined {
  if (digestProblem(digest) !== undefined) return undefined;
  return digest.slice(0, digest.indexOf(':'));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

function parsePlatform(value: unknown): Platform | undefined {
  if (!isRecord(value)) return undefined;
  const { os, architecture, variant } = value;
  if (typeof os !== 'string' || typeof architecture !== 'string') return undefined;
  const osVersion = value['os.version'];
  const osFeatures = value['os.features'];
  return {
    os,
    architecture,
    ...(typeof variant === 'string' && variant !== '' ? { variant } : {}),
    ...(typeof osVersion === 'string' ? { 'os.version': osVersion } : {}),
    ...(Array.isArray(osFeatures) ? { 'os.features': osFeatures.filter((f) => typeof f === 'string') } : {}),
  };
}

/** Validates one descriptor; returns a reason string when it is unusable. */
function parseDescriptor(value: unknown, where: string): Descriptor | string {
  if (!isRecord(value)) return `${where} is not an object`;
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType === '') return `${where} has no mediaType`;
  if (typeof digest !== 'string') return `${where} has no digest`;
  const problem = digestProblem(digest);
  if (problem !== undefined) return `${where}: ${problem}`;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    return `${where} has an invalid size`;
  const platform = parsePlatform(value['platform']);
  const annotations = stringRecord(value['annotations']);
  const urls = Array.isArray(value['urls']) ? value['urls'].filter((u) => typeof u === 'string') : undefined;
  const artifactType = value['artifactType'];
  return {
    mediaType,
    digest,
    size,
    ...(platform === undefined ? {} : { platform }),
    ...(annotations === undefined ? {} : { annotations }),
    ...(urls === undefined ? {} : { urls }),
    ...(typeof artifactType === 'string' ? { artifactType } : {}),
  };
}

/**
 * Parses manifest bytes. The media type comes from the document's own `mediaType`
 * field, else from the response's Content-Type, else from its shape (OCI allows
 * omitting `mediaType`).
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): ManifestParseResult {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return { ok: false, error: 'manifest is not valid JSON' };
  }
  if (!isRecord(document)) return { ok: false, error: 'manifest is not a JSON object' };
  let mediaType = typeof document['mediaType'] === 'string' ? document['mediaType'] : contentType;
  if (
    mediaType === DOCKER_MANIFEST_V1 ||
    mediaType === DOCKER_MANIFEST_V1_SIGNED ||
    document['schemaVersion'] === 1
  ) {
    return {
      ok: false,
      error: 'Docker schema 1 manifests are not supported (push the image again with a current tool)',
    };
  }
  if (mediaType === undefined || !(isIndexMediaType(mediaType) || isImageManifestMediaType(mediaType))) {
    if (mediaType === undefined || mediaType === 'application/json') {
      // Shape decides when nothing else does.
      if (Array.isArray(document['manifests'])) mediaType = OCI_IMAGE_INDEX;
      else if (isRecord(document['config'])) mediaType = OCI_IMAGE_MANIFEST;
    }
    if (mediaType === undefined || !(isIndexMediaType(mediaType) || isImageManifestMediaType(mediaType))) {
      return { ok: false, error: `unsupported manifest media type ${JSON.stringify(mediaType ?? '(none)')}` };
    }
  }
  if (document['schemaVersion'] !== 2) return { ok: false, error: 'manifest schemaVersion must be 2' };
  const annotations = stringRecord(document['annotations']);

  if (isIndexMediaType(mediaType)) {
    const raw = document['manifests'];
    if (!Array.isArray(raw)) return { ok: false, error: 'index has no manifests list' };
    const manifests: Descriptor[] = [];
    for (const [i, item] of raw.entries()) {
      const d = parseDescriptor(item, `manifests[${i}]`);
      if (typeof d === 'string') return { ok: false, error: d };
      manifests.push(d);
    }
    return {
      ok: true,
      manifest: {
        kind: 'index',
        mediaType,
        manifests,
        ...(annotations === undefined ? {} : { annotations }),
      },
    };
  }

  const config = parseDescriptor(document['config'], 'config');
  if (typeof config === 'string') return { ok: false, error: config };
  const rawLayers = document['layers'];
  if (!Array.isArray(rawLayers)) return { ok: false, error: 'manifest has no layers list' };
  const layers: Descriptor[] = [];
  for (const [i, item] of rawLayers.entries()) {
    const d = parseDescriptor(item, `layers[${i}]`);
    if (typeof d === 'string') return { ok: false, error: d };
    layers.push(d);
  }
  const subject =
    document['subject'] === undefined ? undefined : parseDescriptor(document['subject'], 'subject');
  if (typeof subject === 'string') return { ok: false, error: subject };
  return {
    ok: true,
    manifest: {
      kind: 'manifest',
      mediaType,
      config,
      layers,
      ...(annotations === undefined ? {} : { annotations }),
      ...(subject === undefined ? {} : { subject }),
    },
  };
}

const architectureAliases: Record<string, { architecture: string; variant?: string }> = {
  i386: { architecture: '386' },
  x86_64: { architecture: 'amd64' },
  'x86-64': { architecture: 'amd64' },
  aarch64: { architecture: 'arm64' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armel: { architecture: 'arm', variant: 'v6' },
};

/** Normalizes a platform as containerd does: arch aliases, and the default variants of arm (v7) and arm64 (v8). */
export function normalizePlatform(platform: Platform): { os: string; architecture: string; variant: string } {
  const os = platform.os.toLowerCase();
  let architecture = platform.architecture.toLowerCase();
  let variant = (platform.variant ?? '').toLowerCase();
  const alias = architectureAliases[architecture];
  if (alias !== undefined) {
    architecture = alias.architecture;
    if (variant === '' && alias.variant !== undefined) variant = alias.variant;
  }
  if (architecture === 'arm64' && variant === '8') variant = 'v8';
  if (architecture === 'arm64' && variant === '') variant = 'v8';
  if (architecture === 'arm' && variant === '') variant = 'v7';
  if (architecture === 'arm' && /^[5-8]$/.test(variant)) variant = `v${variant}`;
  if (architecture === 'amd64' && variant === '') variant = 'v1';
  return { os, architecture, variant };
}

function variantRank(variant: string): number {
  const m = /^v(\d+)$/.exec(variant);
  return m === null ? -1 : Number(m[1]);
}

/**
 * How well a candidate serves the wanted platform: undefined if it cannot run,
 * higher is better. An armv7 host can run v6 and v5 images too (containerd's rule),
 * preferring the newest variant; amd64 levels likewise.
 */
export function platformScore(wanted: Platform, candidate: Platform): number | undefined {
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture) return undefined;
  if (w.variant === c.variant) return 1000;
  if (w.architecture === 'arm' || w.architecture === 'amd64') {
    const wr = variantRank(w.variant);
    const cr = variantRank(c.variant);
    if (wr >= 0 && cr >= 0 && cr <= wr) return cr;
  }
  return undefined;
}

/** The descriptor in an index that best matches the platform, or undefined. */
export function selectPlatformManifest(index: ImageIndex, wanted: Platform): Descriptor | undefined {
  let best: { descriptor: Descriptor; score: number } | undefined;
  for (const descriptor of index.manifests) {
    if (descriptor.platform === undefined) continue;
    if (!isImageManifestMediaType(descriptor.mediaType) && !isIndexMediaType(descriptor.mediaType)) continue;
    const score = platformScore(wanted, descriptor.platform);
    if (score !== undefined && (best === undefined || score > best.score)) best = { descriptor, score };
  }
  return best?.descriptor;
}

export function formatPlatform(platform: Platform): string {
  return `${platform.os}/${platform.architecture}${platform.variant === undefined ? '' : `/${platform.variant}`}`;
}

/** Parses `os/arch[/variant]` as written on command lines and in configuration. */
export function parsePlatformString(text: string): Platform | undefined {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) return undefined;
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return { os, architecture, ...(variant === undefined ? {} : { variant }) };
}
