// Builds the vulnerability database provider from user-facing settings (the
// operator's --vulnerability-db-* flags, `shipshape scan --db`, `shipshape db
// pull --source`): parses each source spec (`dir:/path`, `zip:/path`,
// `https://mirror/base` with ecosystems, `oci:registry/repo:tag`) into a source,
// and combines them under one refresher. Registry access comes in from the
// caller (a client and a transport configuration with the address policy), so
// this module never decides what may be contacted.
import { stat } from 'node:fs/promises';

import type { CredentialSource } from '../registry/auth.js';
import type { RegistryClient } from '../registry/client.js';
import type { TransportConfig } from '../registry/transport.js';
import { DatabaseRefresher } from './refresher.js';
import type { RefreshObserver } from './refresher.js';
import { HttpsArchiveSource, parseArchiveBaseUrl } from './sources/https-archive.js';
import { LocalSource } from './sources/local.js';
import { OciArtifactSource, parseOciSource } from './sources/oci-artifact.js';
import type { DatabaseSource } from './sources/source.js';
import type { ZipLimits } from './zip-reader.js';

export type SourceSpec =
  | { kind: 'dir' | 'zip'; path: string }
  | { kind: 'https'; baseUrl: string }
  | { kind: 'oci'; reference: string };

export class VulnerabilitySettingsError extends Error {}

/** Parses `dir:/path`, `zip:/path`, `https://...` (or `http://`), `oci:registry/repo:tag`. */
export function parseSourceSpec(text: string): SourceSpec | string {
  if (text.startsWith('dir:') || text.startsWith('zip:')) {
    const path = text.slice(4);
    if (path === '') return `${text}: the path is missing`;
    return { kind: text.startsWith('dir:') ? 'dir' : 'zip', path };
  }
  if (text.startsWith('https://') || text.startsWith('http://')) {
    const url = parseArchiveBaseUrl(text);
    return typeof url === 'string' ? url : { kind: 'https', baseUrl: text };
  }
  if (text.startsWith('oci:')) {
    const parsed = parseOciSource(text.slice(4));
    return typeof parsed === 'string' ? parsed : { kind: 'oci', reference: text.slice(4) };
  }
  return `"${text}" is not a database source (dir:/path, zip:/path, https://base-url or oci:registry/repo:tag)`;
}

/**
 * The source a bare `--db` argument names: an existing directory or file, an
 * http(s) URL, or else an OCI reference (`oci:` optional).
 */
export async function guessSourceSpec(text: string): Promise<SourceSpec | string> {
  if (/^(dir|zip|oci):|^https?:\/\//.test(text)) return parseSourceSpec(text);
  const info = await stat(text).catch(() => undefined);
  if (info?.isDirectory() === true) return { kind: 'dir', path: text };
  if (info?.isFile() === true) return { kind: 'zip', path: text };
  if (text.startsWith('/') || text.startsWith('.')) return `${text} does not exist`;
  return parseSourceSpec(`oci:${text}`);
}

export interface VulnerabilityDatabaseSettings {
  /** Source specs (see parseSourceSpec) or parsed ones; none means matching is Disabled. */
  sources: readonly (string | SourceSpec)[];
  /** OSV ecosystem folders fetched from every https source (Debian, Alpine, PyPI, Go, npm, ...). */
  ecosystems?: readonly string[];
  /** Cron expression of the refresh (default every 6 hours). */
  refresh?: string;
  /** Data older than this is reported Stale. */
  maxAgeMs?: number;
  /** Pulls `oci:` sources with the operator's registry settings and credentials. */
  registry?: RegistryClient;
  /** Credentials for `oci:` sources, asked for at each refresh (default: the client's own). */
  registryCredentials?: () => Promise<CredentialSource>;
  /** The registry transport configuration (address policy, plain HTTP and CAs per host) for https sources. */
  transport?: TransportConfig;
  /** Where downloads are kept (default a temporary directory). */
  workDir?: string;
  /** HTTPS archive limits (defaults: 2 GiB per archive, 30 s stall). */
  maxArchiveBytes?: number;
  stallTimeoutMs?: number;
  limits?: ZipLimits;
  observer?: RefreshObserver;
  onError?: (error: unknown) => void;
  onClose?: () => void | Promise<void>;
}

/** Ecosystem folders as osv.dev names them; `Debian:12` is found in `Debian/all.zip`. */
export function archiveFolderOf(ecosystem: string): string {
  const colon = ecosystem.indexOf(':');
  return colon === -1 ? ecosystem : ecosystem.slice(0, colon);
}

export function sourceFor(spec: SourceSpec, settings: VulnerabilityDatabaseSettings): DatabaseSource {
  switch (spec.kind) {
    case 'dir':
    case 'zip':
      return new LocalSource(spec.kind, spec.path);
    case 'https': {
      const ecosystems = [...new Set((settings.ecosystems ?? []).map(archiveFolderOf))];
      if (ecosystems.length === 0)
        throw new VulnerabilitySettingsError(
          `${spec.baseUrl} needs the ecosystems to fetch (--vulnerability-db-ecosystems Debian,Alpine,PyPI,...)`,
        );
      return new HttpsArchiveSource({
        baseUrl: spec.baseUrl,
        ecosystems,
        ...(settings.transport === undefined ? {} : { transport: settings.transport }),
        ...(settings.workDir === undefined ? {} : { workDir: settings.workDir }),
        ...(settings.maxArchiveBytes === undefined ? {} : { maxArchiveBytes: settings.maxArchiveBytes }),
        ...(settings.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: settings.stallTimeoutMs }),
      });
    }
    case 'oci':
      if (settings.registry === undefined)
        throw new VulnerabilitySettingsError(`oci:${spec.reference} needs a registry client`);
      return new OciArtifactSource({
        reference: spec.reference,
        registry: settings.registry,
        ...(settings.registryCredentials === undefined ? {} : { credentials: settings.registryCredentials }),
        ...(settings.workDir === undefined ? {} : { workDir: settings.workDir }),
      });
  }
}

/**
 * The provider the operator hands to the image service: every source combined
 * into one database, refreshed on the schedule. Call `start()` to load (it
 * resolves after the first attempt; matching sees Unavailable until then) and
 * `close()` on shutdown. Throws VulnerabilitySettingsError for a bad setting.
 */
export function createVulnerabilityDatabaseProvider(
  settings: VulnerabilityDatabaseSettings,
): DatabaseRefresher {
  const sources: DatabaseSource[] = [];
  try {
    for (const entry of settings.sources) {
      const spec = typeof entry === 'string' ? parseSourceSpec(entry) : entry;
      if (typeof spec === 'string') throw new VulnerabilitySettingsError(spec);
      sources.push(sourceFor(spec, settings));
    }
    return new DatabaseRefresher({
      sources,
      ...(settings.refresh === undefined ? {} : { schedule: settings.refresh }),
      ...(settings.maxAgeMs === undefined ? {} : { maxAgeMs: settings.maxAgeMs }),
      ...(settings.limits === undefined ? {} : { limits: settings.limits }),
      ...(settings.observer === undefined ? {} : { observer: settings.observer }),
      ...(settings.onError === undefined ? {} : { onError: settings.onError }),
      ...(settings.onClose === undefined ? {} : { onClose: settings.onClose }),
    });
  } catch (err) {
    for (const source of sources) void source.close();
    if (err instanceof VulnerabilitySettingsError) throw err;
    throw new VulnerabilitySettingsError(err instanceof Error ? err.message : String(err));
  }
}
