import assert from 'node:assert/strict';

import type { V1Secret, V1ServiceAccount } from '@kubernetes/client-node';

import {
  ImageService,
  reportedAnalysisOf,
  type ImageResult,
  type ImageServiceOptions,
} from '../../../src/image/image-service.js';
import {
  imageScanKey,
  pullCredentialsFromApi,
  type ScanCredentials,
  type ScannedPodSpec,
} from '../../../src/image/credentials.js';
import { securityReportStatusSchema } from '../../../src/api/report-schema.js';
import { validateAgainstSchema } from '../../../src/api/validate.js';
import type {
  AnalyzeOptions,
  ImageAnalysis,
  ImageAnalysisSuccess,
} from '../../../src/image/image-analyzer.js';
import type { SecretReader } from '../../../src/image/credentials.js';
import { lookupImageFacts } from '../../../src/policy/image-facts.js';
import { ANONYMOUS } from '../../../src/registry/auth.js';
import type { ImageInventory } from '../../../src/sbom/types.js';
import { ManualClock, settle } from '../runtime/manual-clock.js';

const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;
const MINUTE = 60_000;

function inventory(packages = 3): ImageInventory {
  return {
    kind: 'ImageInventory',
    os: {
      id: 'debian',
      versionId: '12',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
      source: '/etc/os-release',
    },
    packages: Array.from({ length: packages }, (_, i) => ({
      name: `pkg${i}`,
      version: '1.0',
      ecosystem: 'deb' as const,
      location: '/var/lib/dpkg/status',
      purl: `pkg:deb/debian/pkg${i}@1.0`,
      layerDigest: DIGEST_B,
    })),
    facts: {
      user: '',
      runsAsRoot: true,
      exposedPorts: [],
      secretEnvKeys: [],
      layerCount: 1,
      compressedBytes: 100,
      uncompressedBytes: 200,
      baseImage: { hints: [] },
    },
    layers: [],
    analyzerVersion: 'test',
    warnings: [],
  };
}

function success(reference: string, digest = DIGEST_A): ImageAnalysisSuccess {
  return {
    ok: true,
    reference,
    digest,
    manifestDigest: digest,
    inventory: inventory(),
    facts: { digest, user: '', layers: 1 },
  };
}

/** An analyzer whose answers the test gives, one call at a time. */
class FakeAnalyzer {
  readonly calls: { image: string; options: AnalyzeOptions; resolve: (a: ImageAnalysis) => void }[] = [];
  active = 0;
  maxActive = 0;

  readonly analyze = (image: string, options: AnalyzeOptions): Promise<ImageAnalysis> =>
    new Promise<ImageAnalysis>((resolve) => {
      this.active++;
      this.maxActive = Math.max(this.maxActive, this.active);
      this.calls.push({
        image,
        options,
        resolve: (analysis) => {
          this.active--;
          resolve(analysis);
        },
      });
    });

  /** Answers the oldest unanswered call for `image` and lets the scanner record it. */
  async answer(index: number, analysis: ImageAnalysis): Promise<void> {
    const call = this.calls[index];
    assert.ok(call, `no analysis call #${index}`);
    call.resolve(analysis);
    await settle();
  }
}

const credentials: ScanCredentials = { source: ANONYMOUS, secrets: [], problems: [] };
const plainSpec: ScannedPodSpec = {};

describe('ImageService', () => {
  let clock: ManualClock;
  let analyzer: FakeAnalyzer;
  let results: [string, string][];
  let scanner: ImageService;

  function makeScanner(options: Partial<ImageServiceOptions> = {}): ImageService {
    return new ImageService({
      analyzer,
      credentialsFor: () => Promise.resolve(credentials),
      clock,
      onResult: (result: ImageResult) => results.push([result.image, result.namespace]),
      ...options,
    });
  }

  beforeEach(() => {
    clock = new ManualClock();
    analyzer = new FakeAnalyzer();
    results = [];
    scanner = makeScanner();
  });

  afterEach(async () => {
    for (const call of analyzer.calls) call.resolve(success(call.image));
    await scanner.shutdown();
  });

  it('answers Pending at first and analyses an image once however often it is asked', async () => {
    assert.deepEqual(scanner.statusOf('shop', plainSpec, 'nginx:1.27'), { state: 'Pending' });
    assert.deepEqual(scanner.statusOf('shop', plainSpec, 'nginx:1.27'), { state: 'Pending' });
    await settle();
    assert.equal(analyzer.calls.length, 1);
    assert.equal(analyzer.calls[0]?.image, 'nginx:1.27');
  });

  it('turns Pending into Analyzed when the scan finishes, and reports the result', async () => {
    scanner.statusOf('shop', plainSpec, 'nginx:1.27');
    await settle();
    await analyzer.answer(0, success('nginx:1.27'));
    const status = scanner.statusOf('shop', plainSpec, 'nginx:1.27');
    assert.equal(status.state, 'Analyzed');
    assert.equal(status.state === 'Analyzed' && status.digest, DIGEST_A);
    assert.deepEqual(status.state === 'Analyzed' && status.facts, { digest: DIGEST_A, user: '', layers: 1 });
    assert.deepEqual(results, [['nginx:1.27', 'shop']]);
    assert.equal(analyzer.calls.length, 1, 'a fresh result is not scanned again');
  });

  it("reports a failed analysis with the analyzer's reason, message and registry", async () => {
    scanner.statusOf('shop', plainSpec, '127.0.0.1:5000/app:1');
    await settle();
    await analyzer.answer(0, {
      ok: false,
      reference: '127.0.0.1:5000/app:1',
      reason: 'RegistryNotAllowed',
      message: 'registry 127.0.0.1:5000 is not allowed: loopback addresses are blocked',
      registry: '127.0.0.1:5000',
      retryable: false,
    });
    assert.deepEqual(scanner.statusOf('shop', plainSpec, '127.0.0.1:5000/app:1'), {
      state: 'Failed',
      reason: 'RegistryNotAllowed',
      message: 'registry 127.0.0.1:5000 is not allowed: loopback addresses are blocked',
      registry: '127.0.0.1:5000',
    });
    assert.deepEqual(results, [['127.0.0.1:5000/app:1', 'shop']]);
  });

  it('tries a failed image again after the failure TTL, keeping the failure meanwhile', async () => {
    const failure: ImageAnalysis = {
      ok: false,
      reference: 'private/app:1',
      reason: 'Unauthorized',
      message: 'registry docker.io answered 401 for private/app',
      retryable: false,
    };
    scanner.statusOf('shop', plainSpec, 'private/app:1');
    await settle();
    await analyzer.answer(0, failure);
    await clock.advance(5 * MINUTE - 1);
    scanner.statusOf('shop', plainSpec, 'private/app:1');
    await settle();
    assert.equal(analyzer.calls.length, 1, 'not before the TTL');
    await clock.advance(1);
    assert.equal(scanner.statusOf('shop', plainSpec, 'private/app:1').state, 'Failed');
    await settle();
    assert.equal(analyzer.calls.length, 2, 'again once the TTL is over');
    await analyzer.answer(1, failure);
    assert.equal(results.length, 1, 'the same failure again is not a new result');
  });

  it('tries a retryable failure again after 30 seconds', async () => {
    scanner.statusOf('shop', plainSpec, 'flaky/app:1');
    await settle();
    await analyzer.answer(0, {
      ok: false,
      reference: 'flaky/app:1',
      reason: 'RegistryUnavailable',
      message: 'registry flaky answered 503',
      retryable: true,
    });
    await clock.advance(30_000);
    scanner.statusOf('shop', plainSpec, 'flaky/app:1');
    await settle();
    assert.equal(analyzer.calls.length, 2);
  });

  it('rescans an analysed image after the rescan interval, serving the old result meanwhile', async () => {
    scanner = makeScanner({ rescanIntervalMs: 60 * MINUTE });
    scanner.statusOf('shop', plainSpec, 'nginx:latest');
    await settle();
    await analyzer.answer(0, success('nginx:latest', DIGEST_A));
    await clock.advance(60 * MINUTE);
    const stale = scanner.statusOf('shop', plainSpec, 'nginx:latest');
    assert.equal(stale.state === 'Analyzed' && stale.digest, DIGEST_A);
    await settle();
    assert.equal(analyzer.calls.length, 2);
    await analyzer.answer(1, success('nginx:latest', DIGEST_B));
    const fresh = scanner.statusOf('shop', plainSpec, 'nginx:latest');
    assert.equal(fresh.state === 'Analyzed' && fresh.digest, DIGEST_B);
    assert.equal(results.length, 2, 'the moved tag is a new result');
  });

  it('keeps an analysed result when a rescan hits a retryable registry failure', async () => {
    scanner = makeScanner({ rescanIntervalMs: MINUTE });
    scanner.statusOf('shop', plainSpec, 'nginx:latest');
    await settle();
    await analyzer.answer(0, success('nginx:latest'));
    await clock.advance(MINUTE);
    scanner.statusOf('shop', plainSpec, 'nginx:latest');
    await settle();
    await analyzer.answer(1, {
      ok: false,
      reference: 'nginx:latest',
      reason: 'Timeout',
      message: 'registry timed out',
      retryable: true,
    });
    assert.equal(scanner.statusOf('shop', plainSpec, 'nginx:latest').state, 'Analyzed');
    assert.equal(results.length, 1);
    await clock.advance(30_000);
    scanner.statusOf('shop', plainSpec, 'nginx:latest');
    await settle();
    assert.equal(analyzer.calls.length, 3, 'and tries again soon');
  });

  it('scans an image separately for each set of pull secrets, but not for their order', async () => {
    const seen: [string, ScannedPodSpec][] = [];
    const sources = new Map<string, ScanCredentials>();
    scanner = makeScanner({
      credentialsFor: (namespace, spec) => {
        seen.push([namespace, spec]);
        const names = `${namespace}:${(spec.imagePullSecrets ?? []).map((r) => r.name).join(',')}`;
        const made: ScanCredentials = { source: { credentialsFor: () => [] }, secrets: [], problems: [] };
        sources.set(names, made);
        return Promise.resolve(made);
      },
    });
    const ab = { imagePullSecrets: [{ name: 'b' }, { name: 'a' }] };
    const ba = { imagePullSecrets: [{ name: 'a' }, { name: 'b' }] };
    scanner.statusOf('shop', ab, 'private/app:1');
    scanner.statusOf('shop', ba, 'private/app:1');
    scanner.statusOf('shop', { imagePullSecrets: [{ name: 'a' }] }, 'private/app:1');
    scanner.statusOf('shop', { serviceAccountName: 'builder' }, 'private/app:1');
    scanner.statusOf('other', ab, 'private/app:1');
    await settle();
    assert.equal(analyzer.calls.length, 2, 'the concurrency bound holds the rest back');
    for (let i = 0; i < 4; i++) await analyzer.answer(i, success('private/app:1'));
    assert.equal(analyzer.calls.length, 4, 'four distinct keys');
    assert.equal(seen.length, 4);
    assert.deepEqual(seen[0], [
      'shop',
      { imagePullSecrets: [{ name: 'a' }, { name: 'b' }], serviceAccountName: 'default' },
    ]);
    assert.equal(
      analyzer.calls[0]?.options.credentials,
      sources.get('shop:a,b')?.source,
      "the pod's credentials are used",
    );
    assert.notEqual(
      imageScanKey('shop', ab, 'x'),
      imageScanKey('shop', { serviceAccountName: 'builder' }, 'x'),
    );
    assert.equal(imageScanKey('shop', ab, 'x'), imageScanKey('shop', ba, 'x'));
    assert.equal(imageScanKey('shop', {}, 'x'), imageScanKey('shop', { serviceAccountName: 'default' }, 'x'));
  });

  it('never runs more scans at once than its concurrency bound', async () => {
    scanner = makeScanner({ concurrency: 1 });
    for (const image of ['a:1', 'b:1', 'c:1']) scanner.statusOf('shop', plainSpec, image);
    await settle();
    assert.equal(analyzer.calls.length, 1);
    await analyzer.answer(0, success('a:1'));
    await analyzer.answer(1, success('b:1'));
    await analyzer.answer(2, success('c:1'));
    assert.equal(analyzer.maxActive, 1);
    assert.deepEqual(
      results.map(([image]) => image),
      ['a:1', 'b:1', 'c:1'],
    );
  });

  it('remembers at most maxTrackedImages images, forgetting the least recently asked', async () => {
    scanner = makeScanner({ maxTrackedImages: 2, concurrency: 4 });
    scanner.statusOf('shop', plainSpec, 'a:1');
    scanner.statusOf('shop', plainSpec, 'b:1');
    await settle();
    await analyzer.answer(0, success('a:1'));
    await analyzer.answer(1, success('b:1'));
    scanner.statusOf('shop', plainSpec, 'a:1'); // a is now the most recent
    scanner.statusOf('shop', plainSpec, 'c:1'); // evicts b
    await settle();
    await analyzer.answer(2, success('c:1'));
    assert.equal(scanner.trackedImages, 2);
    assert.equal(scanner.statusOf('shop', plainSpec, 'a:1').state, 'Analyzed');
    assert.deepEqual(scanner.statusOf('shop', plainSpec, 'b:1'), { state: 'Pending' }, 'b was forgotten');
    await settle();
    assert.equal(analyzer.calls.length, 4);
    assert.equal(analyzer.calls[3]?.image, 'b:1');
  });

  it('drops the result of a scan whose image was forgotten while it ran', async () => {
    scanner = makeScanner({ maxTrackedImages: 1, concurrency: 4 });
    scanner.statusOf('shop', plainSpec, 'a:1');
    scanner.statusOf('shop', plainSpec, 'b:1');
    await settle();
    await analyzer.answer(0, success('a:1'));
    assert.deepEqual(results, []);
    assert.equal(scanner.trackedImages, 1);
  });

  it('turns an unreadable pull secret into a failure naming the service account and secrets', async () => {
    scanner = makeScanner({
      credentialsFor: () => Promise.reject(Object.assign(new Error('forbidden'), { code: 403 })),
    });
    const spec = { serviceAccountName: 'builder', imagePullSecrets: [{ name: 'regcred' }] };
    scanner.statusOf('shop', spec, 'private/app:1');
    await settle();
    const status = scanner.statusOf('shop', spec, 'private/app:1');
    assert.equal(status.state, 'Failed');
    assert.equal(status.state === 'Failed' && status.reason, 'PullSecretsUnavailable');
    assert.match(
      status.state === 'Failed' ? status.message : '',
      /service account shop\/builder and pull secret shop\/regcred could not be read: the API server answered 403/,
    );
    assert.equal(analyzer.calls.length, 0);
    assert.deepEqual(results, [['private/app:1', 'shop']]);
  });

  it('adds pull secret problems to an authorization failure', async () => {
    scanner = makeScanner({
      credentialsFor: () =>
        Promise.resolve({
          ...credentials,
          problems: [
            'the pod spec in namespace shop refers to pull secret shop/regcred, which does not exist',
          ],
        }),
    });
    scanner.statusOf('shop', plainSpec, 'private/app:1');
    await settle();
    await analyzer.answer(0, {
      ok: false,
      reference: 'private/app:1',
      reason: 'Unauthorized',
      message: 'registry docker.io answered 401 for private/app',
      retryable: false,
    });
    const status = scanner.statusOf('shop', plainSpec, 'private/app:1');
    assert.equal(
      status.state === 'Failed' && status.message,
      'registry docker.io answered 401 for private/app (the pod spec in namespace shop refers to pull secret shop/regcred, which does not exist)',
    );
  });

  it('turns an analyzer that throws into an InternalError failure', async () => {
    scanner = makeScanner({ analyzer: () => Promise.reject(new Error('boom')) });
    scanner.statusOf('shop', plainSpec, 'a:1');
    await settle();
    const status = scanner.statusOf('shop', plainSpec, 'a:1');
    assert.equal(status.state === 'Failed' && status.reason, 'InternalError');
    assert.match(status.state === 'Failed' ? status.message : '', /boom/);
  });

  it('gives the rule engine facts of analysed images only', async () => {
    const facts = scanner.factsSource('shop', plainSpec);
    assert.equal(lookupImageFacts(facts, 'nginx:1.27'), undefined);
    await settle();
    assert.equal(analyzer.calls.length, 1, 'asking for facts starts the scan');
    await analyzer.answer(0, success('nginx:1.27'));
    assert.equal(lookupImageFacts(facts, 'nginx:1.27')?.digest, DIGEST_A);
  });

  it('on shutdown starts no new scans, waits for running ones, and is idempotent', async () => {
    scanner.statusOf('shop', plainSpec, 'a:1');
    await settle();
    let done = false;
    const first = scanner.shutdown();
    void first.then(() => (done = true));
    assert.equal(scanner.shutdown(), first);
    await settle();
    assert.equal(done, false, 'waits for the scan in flight');
    assert.deepEqual(scanner.statusOf('shop', plainSpec, 'b:1'), { state: 'Pending' });
    await settle();
    assert.equal(analyzer.calls.length, 1, 'no new scan after shutdown');
    await analyzer.answer(0, success('a:1'));
    assert.equal(done, true);
    assert.deepEqual(results, [], 'results after shutdown are not announced');
  });

  it('stops waiting for a stuck scan after the shutdown timeout', async () => {
    scanner = makeScanner({ shutdownTimeoutMs: 1000 });
    scanner.statusOf('shop', plainSpec, 'stuck:1');
    await settle();
    let done = false;
    void scanner.shutdown().then(() => (done = true));
    await clock.advance(999);
    assert.equal(done, false);
    await clock.advance(1);
    assert.equal(done, true);
  });
});

function summaryOf(analysis: ImageAnalysisSuccess) {
  return {
    digest: analysis.digest,
    manifestDigest: analysis.manifestDigest,
    ...(analysis.inventory.os === undefined ? {} : { os: analysis.inventory.os }),
    packages: analysis.inventory.packages.length,
  };
}

describe('reportedAnalysisOf', () => {
  it('describes each state as a SecurityReport image entry shows it', () => {
    assert.deepEqual(reportedAnalysisOf({ state: 'Pending' }), { analysis: 'Pending' });
    const analysis = success('nginx:1.27');
    assert.deepEqual(
      reportedAnalysisOf({
        state: 'Analyzed',
        digest: DIGEST_A,
        facts: analysis.facts,
        summary: summaryOf(analysis),
      }),
      { analysis: 'Analyzed', os: 'debian 12', packages: 3 },
    );
    const long = reportedAnalysisOf({ state: 'Failed', reason: 'Unauthorized', message: 'x'.repeat(2000) });
    assert.equal(long.analysis, 'Failed');
    assert.equal(long.reason, 'Unauthorized');
    assert.equal(long.message?.length, 1024);
  });

  it('gives entries that the SecurityReport schema accepts', () => {
    const analysis = success('nginx:1.27');
    const images = [
      { image: 'a:1', ...reportedAnalysisOf({ state: 'Pending' }) },
      {
        image: 'b:1',
        ...reportedAnalysisOf({
          state: 'Analyzed',
          digest: DIGEST_A,
          facts: analysis.facts,
          summary: summaryOf(analysis),
        }),
      },
      {
        image: 'c:1',
        ...reportedAnalysisOf({ state: 'Failed', reason: 'PullSecretsUnavailable', message: 'm' }),
      },
    ];
    assert.deepEqual(validateAgainstSchema(securityReportStatusSchema, { images }), []);
    assert.notDeepEqual(
      validateAgainstSchema(securityReportStatusSchema, { images: [{ image: 'd:1', analysis: 'Scanning' }] }),
      [],
    );
  });
});

describe('pullCredentialsFromApi', () => {
  it("reads the pod spec's pull secrets and names missing ones without a pod name", async () => {
    const reads: string[] = [];
    const api: SecretReader = {
      readNamespacedServiceAccount: ({ name, namespace }): Promise<V1ServiceAccount> => {
        reads.push(`serviceaccount ${namespace}/${name}`);
        return Promise.resolve({ imagePullSecrets: [] });
      },
      readNamespacedSecret: ({ name, namespace }): Promise<V1Secret> => {
        reads.push(`secret ${namespace}/${name}`);
        return Promise.reject(Object.assign(new Error('not found'), { code: 404 }));
      },
    };
    const found = await pullCredentialsFromApi(api)('shop', {
      serviceAccountName: 'builder',
      imagePullSecrets: [{ name: 'regcred' }],
    });
    assert.deepEqual(reads, ['serviceaccount shop/builder', 'secret shop/regcred']);
    assert.deepEqual(found.problems, [
      'the pod spec in namespace shop refers to pull secret shop/regcred, which does not exist',
    ]);
  });
});
