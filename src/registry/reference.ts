// Image references parsed the way Docker and the kubelet parse them
// (github.com/distribution/reference ParseNormalizedNamed): default registry docker.io,
// `library/` for single-component Docker Hub names, optional port, tag and digest.
// Pure: no I/O, so pod specs can be checked without touching a registry.

export const DOCKER_HUB_DOMAIN = 'docker.io';
const LEGACY_DOCKER_HUB_DOMAIN = 'index.docker.io';
/** Docker Hub's distribution API endpoint: the name `docker.io` itself does not serve /v2/. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
export const REPOSITORY_NAME_MAX_LENGTH = 255;

export interface ImageReference {
  /** Registry domain as written (normalized: `docker.io` for Docker Hub), with port if any. */
  readonly registry: string;
  /** Repository path inside the registry, e.g. `library/nginx`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export type ParsedReference = { ok: true; reference: ImageReference } | { ok: false; error: string };

// The grammar of distribution/reference regexp.go, kept in the same pieces.
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const optionalPort = '(?::[0-9]+)?';
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const domainAndPort = `(?:${domainName}|${ipv6address})${optionalPort}`;
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePattern = `(?:${domainAndPort}/)?${remoteName}`;

const referenceRegexp = new RegExp(`^(${namePattern})(?::(${tagPattern}))?(?:@(${digestPattern}))?$`);
const anchoredNameRegexp = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const anchoredIdentifierRegexp = /^[a-f0-9]{64}$/;
const anchoredTagRegexp = new RegExp(`^${tagPattern}$`);

// go-digest's registered algorithms and the exact encoded form each one requires.
const digestEncodings: Record<string, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha384: /^[a-f0-9]{96}$/,
  sha512: /^[a-f0-9]{128}$/,
};

/** Checks an `algorithm:hex` digest the way go-digest's Parse does; returns a reason or undefined. */
export function digestProblem(digest: string): string | undefined {
  const colon = digest.indexOf(':');
  if (colon <= 0 || colon === digest.length - 1) return `invalid digest format "${digest}"`;
  const algorithm = digest.slice(0, colon);
  const encoded = digest.slice(colon + 1);
  const encoding = digestEncodings[algorithm];
  if (encoding === undefined) return `unsupported digest algorithm "${algorithm}"`;
  if (!encoding.test(encoded)) return `invalid ${algorithm} digest "${digest}"`;
  return undefined;
}

export function isValidTag(tag: string): boolean {
  return anchoredTagRegexp.test(tag);
}

function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  if (slash < 0) return { domain: DOCKER_HUB_DOMAIN, remainder: OFFICIAL_REPO_PREFIX + name };
  const maybeDomain = name.slice(0, slash);
  const maybeRemote = name.slice(slash + 1);
  let domain: string;
  let remainder: string;
  if (maybeDomain === 'localhost') {
    [domain, remainder] = [maybeDomain, maybeRemote];
  } else if (maybeDomain === LEGACY_DOCKER_HUB_DOMAIN) {
    [domain, remainder] = [DOCKER_HUB_DOMAIN, maybeRemote];
  } else if (/[.:]/.test(maybeDomain) || maybeDomain.toLowerCase() !== maybeDomain) {
    // A "." or ":" marks a host; so does uppercase, which a repository path may not contain.
    [domain, remainder] = [maybeDomain, maybeRemote];
  } else {
    [domain, remainder] = [DOCKER_HUB_DOMAIN, name];
  }
  if (domain === DOCKER_HUB_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/** Parses an image reference as Docker does; never throws. */
export function tryParseImageReference(input: string): ParsedReference {
  const fail = (why: string): ParsedReference => ({
    ok: false,
    error: `invalid image reference "${input}": ${why}`,
  });
  if (input === '') return fail('repository name must have at least one component');
  if (anchoredIdentifierRegexp.test(input)) {
    return fail('cannot specify 64-byte hexadecimal strings as a repository name');
  }
  const { domain, remainder } = splitDockerDomain(input);
  const tagSeparator = remainder.indexOf(':');
  const remote = tagSeparator >= 0 ? remainder.slice(0, tagSeparator) : remainder;
  if (remote.toLowerCase() !== remote) return fail(`repository name "${remote}" must be lowercase`);

  const full = `${domain}/${remainder}`;
  const match = referenceRegexp.exec(full);
  if (match === null) {
    if (referenceRegexp.test(full.toLowerCase())) return fail('repository name must be lowercase');
    return fail('invalid reference format');
  }
  const nameMatch = anchoredNameRegexp.exec(match[1] ?? '');
  const repository = nameMatch?.[2] ?? '';
  if (repository.length > REPOSITORY_NAME_MAX_LENGTH) {
    return fail(`repository name must not be more than ${REPOSITORY_NAME_MAX_LENGTH} characters`);
  }
  const tag = match[2];
  const digest = match[3];
  if (digest !== undefined) {
    const problem = digestProblem(digest);
    if (problem !== undefined) return fail(problem);
  }
  return {
    ok: true,
    reference: {
      registry: nameMatch?.[1] ?? domain,
      repository,
      ...(tag === undefined ? {} : { tag }),
      ...(digest === undefined ? {} : { digest }),
    },
  };
}

/** Parses an image reference; throws an Error with a user-facing reason when invalid. */
export function parseImageReference(input: string): ImageReference {
  const parsed = tryParseImageReference(input);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.reference;
}

/** The fully qualified name, e.g. `docker.io/library/nginx:1.27@sha256:...`. */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${
    ref.digest === undefined ? '' : `@${ref.digest}`
  }`;
}

/** The short form Docker shows: `nginx:1.27`, `user/app`, `ghcr.io/o/r`. */
export function familiarName(ref: ImageReference): string {
  let name = `${ref.registry}/${ref.repository}`;
  if (ref.registry === DOCKER_HUB_DOMAIN) {
    name = ref.repository;
    const rest = name.startsWith(OFFICIAL_REPO_PREFIX) ? name.slice(OFFICIAL_REPO_PREFIX.length) : undefined;
    if (rest !== undefined && !rest.includes('/')) name = rest;
  }
  return name;
}

/**
 * What to ask the registry for: the digest when present (Docker ignores the tag of
 * `name:tag@digest`), else the tag, else `latest`.
 */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** The host:port that serves the distribution API for a registry domain. */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB_DOMAIN ? DOCKER_HUB_API_HOST : registry;
}
