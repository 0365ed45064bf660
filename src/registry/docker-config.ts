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
  // Cut by index, not by /[?#].*$/, which rescans to the end of the line from every `?`.
  const query = rest.search(/[?#]/);
  if (query >= 0) rest = rest.slice(0, query);
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

/** Thrown inside the glob matcher for what Go reports as ErrBadPattern; the kubelet treats that as no match. */
class BadPattern extends Error {}

/**
 * Go's path/filepath.Match for one host label, ported rather than translated to
 * a RegExp: keys come from tenants' pull secrets and hosts from their images,
 * and `*a*a*a…` as a backtracking RegExp takes exponential time. Go's algorithm
 * tries each star's chunk at each position once, so a match costs at most
 * len(pattern) × len(label) steps. Works on UTF-16 code units (hosts are ASCII).
 */
function globLabelMatches(pattern: string, label: string): boolean {
  try {
    return goMatch(pattern, label);
  } catch (err) {
    if (err instanceof BadPattern) return false;
    throw err;
  }
}

function goMatch(pattern: string, name: string): boolean {
  let rest = pattern;
  let subject = name;
  chunks: while (rest.length > 0) {
    const { star, chunk, after } = scanChunk(rest);
    rest = after;
    // A trailing star matches the rest of the name unless it has a separator.
    if (star && chunk === '') return !subject.includes('/');
    const here = matchChunk(chunk, subject);
    // The last chunk must use up the name; otherwise a star before it may still match.
    if (here !== undefined && (here.length === 0 || rest.length > 0)) {
      subject = here;
      continue;
    }
    if (star) {
      for (let i = 0; i < subject.length && subject[i] !== '/'; i++) {
        const t = matchChunk(chunk, subject.slice(i + 1));
        if (t === undefined) continue;
        if (rest.length === 0 && t.length > 0) continue;
        subject = t;
        continue chunks;
      }
    }
    // Go reports a malformed rest of the pattern even when the match has failed.
    while (rest.length > 0) {
      const next = scanChunk(rest);
      rest = next.after;
      matchChunk(next.chunk, '');
    }
    return false;
  }
  return subject.length === 0;
}

/** The stars, then the text up to the next star outside a character class. */
function scanChunk(pattern: string): { star: boolean; chunk: string; after: string } {
  let p = pattern;
  let star = false;
  while (p.startsWith('*')) {
    p = p.slice(1);
    star = true;
  }
  let inRange = false;
  let i = 0;
  for (; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      if (i + 1 < p.length) i++;
    } else if (c === '[') inRange = true;
    else if (c === ']') inRange = false;
    else if (c === '*' && !inRange) break;
  }
  return { star, chunk: p.slice(0, i), after: p.slice(i) };
}

/** What is left of `s` after a star-free chunk matched its start, or undefined; throws BadPattern. */
function matchChunk(chunk: string, s: string): string | undefined {
  // After a mismatch Go keeps reading the chunk, only to report a malformed one.
  let failed = false;
  let c = chunk;
  let rest = s;
  while (c.length > 0) {
    if (!failed && rest.length === 0) failed = true;
    const head = c[0];
    if (head === '[') {
      const r = failed ? -1 : rest.charCodeAt(0);
      if (!failed) rest = rest.slice(1);
      c = c.slice(1);
      let negated = false;
      if (c.startsWith('^')) {
        negated = true;
        c = c.slice(1);
      }
      let match = false;
      let ranges = 0;
      for (;;) {
        if (c.startsWith(']') && ranges > 0) {
          c = c.slice(1);
          break;
        }
        const lo = classChar(c);
        c = lo.after;
        let hi = lo.code;
        if (c.startsWith('-')) {
          const h = classChar(c.slice(1));
          hi = h.code;
          c = h.after;
        }
        if (lo.code <= r && r <= hi) match = true;
        ranges++;
      }
      if (match === negated) failed = true;
    } else if (head === '?') {
      if (!failed) {
        if (rest[0] === '/') failed = true;
        rest = rest.slice(1);
      }
      c = c.slice(1);
    } else {
      if (head === '\\') {
        c = c.slice(1);
        if (c.length === 0) throw new BadPattern();
      }
      if (!failed) {
        if (c[0] !== rest[0]) failed = true;
        rest = rest.slice(1);
      }
      c = c.slice(1);
    }
  }
  return failed ? undefined : rest;
}

/** Go's getEsc: one possibly escaped character of a class, which must not end the pattern. */
function classChar(chunk: string): { code: number; after: string } {
  let c = chunk;
  if (c.length === 0 || c[0] === '-' || c[0] === ']') throw new BadPattern();
  if (c[0] === '\\') {
    c = c.slice(1);
    if (c.length === 0) throw new BadPattern();
  }
  const after = c.slice(1);
  if (after.length === 0) throw new BadPattern();
  return { code: c.charCodeAt(0), after };
}

/**
 * Longest host (with port) matched: far above a DNS name's 253 characters, and
 * a bound on the glob matching of tenant-written keys. Longer hosts match no key.
 */
export const MAX_KEYRING_HOST_LENGTH = 512;

/** keyring.go URLsMatch: same port, same number of labels, path prefix, each label glob-matches. */
export function keyMatchesImage(key: string, image: string): boolean {
  const glob = parseSchemeless(key);
  const target = parseSchemeless(image);
  if (glob.host.length > MAX_KEYRING_HOST_LENGTH || target.host.length > MAX_KEYRING_HOST_LENGTH)
    return false;
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
  constructor(readonly dockerConfigs: readonly DockerConfig[]) {}

  credentialsFor(registry: string, repository: string): readonly RegistryCredential[] {
    return credentialsFor(registry, repository, this.dockerConfigs);
  }

  describe(): string {
    return this.dockerConfigs.length === 0
      ? 'no pull secrets'
      : `pull secrets ${this.dockerConfigs.map((c) => c.secretName).join(', ')}`;
  }
}

/**
 * The pull secrets behind a DockerConfigCredentialSource as plain data, to hand to
 * another thread (structured clone): the worker that analyses an image rebuilds the
 * source with dockerConfigSourceFrom. Holds passwords: never log or report it.
 */
export function dockerConfigsOf(source: DockerConfigCredentialSource): readonly DockerConfig[] {
  return source.dockerConfigs.map((c) => ({ ...c, auths: { ...c.auths } }));
}

/**
 * Rebuilds a credential source from dockerConfigsOf's output, keeping only well-formed
 * entries: what crosses a thread boundary is checked again, not trusted by its type.
 */
export function dockerConfigSourceFrom(configs: unknown): DockerConfigCredentialSource {
  const valid: DockerConfig[] = [];
  for (const config of Array.isArray(configs) ? (configs as unknown[]) : []) {
    if (!isRecord(config) || !isRecord(config['auths'])) continue;
    const origin = config['origin'];
    if (typeof origin !== 'string' || !(originOrder as readonly string[]).includes(origin)) continue;
    const auths: Record<string, DockerAuthEntry> = {};
    for (const [key, entry] of Object.entries(config['auths'])) {
      if (!isRecord(entry) || typeof entry['username'] !== 'string' || typeof entry['password'] !== 'string')
        continue;
      auths[key] = { username: entry['username'], password: entry['password'] };
    }
    valid.push({
      origin: origin as PullSecretOrigin,
      secretName: typeof config['secretName'] === 'string' ? config['secretName'] : '',
      auths,
    });
  }
  return new DockerConfigCredentialSource(valid);
}
