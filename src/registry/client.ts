// The registry client the image analysis uses: resolves tags to digests, fetches and
// verifies manifests (choosing the platform out of an index), and streams verified
// blobs, speaking the OCI distribution API directly (no container runtime, nothing
// written to disk). Configuration, credentials and transport come in through the
// constructor; per-call credentials (a pod's pull secrets) override the default source.
import { Readable, pipeline } from 'node:stream';

import {
  ANONYMOUS,
  TokenCache,
  basicAuthorization,
  parseTokenResponse,
  parseWwwAuthenticate,
  pullScope,
  type AuthChallenge,
  type CredentialSource,
  type RegistryCredential,
} from './auth.js';
import { DigestVerifier } from './digest-verifier.js';
import { RegistryError, type RegistryErrorReason } from './errors.js';
import {
  DEFAULT_PLATFORM,
  computeDigest,
  digestAlgorithm,
  formatPlatform,
  parseManifest,
  selectPlatformManifest,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type Manifest,
  type Platform,
} from './manifest.js';
import { MANIFEST_ACCEPT, OCI_IMAGE_INDEX, baseMediaType } from './media-types.js';
import { digestProblem, manifestReference, registryApiHost, type ImageReference } from './reference.js';
import {
  RegistryTransport,
  readBodyCapped,
  systemClock,
  type Clock,
  type HttpTransport,
  type TransportConfig,
  type TransportResponse,
} from './transport.js';

export interface RegistryClientConfig extends TransportConfig {
  /** Largest manifest accepted (default 4 MiB); larger ones are refused while reading. */
  readonly maxManifestBytes?: number;
  /** Largest blob fetchBlobBytes reads into memory (default 8 MiB). */
  readonly maxBlobBytes?: number;
  /** Platform chosen out of an index (default linux/amd64). */
  readonly platform?: Platform;
  /** Total time allowed for one blob download (default 30 minutes); the idle timeout still applies. */
  readonly blobTimeoutMs?: number;
}

/** Debug logging hook; messages and fields never include credentials or tokens. */
export interface RegistryLogger {
  debug(message: string, fields: Readonly<Record<string, string | number>>): void;
}

export interface RegistryClientOptions {
  readonly config?: RegistryClientConfig;
  /** Default credentials (e.g. the operator-wide pull secret); anonymous when absent. */
  readonly credentials?: CredentialSource;
  readonly transport?: HttpTransport;
  readonly clock?: Clock;
  readonly logger?: RegistryLogger;
}

export interface CallOptions {
  /** Credentials for this call (a pod's pull secrets), replacing the default source. */
  readonly credentials?: CredentialSource;
  readonly platform?: Platform;
}

export interface FetchedManifest {
  /** The verified digest of `bytes`. */
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly manifest: Manifest;
}

export interface ResolvedImage {
  /** The digest the reference resolves to (an index's digest for multi-platform images). */
  readonly digest: string;
  /** The digest of the platform's image manifest (equal to `digest` for single-platform images). */
  readonly manifestDigest: string;
  readonly manifest: ImageManifest;
  readonly index?: ImageIndex;
  readonly platform?: Platform;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_BLOB_BYTES = 8 * 1024 * 1024;
const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;

/** One place the repository can be read from: a mirror or the registry itself. */
interface Endpoint {
  /** host[:port] that is contacted. */
  readonly host: string;
  readonly base: string;
  /** How messages name it. */
  readonly label: string;
  /** Whose credentials it gets: the reference's registry, or the mirror's own host. */
  readonly credentialHost: string;
}

interface RequestContext {
  readonly ref: ImageReference;
  readonly endpoint: Endpoint;
  readonly credentials: CredentialSource;
}

export class RegistryClient {
  private readonly config: RegistryClientConfig;
  private readonly credentials: CredentialSource;
  private readonly transport: HttpTransport;
  private readonly clock: Clock;
  private readonly logger: RegistryLogger | undefined;
  private readonly tokens: TokenCache;
  /** The last challenge each endpoint gave, so later requests authenticate up front. */
  private readonly challenges = new Map<string, AuthChallenge>();

  constructor(options: RegistryClientOptions = {}) {
    this.config = options.config ?? {};
    this.credentials = options.credentials ?? ANONYMOUS;
    this.clock = options.clock ?? systemClock;
    this.transport = options.transport ?? new RegistryTransport(this.config, { clock: this.clock });
    this.logger = options.logger;
    this.tokens = new TokenCache(() => this.clock.now());
  }

  close(): void {
    this.transport.close();
  }

  /** The digest a reference points at: its own digest, else HEAD (Docker-Content-Digest), else GET and hash. */
  async resolveDigest(ref: ImageReference, options: CallOptions = {}): Promise<string> {
    if (ref.digest !== undefined) return ref.digest;
    return this.acrossEndpoints(ref, options, async (ctx) => {
      const head = await this.authorizedRequest(ctx, 'HEAD', this.manifestPath(ref, manifestReference(ref)), {
        accept: MANIFEST_ACCEPT,
      });
      head.body.destroy();
      const header = head.headers['docker-content-digest'];
      if (head.status === 200 && typeof header === 'string' && digestProblem(header) === undefined)
        return header;
      if (head.status === 401 || head.status === 403 || head.status === 429) {
        throw this.statusError(head, ctx, `manifest ${manifestReference(ref)}`);
      }
      // Some registries answer HEAD without the header (or not at all): hash the body instead.
      return (await this.fetchManifest(ctx, manifestReference(ref))).digest;
    });
  }

  /** Fetches the manifest or index the reference names, verified against its digest when it has one. */
  async getManifest(ref: ImageReference, options: CallOptions = {}): Promise<FetchedManifest> {
    return this.acrossEndpoints(ref, options, (ctx) => this.fetchManifest(ctx, manifestReference(ref)));
  }

  /**
   * The OCI 1.1 referrers API (GET /v2/<name>/referrers/<digest>): the index of manifests whose
   * `subject` is `digest`. Undefined when the registry answers 404, which is how a registry without
   * the API answers (callers then read the `sha256-<hex>` referrers tag instead). Entries are only
   * what the registry claims; callers fetch each manifest before believing its artifactType.
   * Pagination (Link headers) is not followed: the first page, capped like a manifest, is the answer.
   */
  async getReferrers(
    ref: ImageReference,
    digest: string,
    options: CallOptions = {},
  ): Promise<ImageIndex | undefined> {
    const problem = digestProblem(digest);
    if (problem !== undefined) {
      throw new RegistryError(
        'InvalidReference',
        `referrers of ${ref.registry}/${ref.repository}: ${problem}`,
        {
          registry: ref.registry,
          repository: ref.repository,
        },
      );
    }
    return this.acrossEndpoints(ref, options, async (ctx) => {
      const what = `referrers of ${digest}`;
      const response = await this.authorizedRequest(ctx, 'GET', `/v2/${ref.repository}/referrers/${digest}`, {
        accept: OCI_IMAGE_INDEX,
      });
      if (response.status === 404) {
        response.body.destroy();
        return undefined;
      }
      if (response.status !== 200) throw this.statusError(response, ctx, what);
      const maxBytes = this.config.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
      const bytes = await readBodyCapped(
        response.body,
        response.headers,
        maxBytes,
        (n) =>
          new RegistryError(
            'ManifestTooLarge',
            `${what} in ${ref.registry}/${ref.repository} from ${ctx.endpoint.label} exceed the ${maxBytes}-byte limit (${n} bytes or more)`,
            { registry: ref.registry, repository: ref.repository },
          ),
      ).catch((err: unknown) => {
        throw err instanceof RegistryError ? err : this.bodyError(err, ctx);
      });
      const parsed = parseManifest(bytes, OCI_IMAGE_INDEX);
      if (!parsed.ok || parsed.manifest.kind !== 'index') {
        throw new RegistryError(
          'InvalidManifest',
          `${what} in ${ref.registry}/${ref.repository} from ${ctx.endpoint.label}: ${parsed.ok ? 'not an image index' : parsed.error}`,
          { registry: ref.registry, repository: ref.repository },
        );
      }
      return parsed.manifest;
    });
  }

  /** Resolves a reference to the platform's image manifest, its config and layer descriptors. */
  async resolveImage(ref: ImageReference, options: CallOptions = {}): Promise<ResolvedImage> {
    const platform = options.platform ?? this.config.platform ?? DEFAULT_PLATFORM;
    const top = await this.getManifest(ref, options);
    if (top.manifest.kind === 'manifest') {
      const m = top.manifest;
      return {
        digest: top.digest,
        manifestDigest: top.digest,
        manifest: m,
        config: m.config,
        layers: m.layers,
      };
    }
    let index: ImageIndex = top.manifest;
    // An index may point to another index once (e.g. a vendor's nested platform lists).
    for (let depth = 0; depth < 2; depth++) {
      const chosen = selectPlatformManifest(index, platform);
      if (chosen === undefined) {
        const offered = index.manifests
          .map((d) => (d.platform === undefined ? undefined : formatPlatform(d.platform)))
          .filter((p): p is string => p !== undefined && p !== 'unknown/unknown');
        throw new RegistryError(
          'NoMatchingPlatform',
          `image ${ref.registry}/${ref.repository} has no manifest for platform ${formatPlatform(platform)} (it offers ${
            offered.length === 0 ? 'none' : offered.join(', ')
          })`,
          { registry: ref.registry, repository: ref.repository },
        );
      }
      const child = await this.getManifest(
        { registry: ref.registry, repository: ref.repository, digest: chosen.digest },
        options,
      );
      if (child.bytes.length !== chosen.size) {
        throw new RegistryError(
          'SizeMismatch',
          `manifest ${chosen.digest} in ${ref.registry}/${ref.repository} is ${child.bytes.length} bytes, its index says ${chosen.size}`,
          { registry: ref.registry, repository: ref.repository },
        );
      }
      if (child.manifest.kind === 'manifest') {
        const m = child.manifest;
        return {
          digest: top.digest,
          manifestDigest: child.digest,
          manifest: m,
          index: top.manifest,
          ...(chosen.platform === undefined ? {} : { platform: chosen.platform }),
          config: m.config,
          layers: m.layers,
        };
      }
      index = child.manifest;
    }
    throw new RegistryError(
      'InvalidManifest',
      `image ${ref.registry}/${ref.repository} nests indexes too deeply`,
      {
        registry: ref.registry,
        repository: ref.repository,
      },
    );
  }

  /**
   * Opens a blob as a stream that verifies size and digest while it flows; on a
   * mismatch the stream errors instead of ending. Destroy it to stop early.
   */
  async openBlob(ref: ImageReference, descriptor: Descriptor, options: CallOptions = {}): Promise<Readable> {
    const algorithm = digestAlgorithm(descriptor.digest);
    if (algorithm === undefined) {
      throw new RegistryError(
        'InvalidManifest',
        `blob digest "${descriptor.digest}" is not a supported digest`,
        {
          registry: ref.registry,
          repository: ref.repository,
        },
      );
    }
    return this.acrossEndpoints(ref, options, async (ctx) => {
      const response = await this.authorizedRequest(
        ctx,
        'GET',
        `/v2/${ref.repository}/blobs/${descriptor.digest}`,
        {},
        this.config.blobTimeoutMs ?? 30 * 60_000,
      );
      if (response.status !== 200) throw this.statusError(response, ctx, `blob ${descriptor.digest}`);
      const announced = Number(response.headers['content-length']);
      if (Number.isFinite(announced) && announced !== descriptor.size) {
        response.body.destroy();
        throw new RegistryError(
          'SizeMismatch',
          `blob ${descriptor.digest} from ${ctx.endpoint.label} is ${announced} bytes, its descriptor says ${descriptor.size}`,
          { registry: ref.registry, repository: ref.repository },
        );
      }
      const verifier = new DigestVerifier({
        digest: descriptor.digest,
        size: descriptor.size,
        registry: ref.registry,
        repository: ref.repository,
      });
      // pipeline destroys both sides on error, so the connection is released either way.
      return pipeline(response.body, verifier, () => undefined);
    });
  }

  /** Reads a small blob (an image config) fully, verified, refusing anything over the cap. */
  async fetchBlobBytes(
    ref: ImageReference,
    descriptor: Descriptor,
    options: CallOptions & { maxBytes?: number } = {},
  ): Promise<Buffer> {
    const maxBytes = options.maxBytes ?? this.config.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
    if (descriptor.size > maxBytes) {
      throw new RegistryError(
        'BlobTooLarge',
        `blob ${descriptor.digest} in ${ref.registry}/${ref.repository} is ${descriptor.size} bytes, over the ${maxBytes}-byte limit`,
        { registry: ref.registry, repository: ref.repository },
      );
    }
    const stream = await this.openBlob(ref, descriptor, options);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  private manifestPath(ref: ImageReference, reference: string): string {
    return `/v2/${ref.repository}/manifests/${reference}`;
  }

  private endpointsFor(ref: ImageReference): Endpoint[] {
    const hostConfig = this.transport.hostConfig(ref.registry);
    const endpoint = (host: string, label: string, credentialHost: string): Endpoint => {
      const scheme = this.transport.hostConfig(host).plainHttp === true ? 'http' : 'https';
      return { host, base: `${scheme}://${host}`, label, credentialHost };
    };
    const mirrors = (hostConfig.mirrors ?? []).map((m) =>
      endpoint(m, `mirror ${m} of registry ${ref.registry}`, m),
    );
    return [...mirrors, endpoint(registryApiHost(ref.registry), `registry ${ref.registry}`, ref.registry)];
  }

  /** Runs `work` against each mirror and then the registry; the first success wins. */
  private async acrossEndpoints<T>(
    ref: ImageReference,
    options: CallOptions,
    work: (ctx: RequestContext) => Promise<T>,
  ): Promise<T> {
    const credentials = options.credentials ?? this.credentials;
    let lastError: unknown;
    for (const endpoint of this.endpointsFor(ref)) {
      try {
        return await work({ ref, endpoint, credentials });
      } catch (err) {
        lastError = err;
        this.logger?.debug('registry endpoint failed', {
          registry: ref.registry,
          repository: ref.repository,
          endpoint: endpoint.host,
          reason: err instanceof RegistryError ? err.reason : 'Error',
        });
        // Any failure of a mirror (missing, stale, corrupt) moves on: the next one may serve it.
      }
    }
    throw lastError;
  }

  private async fetchManifest(ctx: RequestContext, reference: string): Promise<FetchedManifest> {
    const { ref, endpoint } = ctx;
    const maxBytes = this.config.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    const response = await this.authorizedRequest(ctx, 'GET', this.manifestPath(ref, reference), {
      accept: MANIFEST_ACCEPT,
    });
    if (response.status !== 200) throw this.statusError(response, ctx, `manifest ${reference}`);
    const bytes = await readBodyCapped(
      response.body,
      response.headers,
      maxBytes,
      (n) =>
        new RegistryError(
          'ManifestTooLarge',
          `manifest ${reference} of ${ref.registry}/${ref.repository} from ${endpoint.label} exceeds the ${maxBytes}-byte limit (${n} bytes or more)`,
          { registry: ref.registry, repository: ref.repository },
        ),
    ).catch((err: unknown) => {
      throw err instanceof RegistryError ? err : this.bodyError(err, ctx);
    });
    const expected = digestProblem(reference) === undefined ? reference : undefined;
    const digest =
      expected === undefined
        ? canonicalDigest(bytes, response)
        : computeDigest(bytes, digestAlgorithm(expected));
    if (expected !== undefined && digest !== expected) {
      throw new RegistryError(
        'DigestMismatch',
        `manifest ${expected} of ${ref.registry}/${ref.repository} from ${endpoint.label} has digest ${digest} instead`,
        { registry: ref.registry, repository: ref.repository },
      );
    }
    const contentType = baseMediaType(
      Array.isArray(response.headers['content-type'])
        ? response.headers['content-type'][0]
        : response.headers['content-type'],
    );
    const parsed = parseManifest(bytes, contentType);
    if (!parsed.ok) {
      throw new RegistryError(
        parsed.error.startsWith('unsupported') || parsed.error.includes('schema 1')
          ? 'UnsupportedMediaType'
          : 'InvalidManifest',
        `manifest ${reference} of ${ref.registry}/${ref.repository}: ${parsed.error}`,
        { registry: ref.registry, repository: ref.repository },
      );
    }
    return { digest, mediaType: parsed.manifest.mediaType, bytes, manifest: parsed.manifest };
  }

  private bodyError(err: unknown, ctx: RequestContext): RegistryError {
    const message = err instanceof Error ? err.message : 'unknown error';
    return new RegistryError('NetworkError', `reading from ${ctx.endpoint.label} failed: ${message}`, {
      registry: ctx.ref.registry,
      repository: ctx.ref.repository,
      retryable: true,
    });
  }

  /**
   * Sends a request, answering 401 challenges: each candidate credential is tried in
   * order (anonymous when there is none), with Basic or a bearer token for the pull scope.
   */
  private async authorizedRequest(
    ctx: RequestContext,
    method: 'GET' | 'HEAD',
    path: string,
    headers: Record<string, string>,
    totalMs?: number,
  ): Promise<TransportResponse> {
    const { ref, endpoint } = ctx;
    const origin = endpoint.base;
    const found = await ctx.credentials.credentialsFor(endpoint.credentialHost, ref.repository);
    const candidates: (RegistryCredential | undefined)[] = found.length === 0 ? [undefined] : [...found];
    const send = (authorization: string | undefined): Promise<TransportResponse> => {
      this.logger?.debug('registry request', {
        method,
        registry: ref.registry,
        repository: ref.repository,
        endpoint: endpoint.host,
      });
      return this.transport.request({
        method,
        url: new URL(path, origin),
        headers: { ...headers, ...(authorization === undefined ? {} : { authorization }) },
        registry: endpoint.credentialHost,
        ...(totalMs === undefined ? {} : { timeouts: { totalMs } }),
      });
    };
    let lastResponse: TransportResponse | undefined;
    for (const credential of candidates) {
      for (let round = 0; round < 3; round++) {
        const challenge = this.challenges.get(origin);
        const authorization =
          challenge === undefined ? undefined : await this.authorize(ctx, challenge, credential);
        if (authorization === 'refused') break;
        if (round > 0 && authorization === undefined) break;
        const response = await send(authorization?.header);
        // A 401 from a redirect target is another host:port's challenge: answering it would
        // hand this registry's credentials (or a token for them) to a realm that host names.
        if (response.status !== 401 || response.url.origin !== new URL(origin).origin) return response;
        response.body.destroy();
        lastResponse = response;
        const header = response.headers['www-authenticate'];
        const offered = parseWwwAuthenticate(Array.isArray(header) ? header.join(', ') : (header ?? ''));
        const next =
          offered.find((c) => c.scheme === 'bearer' && c.params['realm'] !== undefined) ??
          offered.find((c) => c.scheme === 'basic');
        if (next === undefined) break;
        if (authorization?.cacheKey !== undefined) {
          // A cached token may have been revoked: drop it and try once more with a fresh one.
          this.tokens.delete(authorization.cacheKey);
          if (authorization.fromCache) {
            this.challenges.set(origin, next);
            continue;
          }
        }
        if (authorization !== undefined && sameChallenge(challenge, next)) break;
        this.challenges.set(origin, next);
      }
    }
    const status = lastResponse?.status ?? 401;
    const detail =
      found.length === 0
        ? 'no pull secret matched'
        : `the credentials of ${[...new Set(found.map((c) => c.source))].join(', ')} were refused`;
    throw new RegistryError(
      'Unauthorized',
      `${endpoint.label} answered ${status} for repository ${ref.repository}: ${detail}`,
      { registry: ref.registry, repository: ref.repository, status },
    );
  }

  /** The Authorization header for a challenge, fetching a bearer token when needed. */
  private async authorize(
    ctx: RequestContext,
    challenge: AuthChallenge,
    credential: RegistryCredential | undefined,
  ): Promise<{ header: string; cacheKey?: string; fromCache: boolean } | 'refused' | undefined> {
    if (challenge.scheme === 'basic') {
      return credential === undefined
        ? undefined
        : { header: basicAuthorization(credential), fromCache: false };
    }
    const realm = challenge.params['realm'] ?? '';
    const service = challenge.params['service'] ?? '';
    const scope = pullScope(ctx.ref.repository);
    const cacheKey = TokenCache.key(realm, service, scope, credential);
    const cached = this.tokens.get(cacheKey);
    if (cached !== undefined) return { header: `Bearer ${cached}`, cacheKey, fromCache: true };

    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(
        'UnexpectedStatus',
        `${ctx.endpoint.label} sent an authentication challenge with an invalid realm`,
        {
          registry: ctx.ref.registry,
          repository: ctx.ref.repository,
        },
      );
    }
    if (service !== '') url.searchParams.set('service', service);
    url.searchParams.set('scope', scope);
    // The realm is judged by the address policy like any host:port (the transport refuses
    // it before connecting), so the pull secret reaches only realms the policy allows.
    const response = await this.transport.request({
      method: 'GET',
      url,
      headers: credential === undefined ? {} : { authorization: basicAuthorization(credential) },
      registry: ctx.ref.registry,
      label: `token realm ${url.host} of ${ctx.endpoint.label}`,
    });
    if (response.status === 401 || response.status === 403) {
      response.body.destroy();
      return 'refused';
    }
    if (response.status !== 200) {
      response.body.destroy();
      throw new RegistryError(
        response.status === 429 ? 'RateLimited' : 'RegistryUnavailable',
        `the token service of ${ctx.endpoint.label} (${url.host}) answered ${response.status}`,
        {
          registry: ctx.ref.registry,
          repository: ctx.ref.repository,
          status: response.status,
          retryable: true,
        },
      );
    }
    const body = await readBodyCapped(
      response.body,
      response.headers,
      MAX_TOKEN_RESPONSE_BYTES,
      () =>
        new RegistryError(
          'UnexpectedStatus',
          `the token service of ${ctx.endpoint.label} sent an oversized answer`,
        ),
    );
    const token = parseTokenResponse(body.toString('utf8'), this.clock.now());
    if (token === undefined) {
      throw new RegistryError(
        'UnexpectedStatus',
        `the token service of ${ctx.endpoint.label} (${url.host}) sent no token`,
        {
          registry: ctx.ref.registry,
          repository: ctx.ref.repository,
        },
      );
    }
    this.tokens.set(cacheKey, token);
    return { header: `Bearer ${token.token}`, cacheKey, fromCache: false };
  }

  /** Turns a non-success answer into an error value with an actionable message. */
  private statusError(response: TransportResponse, ctx: RequestContext, what: string): RegistryError {
    const { ref, endpoint } = ctx;
    response.body.destroy();
    const status = response.status;
    const details = { registry: ref.registry, repository: ref.repository, status };
    // After a redirect the answer came from elsewhere (storage); say so, without its query string.
    const who =
      response.url.origin === new URL(endpoint.base).origin
        ? endpoint.label
        : `${endpoint.label} (redirected to ${response.url.host})`;
    const make = (reason: RegistryErrorReason, text: string, retryable = false): RegistryError =>
      new RegistryError(
        reason,
        `${who} answered ${status} for ${what} in repository ${ref.repository}: ${text}`,
        {
          ...details,
          retryable,
        },
      );
    if (status === 404) return make('NotFound', 'it does not exist (check the image name and tag)');
    if (status === 401) return make('Unauthorized', 'authentication failed');
    if (status === 403)
      return make('Unauthorized', 'access denied (check that the pull secret may read this repository)');
    if (status === 429) return make('RateLimited', 'too many requests, retry later', true);
    if (status >= 500) return make('RegistryUnavailable', 'the registry failed, retry later', true);
    if (status >= 300 && status < 400)
      return make('TooManyRedirects', 'a redirect without a usable Location');
    return make('UnexpectedStatus', 'unexpected answer');
  }
}

/**
 * The digest of a manifest fetched by tag: sha256, unless the registry's
 * Docker-Content-Digest names another algorithm (a sha512-canonical registry) and the
 * bytes really have that digest. Then it is the digest the kubelet reports as the
 * pod's imageID, and a tag resolves to the same digest by HEAD and by GET. A header
 * that does not match is ignored, not an error: many registries get it wrong.
 */
function canonicalDigest(bytes: Buffer, response: TransportResponse): string {
  const raw = response.headers['docker-content-digest'];
  const header = Array.isArray(raw) ? raw[0] : raw;
  const algorithm = header === undefined ? undefined : digestAlgorithm(header);
  if (algorithm !== undefined && algorithm !== 'sha256') {
    const digest = computeDigest(bytes, algorithm);
    if (digest === header) return digest;
  }
  return computeDigest(bytes, 'sha256');
}

function sameChallenge(a: AuthChallenge | undefined, b: AuthChallenge): boolean {
  return (
    a !== undefined &&
    a.scheme === b.scheme &&
    a.params['realm'] === b.params['realm'] &&
    a.params['service'] === b.params['service']
  );
}
