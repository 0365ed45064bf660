// Registry authentication pieces that need no network: the credential types and the
// CredentialSource interface, parsing of WWW-Authenticate challenges (RFC 7235, as
// the distribution token spec uses them), the token response, and a cache of bearer
// tokens per realm, service, scope and credential until they expire.
import { createHash } from 'node:crypto';

export interface RegistryCredential {
  readonly username: string;
  readonly password: string;
  /** Where it came from (e.g. `pull secret ns/name`): shown in messages, unlike the values. */
  readonly source: string;
}

/** Supplies candidate credentials for a repository, best first; empty means anonymous. */
export interface CredentialSource {
  credentialsFor(
    registry: string,
    repository: string,
  ): readonly RegistryCredential[] | Promise<readonly RegistryCredential[]>;
}

export const ANONYMOUS: CredentialSource = { credentialsFor: () => [] };

export interface AuthChallenge {
  /** Lower-case scheme: `bearer`, `basic`, ... */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses a WWW-Authenticate header value into its challenges. Handles quoted strings
 * with commas and escapes, and several challenges in one header.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  let i = 0;
  const n = header.length;
  const skipSpace = (): void => {
    while (i < n && /[\s,]/.test(header[i] as string)) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+.^_`|~0-9A-Za-z/-]/.test(header[i] as string)) i++;
    return header.slice(start, i);
  };
  while (i < n) {
    skipSpace();
    const scheme = readToken();
    if (scheme === '') {
      i++;
      continue;
    }
    const current = { scheme: scheme.toLowerCase(), params: {} as Record<string, string> };
    challenges.push(current);
    for (;;) {
      while (i < n && /[ \t]/.test(header[i] as string)) i++;
      const save = i;
      const name = readToken();
      while (i < n && /[ \t]/.test(header[i] as string)) i++;
      if (name === '' || header[i] !== '=') {
        // Not a parameter: the start of the next challenge (or token68, which registries do not use).
        i = save;
        break;
      }
      i++;
      while (i < n && /[ \t]/.test(header[i] as string)) i++;
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++;
      } else {
        const start = i;
        while (i < n && header[i] !== ',') i++;
        value = header.slice(start, i).trim();
      }
      current.params[name.toLowerCase()] = value;
      while (i < n && /[ \t]/.test(header[i] as string)) i++;
      if (header[i] === ',') i++;
      else break;
    }
  }
  return challenges;
}

export interface BearerToken {
  readonly token: string;
  /** Epoch milliseconds after which the token must not be used. */
  readonly expiresAt: number;
}

/** The spec's minimum lifetime when a token response gives none. */
const DEFAULT_TOKEN_LIFETIME_SECONDS = 60;
/** Renew a little early so a token does not expire in flight. */
const EXPIRY_MARGIN_MS = 5_000;

/** Reads a token endpoint's JSON answer (`token` or `access_token`, `expires_in`, `issued_at`). */
export function parseTokenResponse(body: string, now: number): BearerToken | undefined {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof document !== 'object' || document === null) return undefined;
  const record = document as Record<string, unknown>;
  const token =
    typeof record['token'] === 'string' && record['token'] !== ''
      ? record['token']
      : typeof record['access_token'] === 'string'
        ? record['access_token']
        : undefined;
  if (token === undefined || token === '') return undefined;
  const expiresIn =
    typeof record['expires_in'] === 'number' && record['expires_in'] > 0
      ? record['expires_in']
      : DEFAULT_TOKEN_LIFETIME_SECONDS;
  const issuedAt = typeof record['issued_at'] === 'string' ? Date.parse(record['issued_at']) : Number.NaN;
  // Trust issued_at only when it is close to our clock: skewed clocks would expire tokens at once.
  const start = Number.isFinite(issuedAt) && Math.abs(issuedAt - now) < 60_000 ? issuedAt : now;
  const lifetime = expiresIn * 1000;
  return { token, expiresAt: start + lifetime - Math.min(EXPIRY_MARGIN_MS, lifetime / 10) };
}

/** A non-reversible identity of a credential for cache keys, so keys never hold secrets. */
export function credentialFingerprint(credential: RegistryCredential | undefined): string {
  if (credential === undefined) return 'anonymous';
  return createHash('sha256')
    .update(`${credential.username}\0${credential.password}`)
    .digest('hex')
    .slice(0, 32);
}

export function basicAuthorization(credential: RegistryCredential): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`, 'utf8').toString('base64')}`;
}

/** Bearer tokens per realm + service + scope + credential, dropped when expired. */
export class TokenCache {
  private readonly tokens = new Map<string, BearerToken>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 1000,
  ) {}

  static key(
    realm: string,
    service: string,
    scope: string,
    credential: RegistryCredential | undefined,
  ): string {
    return [realm, service, scope, credentialFingerprint(credential)].join('\n');
  }

  get(key: string): string | undefined {
    const entry = this.tokens.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.tokens.delete(key);
      return undefined;
    }
    return entry.token;
  }

  set(key: string, token: BearerToken): void {
    if (this.tokens.size >= this.maxEntries) {
      const oldest = this.tokens.keys().next();
      if (oldest.done !== true) this.tokens.delete(oldest.value);
    }
    this.tokens.set(key, token);
  }

  delete(key: string): void {
    this.tokens.delete(key);
  }

  get size(): number {
    return this.tokens.size;
  }
}

/** The scope string a pull needs (distribution token spec). */
export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}
