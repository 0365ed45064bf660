// Pull secrets: reading `kubernetes.io/dockerconfigjson` and legacy
// `kubernetes.io/dockercfg` Secrets, and choosing the credentials for an image the
// way the kubelet's credentialprovider keyring does (pkg/credentialprovider/keyring.go):
// keys may carry a scheme and a path, host labels may be globs (`*.example.com`),
// the port must match exactly, a key's path must be a prefix of the repository path,
// more specific keys (reverse-sorted) come first, and `index.docker.io` entries serve
// Docker Hub images. The operator pulls what the kubelet could pull, no more.
import type { CredentialSource, RegistryCredential } from './auth.js';

/** Where a pull secret came from; credentials are tried in this order. */
export type PullSecretOrigin = 'pod' | 'serviceAccount' | 'operator';
const originOrder: readonly PullSecretOrigin[] = ['pod', 'serviceAccount', 'operator'];

export interface DockerAuthEntry {
  readonly username: string;
  readonly password: string;
}

/** One parsed pull secret: its `auths` keyed as written in the secret. */
export interface DockerConfig {
  readonly origin: PullSecretOrigin;
  /** `namespace/name` of the Secret: safe to show in messages, unlike its content. */
  readonly secretName: string;
  readonly auths: Readonly<Record<string, DockerAuthEntry>>;
}

/** The fields of a core/v1 Secret this module reads (structurally a V1Secret). */
export interface SecretLike {
  readonly metadata?: { readonly namespace?: string; readonly name?: string };
  readonly type?: string;
  /** Base64-encoded values, as the API returns them. */
  readonly data?: Readonly<Record<string, string>>;
}

export const DOCKER_CONFIG_JSON_SECRET_TYPE = 'kubernetes.io/dockerconfigjson';
export const DOCKER_CFG_SECRET_TYPE = 'kubernetes.io/dockercfg';

export type DockerConfigParseResult = { ok: true; config: DockerConfig } | { ok: false; error: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads one `auths` entry; `auth` (base64 of user:password) wins over username/password, as in the kubelet. */
function parseAuthEntry(value: unknown): DockerAuthEntry | undefined {
  if (!isRecord(value)) return undefined;
  const auth = value['auth'];
  if (typeof auth === 'string' && auth.length > 0) {
    const decoded = Buffer.from(auth.trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const username = typeof value['username'] === 'string' ? value['username'] : '';
  const password = typeof value['password'] === 'string' ? value['password'] : '';
  return { username, password };
}

/**
 * Parses a docker config document: `{"auths": {...}}` (config.json / .dockerconfigjson)
 * or the legacy bare map (.dockercfg). Error messages never quote the content.
 */
export function parseDockerConfigDocument(
  text: string,
  format: 'dockerconfigjson' | 'dockercfg',
  origin: PullSecretOrigin,
  secretName: string,
): DockerConfigParseResult {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return { ok: false, error: `pull secret ${secretName} does not hold valid JSON` };
  }
  const map = format === 'dockerconfigjson' && isRecord(document) ? document['auths'] : document;
  if (!isRecord(map)) return { ok: false, error: `pull secret ${secretName} has no registry entries` };
  const auths: Record<string, DockerAuthEntry> = {};
  for (const [key, value] of Object.entries(map)) {
    const entry = parseAuthEntry(value);
    if (entry === undefined) {
      return {
        ok: false,
        error: `pull secret ${secretName}: the auth field for ${key} must be base64 of username:password`,
      };
    }
    auths[key] = entry;
  }
  return { ok: true, config: { origin, secretName, auths } };
}

/** Parses a Secret of type dockerconfigjson or dockercfg; other types are refused with a reason. */
export function parsePullSecret(secret: SecretLike, origin: PullSecretOrigin): DockerConfigParseResult {
  const secretName = `${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`;
  const pick = (key: string): string | undefined => {
    const value = secret.data?.[key];
    return value === undefined || value === '' ? undefined : Buffer.from(value, 'base64').toString('utf8');
  };
  if (secret.type === DOCKER_CONFIG_JSON_SECRET_TYPE) {
    const text = pick('.dockerconfigjson');
    if (text !== undefined) return parseDockerConfigDocument(text, 'dockerconfigjson', origin, secretName);
  } else if (secret.type === DOCKER_CFG_SECRET_TYPE) {
    const text = pick('.dockercfg');
    if (text !== undefined) return parseDockerConfigDocument(text, 'dockercfg', origin, secretName);
  }
  return {
    ok: false,
    error: `secret ${secretName} is not a pull secret (type ${DOCKER_CONFIG_JSON_SECRET_TYPE} with .dockerconfigjson, or ${DOCKER_CFG_SECRET_TYPE} with .dockercfg)`,
  };
}

interface SchemelessUrl {
  readonly host: string;
  readonly path: string;
}

/** Like Go's url.Parse("https://" + s) for the parts the keyring uses: host[:port] and path. */
function parseSchemeless(text: string): SchemelessUrl {
  let rest = text.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, '');
  rest = rest.replace(/[?#].*$/, '');
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const host = authority.includes('@') ? authority.slice(authority.lastIndexOf('@') + 1) : authority;
  return { host, path: slash < 0 ? '' : rest.slice(slash) };
}

/** The keyring key of a config entry: host plus path, with /v1/ and /v2/ meaning the bare host (keyring.go Add). */
export function keyringKey(entryKey: string): string {
  const { host, path } = parseSchemeless(entryKey);
  let effectivePath = path;
  if (effectivePath.startsWith('/v2/') || effectivePath.startsWith('/v1/'))
    effectivePath = effectivePath.slice(3);
  return effectivePath.length > 0 && effectivePath !== '/' ? host + effectivePath : host;
}

function splitHostPort(host: string): { labels: string[]; port: string } {
  const m = /^(.*):(\d*)$/.exec(host);
  // Go's net.SplitHostPort fails on a bare host (or IPv6 without brackets); then the port is empty.
  if (m !== null && !(m[1] ?? '').includes(':')) return { labels: (m[1] ?? '').split('.'), port: m[2] ?? '' };
  const bracketed = /^\[(.*)\]:(\d*)$/.exec(host);
  if (bracketed !== null) return { labels: (bracketed[1] ?? '').split('.'), port: bracketed[2] ?? '' };
  return { labels: host.split('.'), port: '' };
}

/** Go's path/filepath.Match for one host label (no separators occur inside a label). */
function globLabelMatches(pattern: string, label: string): boolean {
  let source = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '\\' && i + 1 < pattern.length) source += `\\${pattern[++i] as string}`;
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) return false; // Go reports ErrBadPattern; the kubelet treats that as no match.
      let cls = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (cls.startsWith('^')) cls = `^${cls.slice(1)}`;
      source += `[${cls}]`;
      i = end;
    } else source += c.replace(/[.+^${}()|\]\\/-]/g, '\\$&');
  }
  try {
    return new RegExp(`${source}$`).test(label);
  } catch {
    return false;
  }
}

/** keyring.go URLsMatch: same port, same number of labels, path prefix, each label glob-matches. */
export function keyMatchesImage(key: string, image: string): boolean {
  const glob = parseSchemeless(key);
  const target = parseSchemeless(image);
  const g = splitHostPort(glob.host);
  const t = splitHostPort(target.host);
  if (g.port !== t.port) return false;
  if (g.labels.length !== t.labels.length) return false;
  if (!target.path.startsWith(glob.path)) return false;
  return g.labels.every((label, i) => globLabelMatches(label, t.labels[i] ?? ''));
}

/** keyring.go isDefaultRegistryMatch: images that Docker would pull from Docker Hub. */
function isDefaultRegistryMatch(image: string): boolean {
  const slash = image.indexOf('/');
  const first = slash < 0 ? image : image.slice(0, slash);
  if (first.length === 0) return false;
  if (slash < 0) return true;
  if (first === 'docker.io' || first === 'index.docker.io') return true;
  return !/[.:]/.test(first);
}

/** One BasicDockerKeyring built from a group of configs, looked up for one image. */
function lookupKeyring(configs: readonly DockerConfig[], image: string): RegistryCredential[] {
  const creds = new Map<string, RegistryCredential[]>();
  for (const config of configs) {
    for (const [entryKey, entry] of Object.entries(config.auths)) {
      const key = keyringKey(entryKey);
      const list = creds.get(key) ?? [];
      list.push({
        username: entry.username,
        password: entry.password,
        source: `pull secret ${config.secretName}`,
      });
      creds.set(key, list);
    }
  }
  // Reverse byte order puts "quay.io/coreos" before "quay.io": the more specific path first.
  const index = [...creds.keys()].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
  const matched: RegistryCredential[] = [];
  for (const key of index) if (keyMatchesImage(key, image)) matched.push(...(creds.get(key) ?? []));
  if (matched.length > 0) return matched;
  if (isDefaultRegistryMatch(image)) return creds.get('index.docker.io') ?? [];
  return [];
}

/**
 * The credentials to try, in order, for `registryHost/repository`: those of the pod's
 * imagePullSecrets, then of its ServiceAccount's pull secrets, then the operator-wide
 * secret. `registryHost` is the reference's registry (`docker.io` for Docker Hub).
 */
export function credentialsFor(
  registryHost: string,
  repository: string,
  dockerConfigs: readonly DockerConfig[],
): RegistryCredential[] {
  const image = `${registryHost}/${repository}`;
  const result: RegistryCredential[] = [];
  for (const origin of originOrder) {
    result.push(
      ...lookupKeyring(
        dockerConfigs.filter((c) => c.origin === origin),
        image,
      ),
    );
  }
  return result;
}

/** A CredentialSource over a fixed set of parsed pull secrets (one pod's, or the operator's). */
export class DockerConfigCredentialSource implements CredentialSource {
  constructor(private readonly dockerConfigs: readonly DockerConfig[]) {}

  credentialsFor(registry: string, repository: string): readonly RegistryCredential[] {
    return credentialsFor(registry, repository, this.dockerConfigs);
  }

  describe(): string {
    return this.dockerConfigs.length === 0
      ? 'no pull secrets'
      : `pull secrets ${this.dockerConfigs.map((c) => c.secretName).join(', ')}`;
  }
}
