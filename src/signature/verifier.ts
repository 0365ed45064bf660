// The signature service the image service calls: verdict per image digest per rule, with the
// I/O at its edges (registry discovery, trust material from Secrets/ConfigMaps) and two TTL
// caches (lru-cache): an image's signature artifacts, fetched once per TTL however many pods
// and attestors ask, and verdicts keyed by image digest + a hash of the attestor configuration
// and the trust material it resolved to (a rotated key or root changes the key).
import { createHash } from 'node:crypto';

import { LRUCache } from 'lru-cache';

import type { CallOptions } from '../registry/client.js';
import { RegistryError } from '../registry/errors.js';
import type { ImageReference } from '../registry/reference.js';

import { prepareAttestor, type AttestorMaterial, type PreparedAttestor } from './attestor.js';
import {
  SignatureDiscovery,
  type DiscoveredSignatures,
  type DiscoveryLimits,
  type SignatureRegistry,
} from './discovery.js';
import { evaluateSignatures } from './evaluate.js';
import { parseTrustedRoot, type TrustedRoot } from './trusted-root.js';
import {
  describeRef,
  type AttestorSpec,
  type SignatureRule,
  type SignatureVerdict,
  type TrustMaterialRef,
  type TrustMaterialSource,
} from './types.js';

export interface SignatureVerifierOptions {
  readonly registry: SignatureRegistry;
  /** Reads keys and trusted roots; without it only inline keys work. */
  readonly trustMaterial?: TrustMaterialSource;
  /** How long artifacts and verdicts are reused (default 10 minutes). */
  readonly ttlMs?: number;
  /** Images whose artifacts are kept (default 2000). */
  readonly maxImages?: number;
  readonly limits?: Partial<DiscoveryLimits>;
  readonly now?: () => number;
}

export type ErrorVerdict = SignatureVerdict & { status: 'Error' };

function errorVerdict(reason: ErrorVerdict['reason'], message: string, retryable: boolean): ErrorVerdict {
  return { status: 'Error', reason, message, retryable };
}

class TrustProblem extends Error {
  constructor(readonly verdict: ErrorVerdict) {
    super(verdict.message);
  }
}

export class SignatureVerifier {
  private readonly discovery: SignatureDiscovery;
  private readonly artifacts: LRUCache<string, DiscoveredSignatures>;
  private readonly inflight = new Map<string, Promise<DiscoveredSignatures>>();
  private readonly verdicts: LRUCache<string, SignatureVerdict>;
  private readonly prepared = new LRUCache<string, PreparedAttestor>({ max: 256 });
  private readonly trustMaterial: TrustMaterialSource | undefined;

  constructor(options: SignatureVerifierOptions) {
    const ttl = options.ttlMs ?? 10 * 60_000;
    const max = options.maxImages ?? 2000;
    // An injected clock is read on every check (lru-cache otherwise reuses a reading for 1 ms of real time).
    const perf = options.now === undefined ? undefined : { perf: { now: options.now }, ttlResolution: 0 };
    this.artifacts = new LRUCache({ max, ttl, ...perf });
    this.verdicts = new LRUCache({ max: max * 4, ttl, ...perf });
    // Whether a registry offers the referrers API is remembered for the same TTL, then asked again.
    const referrersApi = new LRUCache<string, boolean>({ max: 256, ttl, ...perf });
    this.discovery = new SignatureDiscovery(options.registry, options.limits, referrersApi);
    this.trustMaterial = options.trustMaterial;
  }

  /**
   * The verdict of `rule` for the image `digest` in `image`'s repository. Never throws: registry
   * and trust-material failures are Error verdicts (not Unsigned, not Verified) and are not cached.
   */
  async verify(
    image: ImageReference,
    digest: string,
    rule: SignatureRule,
    options: CallOptions = {},
  ): Promise<SignatureVerdict> {
    let attestors: PreparedAttestor[];
    let configHash: string;
    try {
      ({ attestors, configHash } = await this.prepare(rule));
    } catch (err) {
      if (err instanceof TrustProblem) return err.verdict;
      throw err;
    }
    if (attestors.length === 0)
      return errorVerdict('TrustMaterialInvalid', 'the signature rule names no attestors', false);
    const key = `${image.registry}/${image.repository}@${digest}|${configHash}`;
    const cached = this.verdicts.get(key);
    if (cached !== undefined) return cached;
    let discovered: DiscoveredSignatures;
    try {
      discovered = await this.artifactsOf(image, digest, options);
    } catch (err) {
      if (err instanceof RegistryError) {
        return errorVerdict(
          'RegistryError',
          `could not read the signatures of ${image.registry}/${image.repository}@${digest}: ${err.message}`,
          err.retryable,
        );
      }
      throw err;
    }
    const verdict = evaluateSignatures(rule, attestors, digest, discovered);
    this.verdicts.set(key, verdict);
    return verdict;
  }

  /** Forget everything (e.g. after the trusted root ConfigMap changed). */
  clear(): void {
    this.artifacts.clear();
    this.verdicts.clear();
    this.prepared.clear();
  }

  private async artifactsOf(
    image: ImageReference,
    digest: string,
    options: CallOptions,
  ): Promise<DiscoveredSignatures> {
    const key = `${image.registry}/${image.repository}@${digest}`;
    const cached = this.artifacts.get(key);
    if (cached !== undefined) return cached;
    const running = this.inflight.get(key);
    if (running !== undefined) return running;
    const work = this.discovery.discover(image, digest, options).then((found) => {
      this.artifacts.set(key, found);
      return found;
    });
    this.inflight.set(key, work);
    try {
      return await work;
    } finally {
      this.inflight.delete(key);
    }
  }

  private async read(ref: TrustMaterialRef, what: string): Promise<string> {
    if (this.trustMaterial === undefined) {
      throw new TrustProblem(
        errorVerdict(
          'TrustMaterialMissing',
          `${what}: no trust material source is configured to read ${describeRef(ref)}`,
          false,
        ),
      );
    }
    let text: string | undefined;
    try {
      text = await this.trustMaterial.read(ref);
    } catch (err) {
      throw new TrustProblem(
        errorVerdict(
          'TrustMaterialMissing',
          `${what}: reading ${describeRef(ref)} failed: ${err instanceof Error ? err.message : 'error'}`,
          true,
        ),
      );
    }
    if (text === undefined) {
      throw new TrustProblem(
        errorVerdict('TrustMaterialMissing', `${what}: ${describeRef(ref)} does not exist`, true),
      );
    }
    return text;
  }

  private async materialOf(spec: AttestorSpec): Promise<{ material: AttestorMaterial; texts: string[] }> {
    const what = `attestor ${spec.name}`;
    const texts: string[] = [];
    let publicKey: string | undefined;
    if (spec.kind === 'key') {
      publicKey =
        spec.publicKey ??
        (spec.publicKeyRef === undefined ? undefined : await this.read(spec.publicKeyRef, what));
      if (publicKey === undefined) {
        throw new TrustProblem(
          errorVerdict('TrustMaterialMissing', `${what} has neither publicKey nor publicKeyRef`, false),
        );
      }
      texts.push(publicKey);
    }
    const rootRef = spec.kind === 'key' ? spec.trustedRootRef : spec.trustedRootRef;
    let trustedRoot: TrustedRoot | undefined;
    if (rootRef !== undefined) {
      const text = await this.read(rootRef, what);
      texts.push(text);
      const parsed = parseTrustedRoot(text);
      if (!parsed.ok) {
        throw new TrustProblem(
          errorVerdict('TrustMaterialInvalid', `${what}: ${describeRef(rootRef)}: ${parsed.error}`, false),
        );
      }
      trustedRoot = parsed.root;
    }
    return {
      material: {
        ...(publicKey === undefined ? {} : { publicKey }),
        ...(trustedRoot === undefined ? {} : { trustedRoot }),
      },
      texts,
    };
  }

  private async prepare(rule: SignatureRule): Promise<{ attestors: PreparedAttestor[]; configHash: string }> {
    const ruleHash = createHash('sha256');
    ruleHash.update(
      JSON.stringify({ count: rule.count, annotations: rule.annotations, attestations: rule.attestations }),
    );
    const attestors: PreparedAttestor[] = [];
    for (const spec of rule.attestors) {
      const { material, texts } = await this.materialOf(spec);
      const attestorHash = createHash('sha256').update(JSON.stringify(spec));
      for (const t of texts) attestorHash.update('\0').update(t);
      const id = attestorHash.digest('hex');
      ruleHash.update(id);
      let prepared = this.prepared.get(id);
      if (prepared === undefined) {
        const result = prepareAttestor(spec, material);
        if (!result.ok) throw new TrustProblem(errorVerdict('TrustMaterialInvalid', result.error, false));
        prepared = result.attestor;
        this.prepared.set(id, prepared);
      }
      attestors.push(prepared);
    }
    return { attestors, configHash: ruleHash.digest('hex') };
  }
}
