// The signature service: signature verdicts per image digest per policy requirement, for the
// workload reconciler (as image facts) and the ImageReport (per attestor). Like the ImageService it
// never makes a reconcile wait: the first question starts a verification in the background (at most
// `concurrency` at once) and the answer is "not known yet" (undefined); `subscribe` listeners hear
// when a verdict changed so the workloads that run the image are evaluated again. Verdicts are kept
// for `ttlMs` (then re-verified when asked, which the policy's rescan schedule does), Error verdicts
// for `retryMs`, doubled after each further Error of the same entry up to `ttlMs` (so a registry that
// is down for an hour is not asked about every image every 30 s), back to `retryMs` once a
// verification gets through. The src/signature verifier below caches artifacts per digest and verdicts per
// digest + attestor-configuration hash, so an image's signatures are fetched once per TTL, not per
// pod nor per attestor. Pull credentials are those of the pod that asked, as for analysis.
import type { CoreV1Api, V1PodSpec } from '@kubernetes/client-node';

/** The reads trust material needs; client-node's CoreV1Api fits. */
export type TrustMaterialReader = Pick<CoreV1Api, 'readNamespacedSecret' | 'readNamespacedConfigMap'>;
import { LRUCache } from 'lru-cache';

import type { SignatureResult } from '../api/report-types.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { parseContainerImage, type ContainerImage } from '../policy/container-image.js';
import { compileGlobs, type GlobMatcher } from '../policy/glob.js';
import { signatureRequirementKey, type ImageSignatureFact } from '../policy/image-facts.js';
import type { CallOptions } from '../registry/client.js';
import { tryParseImageReference, type ImageReference } from '../registry/reference.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { Slots } from '../runtime/slots.js';
import { errorText, truncate } from '../runtime/text.js';
import {
  ruleFromPolicy,
  type PolicyAttestorDefaults,
  type SignatureRule,
  type SignatureVerdict,
  type TrustMaterialRef,
  type TrustMaterialSource,
} from '../signature/index.js';
import type { AnalyzerLogger } from './image-analyzer.js';
import { apiFailure, type CredentialsFor, type ScannedPodSpec } from './credentials.js';

/** What one policy's spec.signatures asks of the images it covers. */
export interface SignatureRequirement {
  /** signatureRequirementKey: equal for policies asking the same of an image. */
  readonly key: string;
  /** The policy (namespace/name or name), for reports. */
  readonly policy: string;
  readonly attestors: readonly string[];
  /** The verifier's rule, or why the policy's settings cannot be used. */
  readonly rule: { ok: true; rule: SignatureRule } | { ok: false; error: string };
  covers(image: ContainerImage): boolean;
}

/** The verifier's one call (SignatureVerifier.verify). */
export type VerifySignatures = (
  image: ImageReference,
  digest: string,
  rule: SignatureRule,
  options: CallOptions,
) => Promise<SignatureVerdict>;

export interface SignatureChange {
  readonly image: string;
  readonly namespace: string;
  readonly digest: string;
}

export interface SignatureServiceOptions {
  readonly verify: VerifySignatures;
  readonly credentialsFor: CredentialsFor;
  /** Trusted root and log defaults for attestors that set none (operator configuration). */
  readonly defaults?: PolicyAttestorDefaults;
  readonly clock?: Pick<Clock, 'now'>;
  /** How long a verdict stands before it is verified again (default 10 min; the verifier's TTL). */
  readonly ttlMs?: number;
  /** When an Error verdict is first tried again (default 30 s); doubled per further Error, at most ttlMs. */
  readonly retryMs?: number;
  /** Verifications at once (default 2). */
  readonly concurrency?: number;
  /** Digest × requirement verdicts remembered (default 8192). */
  readonly maxEntries?: number;
  /** Called with every verification's result (metrics). */
  readonly onVerification?: (verdict: SignatureVerdict['status']) => void;
  readonly logger?: AnalyzerLogger;
}

export const DEFAULT_SIGNATURE_TTL_MS = 10 * 60_000;
export const DEFAULT_SIGNATURE_RETRY_MS = 30_000;
/** Namespace/image pairs told about a verdict change, per entry. */
const MAX_ASKERS = 64;
/** Attestor verdicts shown per digest (the ImageReport schema's bound). */
export const MAX_REPORTED_SIGNATURES = 32;
const MAX_MESSAGE = 1024;

interface Asker {
  readonly namespace: string;
  readonly image: string;
  /** Only what pull credentials are chosen by: an entry outlives the pod, and keeps up to 64 of these. */
  readonly podSpec: ScannedPodSpec;
}

interface VerdictEntry {
  readonly digest: string;
  readonly requirementKey: string;
  readonly attestors: readonly string[];
  /** Policies that asked (for the ImageReport's policy/attestor names). */
  readonly policies: Set<string>;
  /** Who asked, by namespace + image, the latest last: credentials come from the latest. */
  readonly askers: Map<string, Asker>;
  rule: SignatureRule;
  verdict?: { value: SignatureVerdict; at: number; expiresAt: number };
  verifying: boolean;
  /** Error verdicts in a row: the retry backoff's exponent. */
  errors: number;
}

/** The image fact of a verdict (what the rule engine reads). Pure. */
export function signatureFact(verdict: SignatureVerdict): ImageSignatureFact {
  switch (verdict.status) {
    case 'Verified':
      return { verdict: 'Verified', attestors: verdict.attestors, message: verdict.message };
    case 'Unsigned':
      return { verdict: 'Unsigned', message: verdict.message };
    case 'Invalid':
    case 'Error':
      return { verdict: verdict.status, reason: verdict.reason, message: verdict.message };
  }
}

/** A policy's signature requirement, or undefined when it requires none. Pure. */
export function requirementOf(
  policy: CompiledPolicy,
  defaults: PolicyAttestorDefaults = {},
): SignatureRequirement | undefined {
  const cached = requirements.get(policy);
  if (cached !== undefined) return cached ?? undefined;
  const settings = policy.spec.signatures;
  let requirement: SignatureRequirement | undefined;
  if (settings?.required === true && (settings.attestors ?? []).length > 0) {
    const globs = settings.images ?? [];
    const match: GlobMatcher | undefined = globs.length === 0 ? undefined : compileGlobs(globs);
    requirement = {
      key: signatureRequirementKey(settings, policy.namespace),
      policy: policy.name,
      attestors: (settings.attestors ?? []).map((a) => a.name),
      rule: ruleFromPolicy(settings, defaults, policy.namespace),
      covers: (image) => match === undefined || match(image.raw) || match(image.normalized),
    };
  }
  requirements.set(policy, requirement ?? null);
  return requirement;
}

const requirements = new WeakMap<CompiledPolicy, SignatureRequirement | null>();

export class SignatureService {
  private readonly clock: Pick<Clock, 'now'>;
  private readonly ttlMs: number;
  readonly retryMs: number;
  private readonly slots: Slots;
  private readonly entries: LRUCache<string, VerdictEntry>;
  private readonly listeners: ((change: SignatureChange) => void)[] = [];
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly options: SignatureServiceOptions) {
    this.clock = options.clock ?? systemClock;
    this.ttlMs = options.ttlMs ?? DEFAULT_SIGNATURE_TTL_MS;
    this.retryMs = options.retryMs ?? DEFAULT_SIGNATURE_RETRY_MS;
    this.slots = new Slots(Math.max(1, options.concurrency ?? 2));
    this.entries = new LRUCache({ max: Math.max(1, options.maxEntries ?? 8192) });
  }

  get defaults(): PolicyAttestorDefaults {
    return this.options.defaults ?? {};
  }

  subscribe(listener: (change: SignatureChange) => void): void {
    this.listeners.push(listener);
  }

  /** Verifications queued or running. */
  get inFlight(): number {
    return this.running.size;
  }

  /**
   * The verdict of `requirement` for `digest` (which `image` resolved to for a pod in `namespace`),
   * or undefined while the first verification runs. An expired verdict is returned while it is
   * verified again. A policy whose settings cannot be used gets an Error verdict at once.
   */
  verdictOf(
    namespace: string,
    podSpec: V1PodSpec,
    image: string,
    digest: string,
    requirement: SignatureRequirement,
  ): ImageSignatureFact | undefined {
    if (!requirement.rule.ok) {
      return {
        verdict: 'Error',
        reason: 'TrustMaterialInvalid',
        message: `policy ${requirement.policy}: ${requirement.rule.error}`,
      };
    }
    const key = `${digest}|${requirement.key}`;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = {
        digest,
        requirementKey: requirement.key,
        attestors: requirement.attestors,
        policies: new Set(),
        askers: new Map(),
        rule: requirement.rule.rule,
        verifying: false,
        errors: 0,
      };
      this.entries.set(key, entry);
    }
    if (entry.policies.size < MAX_ASKERS) entry.policies.add(requirement.policy);
    const askerKey = `${namespace}\u0000${image}`;
    entry.askers.delete(askerKey);
    entry.askers.set(askerKey, {
      namespace,
      image,
      podSpec: {
        ...(podSpec.serviceAccountName === undefined
          ? {}
          : { serviceAccountName: podSpec.serviceAccountName }),
        ...(podSpec.imagePullSecrets === undefined ? {} : { imagePullSecrets: podSpec.imagePullSecrets }),
      },
    });
    while (entry.askers.size > MAX_ASKERS) entry.askers.delete(entry.askers.keys().next().value!);
    const expired = entry.verdict === undefined || this.clock.now() >= entry.verdict.expiresAt;
    if (expired && !entry.verifying && !this.stopped) this.start(key, entry);
    return entry.verdict === undefined ? undefined : signatureFact(entry.verdict.value);
  }

  /** Per attestor of each requirement that asked about `digest`, for its ImageReport (bounded). */
  resultsFor(digest: string): SignatureResult[] {
    const results: SignatureResult[] = [];
    for (const entry of this.entries.values()) {
      if (entry.digest !== digest || entry.verdict === undefined) continue;
      const checkedAt = new Date(entry.verdict.at).toISOString();
      for (const policy of [...entry.policies].sort()) {
        for (const attestor of entry.attestors) {
          results.push({
            attestor: `${policy}/${attestor}`.slice(0, 317),
            ...attestorResult(entry.verdict.value, attestor, entry.rule.count ?? 1),
            checkedAt,
          });
        }
      }
    }
    results.sort((a, b) => a.attestor.localeCompare(b.attestor));
    return results.slice(0, MAX_REPORTED_SIGNATURES);
  }

  /** Starts no new verifications and waits for those running. Idempotent. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.running]);
  }

  private start(key: string, entry: VerdictEntry): void {
    entry.verifying = true;
    const work = this.slots
      .run(() => this.verify(key, entry))
      .catch((err: unknown) => {
        this.options.logger?.warn('signature verification failed unexpectedly', {
          controller: 'signatures',
          digest: entry.digest,
          error: errorText(err),
        });
      })
      .finally(() => {
        entry.verifying = false;
        this.running.delete(work);
      });
    this.running.add(work);
  }

  private async verify(key: string, entry: VerdictEntry): Promise<void> {
    if (this.stopped || this.entries.peek(key) !== entry) return;
    const asker = [...entry.askers.values()].at(-1);
    if (asker === undefined) return;
    const verdict = await this.verdictFor(asker, entry);
    this.options.onVerification?.(verdict.status);
    const now = this.clock.now();
    const previous = entry.verdict?.value;
    entry.errors = verdict.status === 'Error' ? entry.errors + 1 : 0;
    const ttl = verdict.status === 'Error' ? this.retryDelay(entry.errors) : this.ttlMs;
    entry.verdict = { value: verdict, at: now, expiresAt: now + ttl };
    if (previous !== undefined && sameVerdict(previous, verdict)) return;
    const fields = { controller: 'signatures', digest: entry.digest, image: asker.image };
    if (verdict.status === 'Error')
      this.options.logger?.warn('signature verification failed', {
        ...fields,
        reason: verdict.reason,
        message: verdict.message,
      });
    else this.options.logger?.info('signature verdict', { ...fields, verdict: verdict.status });
    for (const a of entry.askers.values()) {
      for (const listener of this.listeners) {
        try {
          listener({ image: a.image, namespace: a.namespace, digest: entry.digest });
        } catch (err) {
          this.options.logger?.warn('signature change handler failed', { ...fields, error: errorText(err) });
        }
      }
    }
  }

  /** The wait after the `errors`-th Error in a row: retryMs doubled per repeat, never past the TTL. */
  private retryDelay(errors: number): number {
    const ceiling = Math.max(this.retryMs, this.ttlMs);
    return Math.min(this.retryMs * 2 ** Math.min(errors - 1, 20), ceiling);
  }

  private async verdictFor(asker: Asker, entry: VerdictEntry): Promise<SignatureVerdict> {
    const parsed = tryParseImageReference(asker.image.trim());
    if (!parsed.ok) {
      return { status: 'Error', reason: 'RegistryError', retryable: false, message: parsed.error };
    }
    let options: CallOptions;
    try {
      options = { credentials: (await this.options.credentialsFor(asker.namespace, asker.podSpec)).source };
    } catch (err) {
      return {
        status: 'Error',
        reason: 'RegistryError',
        retryable: true,
        message: `the pull secrets of pods in ${asker.namespace} could not be read: ${apiFailure(err)}`,
      };
    }
    try {
      const verdict = await this.options.verify(parsed.reference, entry.digest, entry.rule, options);
      return { ...verdict, message: truncate(verdict.message, MAX_MESSAGE) };
    } catch (err) {
      return {
        status: 'Error',
        reason: 'RegistryError',
        retryable: true,
        message: `signature verification failed unexpectedly: ${errorText(err)}`,
      };
    }
  }
}

/** One attestor's line of a verdict. Pure. */
export function attestorResult(
  verdict: SignatureVerdict,
  attestor: string,
  count: number,
): Pick<SignatureResult, 'verdict' | 'reason' | 'message'> {
  switch (verdict.status) {
    case 'Verified':
      return verdict.attestors.includes(attestor)
        ? { verdict: 'Verified', message: `signed by ${attestor}` }
        : {
            verdict: 'Unsigned',
            message: `no signature by ${attestor}; the policy needs ${count} of its attestors and ${verdict.attestors.join(', ')} signed`,
          };
    case 'Unsigned':
      return { verdict: 'Unsigned', message: verdict.message };
    case 'Invalid': {
      const own = verdict.problems.find((p) => p.attestor === attestor);
      return own === undefined
        ? { verdict: 'Invalid', reason: verdict.reason, message: verdict.message }
        : { verdict: 'Invalid', reason: own.reason, message: own.message };
    }
    case 'Error':
      return { verdict: 'Error', reason: verdict.reason, message: verdict.message };
  }
}

function sameVerdict(a: SignatureVerdict, b: SignatureVerdict): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Reads trust material through the API server (Secrets: base64 data; ConfigMaps: data), briefly cached. */
export function trustMaterialFromApi(core: TrustMaterialReader, ttlMs = 30_000): TrustMaterialSource {
  const cache = new LRUCache<string, { text: string | undefined }>({ max: 256, ttl: ttlMs });
  return {
    async read(ref: TrustMaterialRef): Promise<string | undefined> {
      const id = `${ref.kind}/${ref.namespace}/${ref.name}/${ref.key}`;
      const hit = cache.get(id);
      if (hit !== undefined) return hit.text;
      let text: string | undefined;
      try {
        if (ref.kind === 'Secret') {
          const secret = await core.readNamespacedSecret({ name: ref.name, namespace: ref.namespace });
          const data = secret.data?.[ref.key];
          text = data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
        } else {
          const map = await core.readNamespacedConfigMap({ name: ref.name, namespace: ref.namespace });
          text = map.data?.[ref.key];
        }
      } catch (err) {
        if ((err as { code?: number }).code === 404) text = undefined;
        else throw new Error(apiFailure(err), { cause: err });
      }
      cache.set(id, { text });
      return text;
    },
  };
}

/** Which images of a workload each requirement covers. Pure. */
export function coveredImages(
  images: Iterable<string>,
  requirements: readonly SignatureRequirement[],
): Map<string, SignatureRequirement[]> {
  const out = new Map<string, SignatureRequirement[]>();
  for (const image of images) {
    const parsed = parseContainerImage(image);
    const applying = requirements.filter((r) => r.covers(parsed));
    if (applying.length > 0) out.set(image, applying);
  }
  return out;
}
