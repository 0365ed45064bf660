// Facts about an image read from its OCI/Docker configuration JSON: who it runs
// as, health check, ports, env entries that look like secrets (keys only, never
// values), sizes, creation time and hints of the base image. Pure.
import type { ImageConfigFacts } from './types.js';

/** The parts of an image configuration this module reads; everything is optional in the wild. */
export interface ImageConfigJson {
  architecture?: string;
  os?: string;
  created?: string;
  config?: {
    User?: string;
    Env?: string[] | null;
    ExposedPorts?: Record<string, unknown> | null;
    Healthcheck?: { Test?: string[] | null } | null;
    Labels?: Record<string, string> | null;
  } | null;
  history?: Array<{ created_by?: string; empty_layer?: boolean; comment?: string }> | null;
  rootfs?: { diff_ids?: string[] };
}

export interface ImageSizes {
  layerCount: number;
  compressedBytes: number;
  uncompressedBytes: number;
}

/** '', '0', 'root' and '0:<any group>' run as uid 0. */
export function isRootUser(user: string): boolean {
  const name = user.split(':')[0]?.trim() ?? '';
  return name === '' || name === '0' || name === 'root';
}

const SECRET_KEY =
  /(?:^|_)(?:PASSWORD|PASSWD|PASS|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|SECRET_?KEY|CREDENTIALS?)(?:$|_)/i;
/** Keys naming where a secret is, not the secret. */
const INDIRECT_KEY = /_(?:FILE|PATH|DIR|PATHS)$/i;
/**
 * Value patterns of well-known credentials. An env value is tenant data of any
 * length, and a pattern tried at every offset that backtracks over the rest of the
 * string is quadratic: a 120 KB value of letters made the URL pattern take seconds.
 * So every pattern whose opening class can repeat starts only where a run of that
 * class starts (a lookbehind), which makes each a single pass in V8's engine, and
 * only the first MAX_SECRET_SCAN_CHARS of a value are scanned.
 */
const SECRET_VALUE = [
  /AKIA[0-9A-Z]{16}/, // AWS access key id
  /(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{36}/, // GitHub tokens
  /(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20}/, // GitLab personal access token
  /(?<![A-Za-z0-9-])xox[abposr]-[A-Za-z0-9-]{10}/, // Slack tokens
  /-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----/,
  /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10}/, // JWT
  /(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,31}:\/\/[^/\s:@]+:[^/\s@]+@/i, // URL with user:password
];

/** Credentials sit at the start of a value or near it; a longer value is scanned this far. */
export const MAX_SECRET_SCAN_CHARS = 16 * 1024;

/** Env keys whose key or value looks like a secret. */
export function secretEnvKeys(env: readonly string[]): string[] {
  const keys = new Set<string>();
  for (const entry of env) {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    const value = eq < 0 ? '' : entry.slice(eq + 1, eq + 1 + MAX_SECRET_SCAN_CHARS);
    const keyLooksSecret = SECRET_KEY.test(key) && !INDIRECT_KEY.test(key) && value !== '';
    if (keyLooksSecret || SECRET_VALUE.some((re) => re.test(value))) keys.add(key);
  }
  return [...keys];
}

export function imageConfigFacts(config: ImageConfigJson, sizes: ImageSizes): ImageConfigFacts {
  const c = config.config ?? {};
  const user = c.User ?? '';
  const facts: ImageConfigFacts = {
    user,
    runsAsRoot: isRootUser(user),
    exposedPorts: Object.keys(c.ExposedPorts ?? {}).sort(),
    secretEnvKeys: secretEnvKeys(c.Env ?? []),
    layerCount: sizes.layerCount,
    compressedBytes: sizes.compressedBytes,
    uncompressedBytes: sizes.uncompressedBytes,
    baseImage: baseImageHints(config),
  };
  const test = c.Healthcheck?.Test ?? [];
  // ["NONE"] is how an image switches off the health check of its base.
  if (test.length > 0 && test[0] !== 'NONE') facts.healthcheck = { test: [...test] };
  if (config.created !== undefined) facts.created = config.created;
  if (config.architecture !== undefined) facts.architecture = config.architecture;
  if (config.os !== undefined) facts.os = config.os;
  return facts;
}

function baseImageHints(config: ImageConfigJson): ImageConfigFacts['baseImage'] {
  const labels = config.config?.Labels ?? {};
  const base: ImageConfigFacts['baseImage'] = { hints: [] };
  const name = labels['org.opencontainers.image.base.name'];
  const digest = labels['org.opencontainers.image.base.digest'];
  if (name !== undefined && name !== '') base.name = name;
  if (digest !== undefined && digest !== '') base.digest = digest;
  for (const [key, value] of Object.entries(labels)) {
    if (key.startsWith('org.opencontainers.image.base.')) base.hints.push(`label ${key}=${value}`);
  }
  const history = config.history ?? [];
  // The first filesystem step of a Dockerfile build is usually the base's rootfs
  // ("ADD file:<sha> in /"); buildkit marks where the final stage begins too.
  const root = history.find((h) => h.empty_layer !== true);
  if (root?.created_by !== undefined)
    base.hints.push(`first layer created by: ${root.created_by.trim().slice(0, 200)}`);
  for (const h of history) {
    const from = /^FROM\s+(\S+)/i.exec(h.comment ?? '');
    if (from?.[1] !== undefined) base.hints.push(`history comment FROM ${from[1]}`);
  }
  for (const key of ['org.opencontainers.image.source', 'org.opencontainers.image.title']) {
    const v = labels[key];
    if (v !== undefined && v !== '') base.hints.push(`label ${key}=${v}`);
  }
  return base;
}
