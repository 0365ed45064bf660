// Operator configuration of registry access, from a YAML/JSON file and/or command-line
// flags: which non-public hosts or CIDRs may be contacted (loopback, private and
// link-local addresses are refused unless listed here), which hosts speak plain HTTP,
// extra CA bundles, mirrors, rate and concurrency limits, timeouts and size caps. It
// produces the RegistryClientConfig the registry client takes. Default: public hosts
// over HTTPS only. Parsing is pure; reading the file and CA bundles is at the edge.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';

import { AddressPolicy } from '../registry/address-policy.js';
import type { RegistryClientConfig } from '../registry/client.js';
import { parsePlatformString, type Platform } from '../registry/manifest.js';
import type { RegistryHostConfig, TransportTimeouts } from '../registry/transport.js';

/** Per-host settings as written in the file (CA bundles by path). */
export interface RegistryHostSettings {
  plainHttp?: boolean;
  /** Path of a PEM CA bundle trusted for this host in addition to the system roots. */
  caFile?: string;
  mirrors?: string[];
  requestsPerSecond?: number;
  burst?: number;
  maxConcurrency?: number;
}

/** The operator's registry settings, file and flags merged. */
export interface RegistrySettings {
  /**
   * Non-public hosts, IP addresses or CIDRs that may be contacted, as `entry[:port]`:
   * with a port exactly that port, without one only 443 and 80 (see AddressPolicy).
   */
  allow: string[];
  /** Whether public registries may be contacted (default true). */
  allowPublic: boolean;
  /** Settings keyed by `host:port` or bare host. */
  hosts: Record<string, RegistryHostSettings>;
  timeouts: { -readonly [K in keyof TransportTimeouts]?: TransportTimeouts[K] };
  maxManifestBytes?: number;
  blobTimeoutMs?: number;
  platform?: Platform;
}

export type RegistrySettingsResult = { ok: true; settings: RegistrySettings } | { ok: false; error: string };

export function defaultRegistrySettings(): RegistrySettings {
  return { allow: [], allowPublic: true, hosts: {}, timeouts: {} };
}

/** Command-line flags that add to (never remove from) the file's settings. */
export interface RegistryFlags {
  /** `--allow-registry host[:port]|cidr`, repeatable. */
  allow?: readonly string[];
  /** `--plain-http host[:port]`, repeatable. */
  plainHttp?: readonly string[];
  /** `--registry-ca host[:port]=path`, repeatable. */
  caFiles?: readonly string[];
  /** `--registry-mirror host[:port]=mirror[:port]`, repeatable. */
  mirrors?: readonly string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkAllowEntries(entries: readonly string[]): string | undefined {
  try {
    new AddressPolicy({ allow: entries });
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

const HOST_KEY = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/;

function positiveNumber(value: unknown, where: string): number | string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    return `${where} must be a positive number`;
  return value;
}

function parseHost(key: string, value: unknown): RegistryHostSettings | string {
  const where = `hosts["${key}"]`;
  if (!HOST_KEY.test(key)) return `${where}: "${key}" is not a host or host:port`;
  if (!isRecord(value)) return `${where} must be a mapping`;
  const out: RegistryHostSettings = {};
  for (const field of Object.keys(value)) {
    if (!['plainHttp', 'caFile', 'mirrors', 'requestsPerSecond', 'burst', 'maxConcurrency'].includes(field))
      return `${where}: unknown field "${field}"`;
  }
  if (value['plainHttp'] !== undefined) {
    if (typeof value['plainHttp'] !== 'boolean') return `${where}.plainHttp must be true or false`;
    out.plainHttp = value['plainHttp'];
  }
  if (value['caFile'] !== undefined) {
    if (typeof value['caFile'] !== 'string' || value['caFile'] === '')
      return `${where}.caFile must be a path`;
    out.caFile = value['caFile'];
  }
  if (value['mirrors'] !== undefined) {
    const mirrors = value['mirrors'];
    if (!Array.isArray(mirrors) || mirrors.some((m) => typeof m !== 'string' || !HOST_KEY.test(m)))
      return `${where}.mirrors must be a list of host[:port]`;
    out.mirrors = mirrors as string[];
  }
  for (const field of ['requestsPerSecond', 'burst', 'maxConcurrency'] as const) {
    const n = positiveNumber(value[field], `${where}.${field}`);
    if (typeof n === 'string') return n;
    if (n !== undefined) out[field] = n;
  }
  return out;
}

/**
 * Parses the registry configuration document (YAML or JSON):
 *
 * ```yaml
 * allow: ["registry.internal", "10.20.0.0/16", "127.0.0.1:5000"]
 * allowPublic: true
 * hosts:
 *   "registry.internal:5000": { plainHttp: true, caFile: /etc/ca.pem, mirrors: ["cache:5000"],
 *                               requestsPerSecond: 10, burst: 20, maxConcurrency: 4 }
 * timeouts: { connectMs: 10000, responseMs: 30000, bodyIdleMs: 30000, totalMs: 120000 }
 * maxManifestBytes: 4194304
 * blobTimeoutMs: 1800000
 * platform: linux/amd64
 * ```
 */
export function parseRegistrySettings(text: string, source: string): RegistrySettingsResult {
  const fail = (error: string): RegistrySettingsResult => ({ ok: false, error: `${source}: ${error}` });
  let document: unknown;
  try {
    document = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    return fail(`cannot parse: ${(err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''}`);
  }
  if (document === null || document === undefined) return { ok: true, settings: defaultRegistrySettings() };
  if (!isRecord(document)) return fail('must be a mapping');
  const known = [
    'allow',
    'allowPublic',
    'hosts',
    'timeouts',
    'maxManifestBytes',
    'blobTimeoutMs',
    'platform',
  ];
  for (const key of Object.keys(document)) if (!known.includes(key)) return fail(`unknown field "${key}"`);
  const settings = defaultRegistrySettings();

  const allow = document['allow'];
  if (allow !== undefined) {
    if (!Array.isArray(allow) || allow.some((a) => typeof a !== 'string'))
      return fail('allow must be a list of strings');
    const problem = checkAllowEntries(allow as string[]);
    if (problem !== undefined) return fail(problem);
    settings.allow = allow as string[];
  }
  if (document['allowPublic'] !== undefined) {
    if (typeof document['allowPublic'] !== 'boolean') return fail('allowPublic must be true or false');
    settings.allowPublic = document['allowPublic'];
  }
  const hosts = document['hosts'];
  if (hosts !== undefined) {
    if (!isRecord(hosts)) return fail('hosts must be a mapping of host[:port] to settings');
    for (const [key, value] of Object.entries(hosts)) {
      const parsed = parseHost(key, value);
      if (typeof parsed === 'string') return fail(parsed);
      settings.hosts[key] = parsed;
    }
  }
  const timeouts = document['timeouts'];
  if (timeouts !== undefined) {
    if (!isRecord(timeouts)) return fail('timeouts must be a mapping');
    for (const [field, value] of Object.entries(timeouts)) {
      if (!['connectMs', 'responseMs', 'bodyIdleMs', 'totalMs'].includes(field))
        return fail(`timeouts: unknown field "${field}"`);
      const n = positiveNumber(value, `timeouts.${field}`);
      if (typeof n === 'string') return fail(n);
      if (n !== undefined) settings.timeouts[field as keyof TransportTimeouts] = n;
    }
  }
  for (const field of ['maxManifestBytes', 'blobTimeoutMs'] as const) {
    const n = positiveNumber(document[field], field);
    if (typeof n === 'string') return fail(n);
    if (n !== undefined) settings[field] = n;
  }
  const platform = document['platform'];
  if (platform !== undefined) {
    const parsed = typeof platform === 'string' ? parsePlatformString(platform) : undefined;
    if (parsed === undefined) return fail('platform must be os/arch[/variant], e.g. linux/amd64');
    settings.platform = parsed;
  }
  return { ok: true, settings };
}

function splitAssignment(flag: string, text: string): [string, string] | string {
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1) return `${flag} expects host[:port]=value, got "${text}"`;
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** Adds command-line flags to settings; returns an error message for a malformed flag. */
export function applyRegistryFlags(settings: RegistrySettings, flags: RegistryFlags): RegistrySettingsResult {
  const next: RegistrySettings = {
    ...settings,
    allow: [...settings.allow],
    hosts: Object.fromEntries(Object.entries(settings.hosts).map(([k, v]) => [k, { ...v }])),
  };
  const host = (key: string): RegistryHostSettings => (next.hosts[key] ??= {});
  const allow = flags.allow ?? [];
  const problem = checkAllowEntries(allow);
  if (problem !== undefined) return { ok: false, error: `--allow-registry: ${problem}` };
  next.allow.push(...allow);
  for (const h of flags.plainHttp ?? []) {
    if (!HOST_KEY.test(h)) return { ok: false, error: `--plain-http expects host[:port], got "${h}"` };
    host(h).plainHttp = true;
  }
  for (const text of flags.caFiles ?? []) {
    const pair = splitAssignment('--registry-ca', text);
    if (typeof pair === 'string') return { ok: false, error: pair };
    host(pair[0]).caFile = pair[1];
  }
  for (const text of flags.mirrors ?? []) {
    const pair = splitAssignment('--registry-mirror', text);
    if (typeof pair === 'string') return { ok: false, error: pair };
    const entry = host(pair[0]);
    entry.mirrors = [...(entry.mirrors ?? []), pair[1]];
  }
  return { ok: true, settings: next };
}

/**
 * The client configuration for settings, reading CA bundles through `readCa`
 * (rejects with a message naming the file when one cannot be read).
 */
export async function toRegistryClientConfig(
  settings: RegistrySettings,
  readCa: (path: string) => Promise<Buffer> = (path) => readFile(path),
): Promise<RegistryClientConfig> {
  const hosts: Record<string, RegistryHostConfig> = {};
  for (const [key, h] of Object.entries(settings.hosts)) {
    let ca: Buffer | undefined;
    if (h.caFile !== undefined) {
      try {
        ca = await readCa(h.caFile);
      } catch (err) {
        const code =
          typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : 'unreadable';
        throw new Error(`CA bundle ${h.caFile} for registry ${key} cannot be read (${code})`, { cause: err });
      }
    }
    const merged = h;
    hosts[key] = {
      ...(merged.plainHttp === undefined ? {} : { plainHttp: merged.plainHttp }),
      ...(ca === undefined ? {} : { ca }),
      ...(merged.mirrors === undefined ? {} : { mirrors: merged.mirrors }),
      ...(merged.requestsPerSecond === undefined ? {} : { requestsPerSecond: merged.requestsPerSecond }),
      ...(merged.burst === undefined ? {} : { burst: merged.burst }),
      ...(merged.maxConcurrency === undefined ? {} : { maxConcurrency: merged.maxConcurrency }),
    };
  }
  return {
    policy: { allow: [...settings.allow], allowPublic: settings.allowPublic },
    hosts,
    timeouts: settings.timeouts,
    ...(settings.maxManifestBytes === undefined ? {} : { maxManifestBytes: settings.maxManifestBytes }),
    ...(settings.blobTimeoutMs === undefined ? {} : { blobTimeoutMs: settings.blobTimeoutMs }),
    ...(settings.platform === undefined ? {} : { platform: settings.platform }),
  };
}

/** Reads and parses a registry configuration file; errors name the file. */
export async function loadRegistrySettings(path: string): Promise<RegistrySettingsResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : 'unreadable';
    return { ok: false, error: `${path}: cannot be read (${code})` };
  }
  return parseRegistrySettings(text, path);
}
