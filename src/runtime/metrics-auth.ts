// Who may read /metrics: the caller's bearer token is checked with a
// TokenReview and the user it names with a SubjectAccessReview for the
// non-resource URL /metrics, verb get — what controller-runtime's
// filters.WithAuthenticationAndAuthorization does, so the same `metrics-reader`
// ClusterRole grants a scrape. Decisions are cached briefly by a hash of the
// token (never the token itself), and at most a few reviews run at once, so a
// flood of made-up tokens costs the API server a bounded number of calls
// rather than one per request.
import { createHash } from 'node:crypto';
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  type KubeConfig,
  type V1SubjectAccessReview,
  type V1TokenReview,
} from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';

/** The two API calls the filter makes; client-node's AuthenticationV1Api and AuthorizationV1Api provide them. */
export interface AccessReviewApi {
  createTokenReview(param: { body: V1TokenReview }): Promise<V1TokenReview>;
  createSubjectAccessReview(param: { body: V1SubjectAccessReview }): Promise<V1SubjectAccessReview>;
}

/** The reviews, sent as the operator's own identity (it needs tokenreviews and subjectaccessreviews create). */
export function accessReviewApi(kc: KubeConfig): AccessReviewApi {
  const authn = kc.makeApiClient(AuthenticationV1Api);
  const authz = kc.makeApiClient(AuthorizationV1Api);
  return {
    createTokenReview: (param) => authn.createTokenReview(param),
    createSubjectAccessReview: (param) => authz.createSubjectAccessReview(param),
  };
}

/** What the HTTP layer answers: 200 goes on to serve, anything else ends the request with `reason`. */
export type AccessDecision =
  { status: 200; user: string } | { status: 401 | 403 | 429 | 503; reason: string };

export interface MetricsAccess {
  /** Decides a request for `path` (verb get) carrying the `Authorization` header value given. */
  admit(authorization: string | undefined, path: string): Promise<AccessDecision>;
}

export interface MetricsAuthOptions {
  /** How long an admission is reused (controller-runtime: 5 min allow / 1 min token). */
  allowTtlMs?: number;
  /** How long a refusal (401 or 403) is reused; short, so a new RoleBinding takes effect quickly. */
  denyTtlMs?: number;
  /** Distinct tokens remembered. */
  maxEntries?: number;
  /** Reviews in flight at once; requests beyond it are answered 429 without a review. */
  maxConcurrentReviews?: number;
}

/**
 * A JWT from the TokenRequest API is 1-2 KiB; anything far longer is not a
 * token worth sending to the API server.
 */
const MAX_TOKEN_LENGTH = 8 * 1024;

type Final = Exclude<AccessDecision, { status: 429 | 503 }>;

export class MetricsAuthorizer implements MetricsAccess {
  private readonly decisions: LRUCache<string, Final>;
  private readonly pending = new Map<string, Promise<AccessDecision>>();
  private readonly allowTtlMs: number;
  private readonly denyTtlMs: number;
  private readonly maxConcurrent: number;

  constructor(
    private readonly api: AccessReviewApi,
    options: MetricsAuthOptions = {},
  ) {
    this.allowTtlMs = options.allowTtlMs ?? 60_000;
    this.denyTtlMs = options.denyTtlMs ?? 10_000;
    this.maxConcurrent = options.maxConcurrentReviews ?? 8;
    this.decisions = new LRUCache({ max: options.maxEntries ?? 1024, ttlAutopurge: false });
  }

  async admit(authorization: string | undefined, path: string): Promise<AccessDecision> {
    const token = bearerToken(authorization);
    if (token === undefined) return { status: 401, reason: 'Unauthorized: no bearer token' };
    if (token.length > MAX_TOKEN_LENGTH)
      return { status: 401, reason: 'Unauthorized: bearer token too long' };
    const key = `${path}\u0000${createHash('sha256').update(token).digest('hex')}`;
    const cached = this.decisions.get(key);
    if (cached) return cached;
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    if (this.pending.size >= this.maxConcurrent)
      return { status: 429, reason: 'Too Many Requests: token reviews are busy, retry shortly' };
    const review = this.review(token, path).then(
      (decision) => {
        this.decisions.set(key, decision, {
          ttl: decision.status === 200 ? this.allowTtlMs : this.denyTtlMs,
        });
        return decision;
      },
      // Not cached: the next scrape asks again once the API server answers.
      (error: unknown): AccessDecision => ({
        status: 503,
        reason: `Service Unavailable: could not review the token with the API server (${statusText(error)})`,
      }),
    );
    this.pending.set(key, review);
    try {
      return await review;
    } finally {
      this.pending.delete(key);
    }
  }

  private async review(token: string, path: string): Promise<Final> {
    const reviewed = await this.api.createTokenReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
    });
    const user = reviewed.status?.user;
    if (reviewed.status?.authenticated !== true || !user?.username) {
      return { status: 401, reason: 'Unauthorized: the API server did not accept the bearer token' };
    }
    const access = await this.api.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: user.username,
          ...(user.uid === undefined ? {} : { uid: user.uid }),
          ...(user.groups === undefined ? {} : { groups: user.groups }),
          ...(user.extra === undefined ? {} : { extra: user.extra }),
          nonResourceAttributes: { path, verb: 'get' },
        },
      },
    });
    if (access.status?.allowed === true) return { status: 200, user: user.username };
    return {
      status: 403,
      reason: `Forbidden: user "${user.username}" may not get ${path} (bind it to the metrics-reader ClusterRole)`,
    };
  }
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization ?? '');
  return match?.[1];
}

/** An HTTP status or error code, never the request (whose body holds the token). */
function statusText(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 403)
    return 'HTTP 403: the operator may not create tokenreviews or subjectaccessreviews; see config/rbac/role.yaml';
  if (typeof code === 'number') return `HTTP ${code}`;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'unknown error';
}
