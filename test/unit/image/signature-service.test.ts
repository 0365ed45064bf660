// The SignatureService on its own: what it asks the verifier and the registry, and when. Most tests
// run the real SignatureVerifier over an in-memory registry that counts its calls, with one manual
// clock for both, so "fetched once per TTL, not per pod, not per attestor" is counted, not assumed;
// the tests of backoff, coalescing and bounds hold verifications in flight with a scripted verifier.
import assert from 'node:assert/strict';

import type { V1PodSpec } from '@kubernetes/client-node';

import type { SecurityPolicy, SignatureSettings } from '../../../src/api/policy-types.js';
import type { ScanCredentials } from '../../../src/image/credentials.js';
import {
  SignatureService,
  requirementOf,
  trustMaterialFromApi,
  type TrustMaterialReader,
  type SignatureChange,
  type SignatureRequirement,
  type SignatureServiceOptions,
  type VerifySignatures,
} from '../../../src/image/signature-service.js';
import type { ImageSignatureFact } from '../../../src/policy/image-facts.js';
import { compilePolicy } from '../../../src/policy/compile.js';
import { ANONYMOUS } from '../../../src/registry/auth.js';
import { RegistryError } from '../../../src/registry/errors.js';
import { SignatureVerifier, type SignatureVerdict } from '../../../src/signature/index.js';
import { ManualClock, settle } from '../runtime/manual-clock.js';
import { MemoryRegistry } from '../signature/memory-registry.js';
import { dsseBundle, generateKey, inTotoStatement, type TestKey } from '../../support/signing.js';

const MINUTE = 60_000;
const TTL = 10 * MINUTE;
const RETRY = 30_000;
const REPO = 'registry.test/team/app';
const POD: V1PodSpec = { containers: [{ name: 'app', image: `${REPO}:1.0` }] };
const ANONYMOUS_CREDENTIALS: ScanCredentials = { source: ANONYMOUS, secrets: [], problems: [] };

let policies = 0;
/** A requirement as the reconciler gets it: from a compiled SecurityPolicy (unique uid each). */
function requirement(settings: SignatureSettings, namespace = 'team'): SignatureRequirement {
  policies++;
  const policy: SecurityPolicy = {
    apiVersion: 'shipshape.dev/v1alpha1',
    kind: 'SecurityPolicy',
    metadata: { name: `signed-${policies}`, namespace, uid: `uid-sigsvc-${policies}`, generation: 1 },
    spec: { signatures: { required: true, ...settings } },
  };
  const found = requirementOf(compilePolicy(policy));
  assert.ok(found !== undefined);
  return found;
}

const keyAttestor = (name: string, key: TestKey) => ({
  name,
  publicKey: key.publicPem,
  transparencyLog: { threshold: 0 },
});

/** Lets every queued verification finish (they run on promises only: no real time passes). */
async function drain(service: SignatureService): Promise<void> {
  for (let i = 0; i < 100 && service.inFlight > 0; i++) await settle();
  assert.equal(service.inFlight, 0, 'verifications still running');
}

interface Harness {
  readonly clock: ManualClock;
  readonly registry: MemoryRegistry;
  readonly service: SignatureService;
  readonly key: TestKey;
  readonly image: { digest: string; size: number };
  /** Calls of the verifier, one per verification the service started. */
  verifications: number;
  /** Asks as a pod in `namespace` running the image by tag, and drains. */
  ask(req: SignatureRequirement, namespace?: string): Promise<ImageSignatureFact | undefined>;
}

/** The real verifier over a counting in-memory registry, one key-signed bundle on one image. */
function harness(options: Partial<SignatureServiceOptions> = {}): Harness {
  const clock = new ManualClock();
  const registry = new MemoryRegistry(true);
  const key = generateKey();
  const image = registry.putImage(`sigsvc-${Math.random()}`);
  registry.putBundle(image, dsseBundle(key, inTotoStatement(image.digest)));
  const verifier = new SignatureVerifier({ registry, ttlMs: TTL, now: () => clock.now() });
  const h: Harness = {
    clock,
    registry,
    key,
    image,
    verifications: 0,
    service: new SignatureService({
      verify: (ref, digest, rule, callOptions) => {
        h.verifications++;
        return verifier.verify(ref, digest, rule, callOptions);
      },
      credentialsFor: () => Promise.resolve(ANONYMOUS_CREDENTIALS),
      clock,
      ttlMs: TTL,
      retryMs: RETRY,
      ...options,
    }),
    async ask(req, namespace = 'team') {
      h.service.verdictOf(namespace, POD, `${REPO}:1.0`, image.digest, req);
      await drain(h.service);
      return h.service.verdictOf(namespace, POD, `${REPO}:1.0`, image.digest, req);
    },
  };
  return h;
}

/** A verifier whose every answer the test gives by hand, recording what it was asked. */
class ScriptedVerifier {
  readonly calls: { digest: string; resolve: (v: SignatureVerdict) => void }[] = [];
  running = 0;
  most = 0;
  readonly verify: VerifySignatures = (_image, digest) => {
    this.running++;
    this.most = Math.max(this.most, this.running);
    return new Promise<SignatureVerdict>((resolve) => {
      this.calls.push({
        digest,
        resolve: (v) => {
          this.running--;
          resolve(v);
        },
      });
    });
  };
  /** Answers every open call with `verdict`. */
  answerAll(verdict: SignatureVerdict): void {
    for (const call of this.calls.splice(0)) call.resolve(verdict);
  }
}

const VERIFIED: SignatureVerdict = {
  status: 'Verified',
  attestors: ['release'],
  message: 'signed by release',
};
const digestOf = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;

/**
 * A service over a ScriptedVerifier (or the `verify` given) with anonymous pull credentials, and a
 * requirement whose rule the scripted verifier does not read; `ask` is a pod in `namespace` asking.
 */
function scriptedService(options: Partial<SignatureServiceOptions> = {}) {
  const scripted = new ScriptedVerifier();
  const clock = new ManualClock();
  const service = new SignatureService({
    verify: scripted.verify,
    credentialsFor: () => Promise.resolve(ANONYMOUS_CREDENTIALS),
    clock,
    ...options,
  });
  const req = requirement({ attestors: [{ name: 'release', publicKey: 'unused' }] });
  const ask = (digest: string, namespace = 'team'): ImageSignatureFact | undefined =>
    service.verdictOf(namespace, POD, `${REPO}:1.0`, digest, req);
  return { scripted, clock, service, req, ask };
}

describe('signature service', () => {
  describe('caching by digest and requirement', () => {
    it("fetches an image's signatures once per TTL however many pods, attestors and policies ask", async () => {
      const h = harness();
      const threeAttestors = requirement({
        attestors: [
          keyAttestor('release', h.key),
          keyAttestor('qa', generateKey()),
          keyAttestor('ops', h.key),
        ],
      });
      const another = requirement({ attestors: [keyAttestor('release', h.key)] }, 'other');
      assert.notEqual(threeAttestors.key, another.key);
      // Twenty pods in ten namespaces under two policies ask before any verification has finished.
      for (let pod = 0; pod < 20; pod++) {
        for (const req of [threeAttestors, another]) {
          assert.equal(
            h.service.verdictOf(`ns-${pod % 10}`, POD, `${REPO}:1.0`, h.image.digest, req),
            undefined,
          );
        }
      }
      await drain(h.service);
      assert.equal(h.verifications, 2, 'one verification per requirement, not per pod');
      // Referrers API, the bundle manifest, its blob: once for both requirements and all attestors.
      assert.equal(h.registry.calls, 3);
      assert.equal((await h.ask(threeAttestors))?.verdict, 'Verified');
      assert.equal((await h.ask(another, 'other'))?.verdict, 'Verified');

      // A policy that first asks later within the TTL is verified against the artifacts already fetched.
      await h.clock.advance(TTL / 2);
      const later = requirement({ attestors: [keyAttestor('late', h.key)] });
      assert.equal((await h.ask(later))?.verdict, 'Verified');
      assert.deepEqual([h.verifications, h.registry.calls], [3, 3]);

      await h.clock.advance(TTL / 2 - 1);
      assert.equal((await h.ask(threeAttestors))?.verdict, 'Verified');
      assert.deepEqual([h.verifications, h.registry.calls], [3, 3], 'still inside the TTL: nothing fetched');

      await h.clock.advance(2);
      // The expired verdict still answers while it is verified again, and the artifacts are fetched again.
      assert.equal(
        h.service.verdictOf('team', POD, `${REPO}:1.0`, h.image.digest, threeAttestors)?.verdict,
        'Verified',
      );
      await drain(h.service);
      assert.deepEqual([h.verifications, h.registry.calls], [4, 6]);
    });

    it('re-verifies when a rescan asks after the TTL, and tells subscribers only of a changed verdict', async () => {
      const h = harness();
      const changes: SignatureChange[] = [];
      h.service.subscribe((c) => changes.push(c));
      const req = requirement({ attestors: [keyAttestor('release', h.key)] });
      assert.equal((await h.ask(req, 'shop'))?.verdict, 'Verified');
      assert.equal((await h.ask(req, 'web'))?.verdict, 'Verified');
      assert.deepEqual(changes, [{ namespace: 'shop', image: `${REPO}:1.0`, digest: h.image.digest }]);

      // A rescan after the TTL with the signature still there: verified again, nobody told.
      await h.clock.advance(TTL + 1);
      assert.equal((await h.ask(req, 'shop'))?.verdict, 'Verified');
      assert.equal(h.verifications, 2);
      assert.equal(changes.length, 1);

      // The signature is withdrawn; a rescan before the TTL does not notice, the next one does.
      for (const [k, bytes] of h.registry.manifests) {
        if (bytes.toString().includes('"subject"')) h.registry.manifests.delete(k);
      }
      await h.clock.advance(TTL / 2);
      assert.equal((await h.ask(req, 'shop'))?.verdict, 'Verified');
      assert.equal(h.verifications, 2);
      await h.clock.advance(TTL / 2 + 1);
      h.service.verdictOf('shop', POD, `${REPO}:1.0`, h.image.digest, req);
      await drain(h.service);
      const fact = h.service.verdictOf('shop', POD, `${REPO}:1.0`, h.image.digest, req);
      assert.equal(fact?.verdict, 'Unsigned', fact?.message);
      // Every namespace that runs the image hears of it, so its workloads are evaluated again.
      assert.deepEqual(
        changes
          .slice(1)
          .map((c) => c.namespace)
          .sort(),
        ['shop', 'web'],
      );
    });
  });

  describe('errors', () => {
    it('keeps an unreachable registry an Error, never Unsigned, retried with a growing backoff', async () => {
      const h = harness();
      const req = requirement({ attestors: [keyAttestor('release', h.key)] });
      h.registry.failWith = new RegistryError('NetworkError', 'registry registry.test: connection refused', {
        retryable: true,
      });
      const first = await h.ask(req);
      assert.deepEqual(first?.verdict === 'Error' ? [first.verdict, first.reason] : first, [
        'Error',
        'RegistryError',
      ]);
      assert.match(first?.message ?? '', /connection refused/);
      // Retries at 30 s, then 60 s, then 120 s after each failure.
      const retriedAt: number[] = [];
      const start = h.clock.now();
      for (let second = 1; second <= 240; second++) {
        await h.clock.advance(1000);
        const before = h.verifications;
        const fact = await h.ask(req);
        assert.equal(fact?.verdict, 'Error', `at ${second} s: ${fact?.message}`);
        if (h.verifications > before) retriedAt.push((h.clock.now() - start) / 1000);
      }
      assert.deepEqual(retriedAt, [30, 90, 210]);

      // The registry is back: the next retry verifies (the Error was not cached below either).
      h.registry.failWith = undefined;
      await h.clock.advance(240_000);
      assert.equal((await h.ask(req))?.verdict, 'Verified');
      // A later outage starts again from the first retry delay.
      h.registry.failWith = new RegistryError('NetworkError', 'connection refused', { retryable: true });
      await h.clock.advance(TTL + 1);
      assert.equal((await h.ask(req))?.verdict, 'Error');
      const failedAt = h.verifications;
      h.registry.failWith = undefined;
      await h.clock.advance(RETRY);
      assert.equal((await h.ask(req))?.verdict, 'Verified');
      assert.equal(h.verifications, failedAt + 1);
    });

    it('waits no longer than the TTL between retries', async () => {
      const { scripted, clock, service, ask } = scriptedService({ ttlMs: 90_000, retryMs: RETRY });
      const error: SignatureVerdict = {
        status: 'Error',
        reason: 'RegistryError',
        retryable: true,
        message: 'down',
      };
      const gaps: number[] = [];
      let last = clock.now();
      for (let step = 0; step < 600; step++) {
        ask(digestOf(1));
        await settle();
        if (scripted.calls.length > 0) {
          gaps.push(clock.now() - last);
          last = clock.now();
          scripted.answerAll(error);
          await drain(service);
        }
        await clock.advance(1000);
      }
      assert.deepEqual(gaps.slice(0, 5), [0, 30_000, 60_000, 90_000, 90_000]);
    });

    it('gives missing trust material an Error that is retried, not a verdict on the image', async () => {
      const clock = new ManualClock();
      const registry = new MemoryRegistry(true);
      const key = generateKey();
      const image = registry.putImage('trust-later');
      registry.putBundle(image, dsseBundle(key, inTotoStatement(image.digest)));
      const secrets = new Map<string, string>();
      const verifier = new SignatureVerifier({
        registry,
        now: () => clock.now(),
        trustMaterial: {
          read: (ref) => Promise.resolve(secrets.get(`${ref.namespace}/${ref.name}/${ref.key}`)),
        },
      });
      const service = new SignatureService({
        verify: (...args) => verifier.verify(...args),
        credentialsFor: () => Promise.resolve(ANONYMOUS_CREDENTIALS),
        clock,
        retryMs: RETRY,
      });
      const req = requirement({
        attestors: [
          {
            name: 'release',
            publicKeyRef: { name: 'cosign', key: 'cosign.pub' },
            transparencyLog: { threshold: 0 },
          },
        ],
      });
      const ask = async (): Promise<ImageSignatureFact | undefined> => {
        service.verdictOf('team', POD, `${REPO}:1.0`, image.digest, req);
        await drain(service);
        return service.verdictOf('team', POD, `${REPO}:1.0`, image.digest, req);
      };
      const missing = await ask();
      assert.deepEqual(missing?.verdict === 'Error' ? [missing.reason, missing.message] : missing, [
        'TrustMaterialMissing',
        'attestor release: Secret team/cosign key cosign.pub does not exist',
      ]);
      assert.equal(registry.calls, 0, 'no registry request without trust material');
      secrets.set('team/cosign/cosign.pub', key.publicPem);
      await clock.advance(RETRY);
      assert.equal((await ask())?.verdict, 'Verified');
    });

    it('turns unreadable pull secrets and a verifier that throws into Error verdicts', async () => {
      let failCredentials = true;
      const { clock, service, ask } = scriptedService({
        verify: () => Promise.reject(new Error('boom')),
        credentialsFor: () =>
          failCredentials
            ? Promise.reject(Object.assign(new Error('forbidden'), { code: 403 }))
            : Promise.resolve(ANONYMOUS_CREDENTIALS),
        retryMs: RETRY,
      });
      ask(digestOf(2), 'shop');
      await drain(service);
      const noSecrets = ask(digestOf(2), 'shop');
      assert.equal(noSecrets?.verdict, 'Error');
      assert.match(noSecrets.message, /the pull secrets of pods in shop could not be read/);
      failCredentials = false;
      await clock.advance(RETRY);
      ask(digestOf(2), 'shop');
      await drain(service);
      const thrown = ask(digestOf(2), 'shop');
      assert.deepEqual(thrown?.verdict === 'Error' ? [thrown.reason, thrown.message] : thrown, [
        'RegistryError',
        'signature verification failed unexpectedly: boom',
      ]);
    });

    it('chooses pull credentials by the pod that asked, keeping only the fields that choose them', async () => {
      const asked: unknown[] = [];
      const { service, req } = scriptedService({
        verify: () => Promise.resolve(VERIFIED),
        credentialsFor: (namespace, podSpec) => {
          asked.push([namespace, podSpec]);
          return Promise.resolve(ANONYMOUS_CREDENTIALS);
        },
      });
      const pod: V1PodSpec = {
        serviceAccountName: 'builder',
        imagePullSecrets: [{ name: 'regcred' }],
        containers: [
          { name: 'app', image: `${REPO}:1.0`, env: [{ name: 'TOKEN', value: 'x'.repeat(1000) }] },
        ],
      };
      service.verdictOf('shop', pod, `${REPO}:1.0`, digestOf(5), req);
      await drain(service);
      assert.deepEqual(asked, [
        ['shop', { serviceAccountName: 'builder', imagePullSecrets: [{ name: 'regcred' }] }],
      ]);
    });

    it('answers a policy whose settings cannot be used with an Error at once, verifying nothing', () => {
      const { scripted, service } = scriptedService();
      // A ClusterSecurityPolicy's Secret reference needs a namespace.
      const policy = compilePolicy({
        apiVersion: 'shipshape.dev/v1alpha1',
        kind: 'ClusterSecurityPolicy',
        metadata: { name: 'cluster-signed', uid: 'uid-sigsvc-cluster', generation: 1 },
        spec: {
          signatures: {
            required: true,
            attestors: [{ name: 'release', publicKeyRef: { name: 'k', key: 'k' } }],
          },
        },
      });
      const req = requirementOf(policy);
      assert.ok(req !== undefined);
      const fact = service.verdictOf('team', POD, `${REPO}:1.0`, digestOf(3), req);
      assert.deepEqual(fact?.verdict === 'Error' ? fact.reason : fact, 'TrustMaterialInvalid');
      assert.match(
        fact?.message ?? '',
        /policy cluster-signed: attestor release: publicKeyRef needs a namespace/,
      );
      assert.equal(scripted.calls.length, 0);
    });
  });

  describe('concurrency and bounds', () => {
    it('runs one verification per digest and requirement however many ask while it runs', async () => {
      const { scripted, service, ask } = scriptedService();
      const changes: SignatureChange[] = [];
      service.subscribe((c) => changes.push(c));
      for (let i = 0; i < 50; i++) {
        assert.equal(ask(digestOf(4), `ns-${i % 5}`), undefined);
        await settle();
      }
      assert.equal(scripted.calls.length, 1);
      scripted.answerAll(VERIFIED);
      await drain(service);
      assert.equal(ask(digestOf(4), 'ns-0')?.verdict, 'Verified');
      // Each namespace that asked hears once.
      assert.deepEqual(changes.map((c) => c.namespace).sort(), ['ns-0', 'ns-1', 'ns-2', 'ns-3', 'ns-4']);
    });

    it('runs at most `concurrency` verifications at once', async () => {
      const { scripted, service, ask } = scriptedService({ concurrency: 2 });
      for (let d = 0; d < 6; d++) ask(digestOf(10 + d));
      await settle();
      assert.equal(service.inFlight, 6);
      for (let round = 0; round < 3; round++) {
        assert.equal(scripted.calls.length, 2);
        scripted.answerAll(VERIFIED);
        await settle();
      }
      await drain(service);
      assert.equal(scripted.most, 2);
    });

    it('remembers at most maxEntries verdicts, dropping the least recently asked', async () => {
      const { scripted, service, ask } = scriptedService({ maxEntries: 2 });
      const verified = async (d: number): Promise<void> => {
        ask(digestOf(d));
        await settle();
        scripted.answerAll(VERIFIED);
        await drain(service);
      };
      await verified(20);
      await verified(21);
      await verified(20); // 20 is the most recent again, so 21 goes first
      await verified(22);
      const asked = (): string[] => scripted.calls.map((c) => c.digest);
      assert.equal(ask(digestOf(20))?.verdict, 'Verified');
      assert.equal(ask(digestOf(22))?.verdict, 'Verified');
      assert.deepEqual(asked(), []);
      assert.equal(ask(digestOf(21)), undefined);
      await settle();
      assert.deepEqual(asked(), [digestOf(21)], 'the dropped verdict is verified again');
      scripted.answerAll(VERIFIED);
      await drain(service);
      assert.deepEqual(service.resultsFor(digestOf(20)), [], '20 was dropped in turn');
    });

    it('tells every subscriber even when one of them throws', async () => {
      const warnings: string[] = [];
      const { scripted, service, ask } = scriptedService({
        logger: { debug: () => undefined, info: () => undefined, warn: (message) => warnings.push(message) },
      });
      const heard: string[] = [];
      service.subscribe(() => {
        throw new Error('listener bug');
      });
      service.subscribe((c) => heard.push(c.digest));
      ask(digestOf(30));
      await settle();
      scripted.answerAll(VERIFIED);
      await drain(service);
      assert.deepEqual(heard, [digestOf(30)]);
      assert.deepEqual(warnings, ['signature change handler failed']);
    });

    it('starts no verification after shutdown and waits for the running ones', async () => {
      const { scripted, service, ask } = scriptedService();
      ask(digestOf(40));
      await settle();
      let stopped = false;
      const stopping = service.shutdown().then(() => (stopped = true));
      await settle();
      assert.equal(stopped, false, 'shutdown waits for the running verification');
      scripted.answerAll(VERIFIED);
      await stopping;
      ask(digestOf(41));
      await settle();
      assert.equal(scripted.calls.length, 0);
      await service.shutdown();
    });
  });

  describe('trust material through the API server', () => {
    /** A CoreV1Api stand-in: objects by kind/namespace/name, a status to fail with, and a count of reads. */
    function fakeCore(objects: Record<string, Record<string, string>>, failWith?: number) {
      const reads: string[] = [];
      const read = (kind: string) => (req: { name: string; namespace: string }) => {
        const id = `${kind}/${req.namespace}/${req.name}`;
        reads.push(id);
        if (failWith !== undefined)
          return Promise.reject(Object.assign(new Error('Forbidden: secret "x"'), { code: failWith }));
        const data = objects[id];
        return data === undefined
          ? Promise.reject(Object.assign(new Error('not found'), { code: 404 }))
          : Promise.resolve({ data });
      };
      return {
        reads,
        core: {
          readNamespacedSecret: read('Secret'),
          readNamespacedConfigMap: read('ConfigMap'),
        } as unknown as TrustMaterialReader,
      };
    }
    const key = generateKey();

    it('reads a Secret key as base64 and a ConfigMap key as text, each once while remembered', async () => {
      const { core, reads } = fakeCore({
        'Secret/team/cosign': { 'cosign.pub': Buffer.from(key.publicPem).toString('base64') },
        'ConfigMap/shipshape-system/trust': { 'trusted_root.json': '{"mediaType":"x"}' },
      });
      const source = trustMaterialFromApi(core);
      const secret = { kind: 'Secret', namespace: 'team', name: 'cosign', key: 'cosign.pub' } as const;
      assert.equal(await source.read(secret), key.publicPem);
      assert.equal(await source.read(secret), key.publicPem);
      assert.equal(
        await source.read({
          kind: 'ConfigMap',
          namespace: 'shipshape-system',
          name: 'trust',
          key: 'trusted_root.json',
        }),
        '{"mediaType":"x"}',
      );
      // An absent key and an absent object are both "absent" (undefined), and remembered too.
      assert.equal(await source.read({ ...secret, key: 'other' }), undefined);
      assert.equal(await source.read({ ...secret, name: 'gone' }), undefined);
      assert.equal(await source.read({ ...secret, name: 'gone' }), undefined);
      assert.deepEqual(reads, [
        'Secret/team/cosign',
        'ConfigMap/shipshape-system/trust',
        'Secret/team/cosign',
        'Secret/team/gone',
      ]);
    });

    it('throws a refusal with the status and what to check, asks again next time, and never echoes the answer', async () => {
      const { core, reads } = fakeCore({}, 403);
      const source = trustMaterialFromApi(core);
      const secret = { kind: 'Secret', namespace: 'team', name: 'cosign', key: 'cosign.pub' } as const;
      for (let i = 0; i < 2; i++) {
        await assert.rejects(source.read(secret), (err: Error) => {
          assert.equal(
            err.message,
            'the API server answered 403 (the operator may lack RBAC permission to read them)',
          );
          return true;
        });
      }
      assert.equal(reads.length, 2, 'a failure is not remembered');
    });
  });

  it("reports each attestor's line of a verdict for the ImageReport, bounded", async () => {
    const h = harness();
    const req = requirement({
      attestors: [keyAttestor('release', h.key), keyAttestor('qa', generateKey())],
    });
    assert.equal((await h.ask(req))?.verdict, 'Verified');
    const results = h.service.resultsFor(h.image.digest);
    assert.deepEqual(
      results.map((r) => [r.attestor.replace(/^team\/signed-\d+\//, 'policy/'), r.verdict]),
      [
        ['policy/qa', 'Unsigned'],
        ['policy/release', 'Verified'],
      ],
    );
    assert.ok(results.every((r) => r.checkedAt === new Date(h.clock.now()).toISOString()));
    const many = requirement({
      attestors: Array.from({ length: 40 }, (_, i) => keyAttestor(`a${i}`, h.key)),
    });
    await h.ask(many);
    assert.equal(h.service.resultsFor(h.image.digest).length, 32);
  });
});
