import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import {
  AnalysisPool,
  MAX_WARNINGS_SENT,
  budgetReasonOf,
  poolSizeFor,
  trimmedAnalysis,
} from '../../../src/image/analysis-pool.js';
import type { ImageAnalysis, ImageAnalysisFailure } from '../../../src/image/image-analyzer.js';
import type { ImageInventory } from '../../../src/sbom/types.js';
import { ImageService } from '../../../src/image/image-service.js';
import {
  DockerConfigCredentialSource,
  dockerConfigSourceFrom,
  dockerConfigsOf,
} from '../../../src/registry/docker-config.js';
import { FakeRegistry, startRegistry, type TestServer } from '../registry/fake-registry.js';
import { ManualClock, settle } from '../runtime/manual-clock.js';
import { DPKG_PACKAGES, baseLayer, storeTarImage } from './images.js';

const fixture = new URL('./analysis-pool-fixture.js', import.meta.url).href;
/** Generous: a stall of the operator's thread by a hostile image would be seconds, not this. */
const MAX_EVENT_LOOP_DELAY_MS = 200;

function failure(result: ImageAnalysis): ImageAnalysisFailure {
  if (result.ok) assert.fail(`expected a failure, got an analysis of ${result.digest}`);
  return result;
}

function newPool(options: { size?: number; heapMiB?: number; timeoutMs?: number } = {}): AnalysisPool {
  return new AnalysisPool({
    settings: { analyzer: {}, analyzerModule: fixture },
    size: options.size ?? 2,
    heapMiB: options.heapMiB ?? 48,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
}

/** Event-loop delay of this thread while `work` runs, in milliseconds. */
async function maxDelayDuring<T>(work: () => Promise<T>): Promise<{ result: T; maxDelayMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  try {
    const result = await work();
    return { result, maxDelayMs: histogram.max / 1e6 };
  } finally {
    histogram.disable();
  }
}

describe('analysis pool', function () {
  this.timeout(30_000);
  let pool: AnalysisPool;
  afterEach(async () => {
    await pool?.shutdown();
  });

  it('analyses in a worker process and brings back counts, not the package list', async () => {
    pool = newPool();
    const result = await pool.analyze('registry.test/app:1');
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.inventory.packages.length, 0);
    assert.deepEqual(result.trimmed, { packages: 5000, layers: 1, warnings: 0 });
    assert.equal(result.inventory.os?.id, 'debian');
  });

  it('passes the pull secrets to the worker as data', async () => {
    pool = newPool();
    const source = new DockerConfigCredentialSource([
      {
        origin: 'pod',
        secretName: 'shop/regcred',
        auths: { 'registry.test': { username: 'puller', password: 'pw' } },
      },
    ]);
    const result = failure(await pool.analyze('registry.test/creds:1', { credentials: source }));
    assert.equal(result.message, 'puller from pull secret shop/regcred');
  });

  it('asks any other credential source in the operator, for the image the job names', async () => {
    pool = newPool();
    const asked: string[] = [];
    const source = {
      credentialsFor(registry: string, repository: string) {
        asked.push(`${registry}/${repository}`);
        return [{ username: 'robot', password: 'pw', source: 'a token file' }];
      },
    };
    const result = failure(await pool.analyze('registry.test/creds:1', { credentials: source }));
    assert.deepEqual(asked, ['registry.test/creds']);
    assert.equal(result.message, 'robot from pull secret a token file');
  });

  it('stops a job that blows its heap with AnalysisMemoryLimit; the event loop and other jobs carry on', async () => {
    pool = newPool({ heapMiB: 32 });
    const { result, maxDelayMs } = await maxDelayDuring(async () => {
      const hostile = pool.analyze('registry.test/allocate:1');
      const ordinary = await pool.analyze('registry.test/app:1');
      assert.ok(
        ordinary.ok,
        `an ordinary image is analysed while the other worker fills its heap: ${JSON.stringify(ordinary)}`,
      );
      return hostile;
    });
    const hostile = failure(result);
    assert.equal(hostile.reason, 'AnalysisMemoryLimit', hostile.message);
    assert.equal(hostile.retryable, false);
    assert.match(hostile.message, /32 MiB/);
    assert.ok(maxDelayMs < MAX_EVENT_LOOP_DELAY_MS, `event loop delay ${maxDelayMs} ms`);
    assert.equal(pool.workersReplaced, 1);
    assert.ok((await pool.analyze('registry.test/app:2')).ok, 'the replaced worker takes jobs');
  });

  it('stops a job that spins with AnalysisTimeout; the event loop and other jobs carry on', async () => {
    pool = newPool({ timeoutMs: 2_000 });
    const started = Date.now();
    const { result, maxDelayMs } = await maxDelayDuring(async () => {
      const hostile = pool.analyze('registry.test/spin:1');
      const ordinary = await pool.analyze('registry.test/app:1');
      assert.ok(
        ordinary.ok,
        `an ordinary image is analysed while the other worker spins: ${JSON.stringify(ordinary)}`,
      );
      return hostile;
    });
    const hostile = failure(result);
    assert.equal(hostile.reason, 'AnalysisTimeout', hostile.message);
    assert.equal(hostile.retryable, false);
    assert.match(hostile.message, /budget of 2 s/);
    assert.ok(Date.now() - started < 5_000, 'stopped at its budget, not later');
    assert.ok(maxDelayMs < MAX_EVENT_LOOP_DELAY_MS, `event loop delay ${maxDelayMs} ms`);
    assert.ok((await pool.analyze('registry.test/app:2')).ok, 'the replaced worker takes jobs');
  });

  it('names a walk limit that fired as AnalysisTooLarge, keeping the limit', async () => {
    pool = newPool();
    const result = failure(await pool.analyze('registry.test/limit:1'));
    assert.equal(result.reason, 'AnalysisTooLarge');
    assert.deepEqual(result.limit, { name: 'layers', value: 128 });
    assert.match(result.message, /more than the limit of 128/);
  });

  it('reports a worker that dies without an answer as AnalysisCrashed and replaces it', async () => {
    pool = newPool({ size: 1 });
    const crashed = failure(await pool.analyze('registry.test/crash:1'));
    assert.equal(crashed.reason, 'AnalysisCrashed');
    assert.match(crashed.message, /exit code 3/);
    assert.ok((await pool.analyze('registry.test/app:1')).ok);
    assert.equal(pool.workersReplaced, 1);
  });

  it('runs at most `size` jobs at once and queues the rest in order', async () => {
    pool = newPool({ size: 1 });
    const finished: string[] = [];
    const jobs = ['slow', 'app'].map((name) =>
      pool.analyze(`registry.test/${name}:1`).then((r) => finished.push(`${name}:${String(r.ok)}`)),
    );
    await settle();
    assert.equal(pool.queued, 1);
    await Promise.all(jobs);
    assert.deepEqual(finished, ['slow:true', 'app:true']);
  });

  it('starts at most one worker process per event-loop turn (fork blocks the loop)', async () => {
    pool = newPool({ size: 3 });
    const jobs = ['slow', 'slow', 'slow'].map((name) => pool.analyze(`registry.test/${name}:1`));
    const counts = [pool.processes];
    for (let turn = 0; turn < 10; turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      counts.push(pool.processes);
    }
    assert.equal(counts.at(-1), 3, `processes per turn: ${counts.join(' ')}`);
    for (let i = 1; i < counts.length; i++) {
      assert.ok(counts[i]! - counts[i - 1]! <= 1, `processes per turn: ${counts.join(' ')}`);
    }
    await Promise.all(jobs);
  });

  it('forks every worker at prestart, so jobs afterwards fork none', async () => {
    pool = newPool({ size: 2 });
    await pool.prestart();
    assert.equal(pool.processes, 2);
    assert.equal(pool.workersStarted, 2);
    const results = await Promise.all(
      ['app', 'slow', 'app'].map((n) => pool.analyze(`registry.test/${n}:1`)),
    );
    assert.deepEqual(
      results.map((r) => r.ok),
      [true, true, true],
    );
    assert.equal(pool.workersStarted, 2);
  });

  it('fails queued jobs on shutdown instead of leaving them waiting', async () => {
    pool = newPool({ size: 1 });
    const running = pool.analyze('registry.test/slow:1');
    const queued = pool.analyze('registry.test/app:1');
    await settle();
    await pool.shutdown();
    assert.equal(failure(await queued).reason, 'InternalError');
    assert.equal(failure(await running).reason, 'InternalError');
    assert.equal(failure(await pool.analyze('registry.test/app:2')).reason, 'InternalError');
  });

  it('lets the image service retry a budget failure only after its failure TTL', async () => {
    pool = newPool({ timeoutMs: 300 });
    const clock = new ManualClock();
    let scans = 0;
    const service = new ImageService({
      analyzer: (ref, options) => {
        scans++;
        return pool.analyze(ref, options);
      },
      credentialsFor: async () => ({
        source: new DockerConfigCredentialSource([]),
        secrets: [],
        problems: [],
      }),
      clock,
      failureTtlMs: 5 * 60_000,
    });
    const podSpec = {};
    assert.equal(service.statusOf('shop', podSpec, 'registry.test/spin:1').state, 'Pending');
    const status = await waitFor(() => {
      const s = service.statusOf('shop', podSpec, 'registry.test/spin:1');
      return s.state === 'Failed' ? s : undefined;
    });
    assert.equal(status.reason, 'AnalysisTimeout');
    for (let i = 0; i < 20; i++) service.statusOf('shop', podSpec, 'registry.test/spin:1');
    await clock.advance(4 * 60_000);
    service.statusOf('shop', podSpec, 'registry.test/spin:1');
    assert.equal(scans, 1, 'no new scan before the failure TTL');
    await clock.advance(60_000);
    service.statusOf('shop', podSpec, 'registry.test/spin:1');
    await waitFor(() => (scans === 2 ? true : undefined));
    await service.shutdown();
  });
});

describe('analysis pool with the real analyzer', function () {
  this.timeout(30_000);
  let registry: FakeRegistry;
  let server: TestServer;
  let pool: AnalysisPool;
  const realPool = (layerTimeoutMs = 10_000): AnalysisPool =>
    new AnalysisPool({
      settings: { analyzer: { allow: ['127.0.0.1:*'], plainHttp: [server.host] } },
      size: 1,
      layerTimeoutMs,
    });

  beforeEach(async () => {
    registry = new FakeRegistry({ auth: { scheme: 'basic', username: 'puller', password: 'pw' } });
    server = await startRegistry(registry);
  });
  afterEach(async () => {
    await pool?.shutdown();
    await server.close();
  });

  it('pulls with the pod secret in the worker and reports the inventory counts', async () => {
    storeTarImage(registry, 'team/app', 'v1', [baseLayer()]);
    pool = realPool();
    const credentials = new DockerConfigCredentialSource([
      {
        origin: 'pod',
        secretName: 'shop/regcred',
        auths: { [server.host]: { username: 'puller', password: 'pw' } },
      },
    ]);
    const result = await pool.analyze(`${server.host}/team/app:v1`, { credentials });
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.trimmed?.packages, DPKG_PACKAGES);
    assert.equal(result.inventory.os?.id, 'debian');
    const anonymous = failure(await pool.analyze(`${server.host}/team/app:v1`));
    assert.equal(anonymous.reason, 'Unauthorized', 'without the secret the same worker is refused');
  });

  it('stops a layer that streams past its own budget, naming the layer', async () => {
    const image = storeTarImage(registry, 'team/slow', 'v1', [baseLayer()]);
    const layer = image.layers[0]!.digest;
    registry.override = (req, res) => {
      if (!req.url?.endsWith(`/blobs/${layer}`)) return false;
      // Headers, a first byte, then nothing: a registry that keeps the layer coming forever.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(1, 0x1f));
      return true;
    };
    pool = realPool(500);
    const credentials = new DockerConfigCredentialSource([
      {
        origin: 'pod',
        secretName: 'shop/regcred',
        auths: { [server.host]: { username: 'puller', password: 'pw' } },
      },
    ]);
    const result = failure(await pool.analyze(`${server.host}/team/slow:v1`, { credentials }));
    assert.equal(result.reason, 'AnalysisTimeout', result.message);
    assert.ok(result.message.includes(layer), result.message);
  });
});

describe('analysis results across the thread boundary', () => {
  it('sends the first warnings of a success across, cut short, and counts them all', () => {
    const inventory: ImageInventory = {
      kind: 'ImageInventory',
      packages: [],
      facts: {} as ImageInventory['facts'],
      layers: [],
      analyzerVersion: 'v',
      warnings: Array.from({ length: 10 }, (_, i) => `go-binary: /bin/t${i}: ${'x'.repeat(1000)}`),
    };
    const success = { ok: true, inventory } as unknown as ImageAnalysis;
    const trimmed = trimmedAnalysis(success);
    assert.ok(trimmed.ok);
    assert.equal(trimmed.trimmed?.warnings, 10);
    assert.equal(trimmed.inventory.warnings.length, MAX_WARNINGS_SENT);
    assert.ok(trimmed.inventory.warnings[0]!.startsWith('go-binary: /bin/t0: '));
    assert.ok(trimmed.inventory.warnings.every((w) => w.length <= 300));
  });

  it('keeps failures as they are and empties the lists of a success', () => {
    const fail: ImageAnalysis = {
      ok: false,
      reference: 'x',
      reason: 'NotFound',
      message: 'm',
      retryable: false,
    };
    assert.equal(trimmedAnalysis(fail), fail);
    assert.equal(budgetReasonOf(fail), fail);
  });

  it('maps only LimitExceeded to AnalysisTooLarge', () => {
    const limit: ImageAnalysis = {
      ok: false,
      reference: 'x',
      reason: 'LimitExceeded',
      message: 'm',
      retryable: false,
    };
    assert.equal(failure(budgetReasonOf(limit)).reason, 'AnalysisTooLarge');
    const corrupt: ImageAnalysis = { ...limit, reason: 'CorruptLayer' };
    assert.equal(failure(budgetReasonOf(corrupt)).reason, 'CorruptLayer');
  });
});

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('pull secrets as plain data', () => {
  const source = new DockerConfigCredentialSource([
    { origin: 'pod', secretName: 'shop/a', auths: { 'registry.test': { username: 'u1', password: 'p1' } } },
    {
      origin: 'operator',
      secretName: 'ops/b',
      auths: { 'registry.test': { username: 'u2', password: 'p2' } },
    },
  ]);

  it('round-trips through a structured clone with the same answers, in the same order', () => {
    const copy = dockerConfigSourceFrom(structuredClone(dockerConfigsOf(source)));
    assert.deepEqual(
      copy.credentialsFor('registry.test', 'team/app'),
      source.credentialsFor('registry.test', 'team/app'),
    );
    assert.deepEqual(
      copy.credentialsFor('registry.test', 'team/app').map((c) => c.username),
      ['u1', 'u2'],
    );
  });

  it('drops what is not a docker config instead of trusting the shape', () => {
    const copy = dockerConfigSourceFrom([
      null,
      {
        origin: 'elsewhere',
        secretName: 'x/y',
        auths: { 'registry.test': { username: 'u', password: 'p' } },
      },
      {
        origin: 'pod',
        secretName: 'x/z',
        auths: {
          'registry.test': { username: 1, password: 'p' },
          'ok.test': { username: 'v', password: 'q' },
        },
      },
    ]);
    assert.deepEqual(copy.credentialsFor('registry.test', 'a'), []);
    assert.deepEqual(
      copy.credentialsFor('ok.test', 'a').map((c) => c.username),
      ['v'],
    );
    assert.deepEqual(dockerConfigSourceFrom('not a list').credentialsFor('registry.test', 'a'), []);
  });
});

describe('analysis pool size', () => {
  const GiB = 1024 * 1024 * 1024;
  it('runs one worker per core when the memory holds them', () => {
    assert.equal(
      poolSizeFor({ cores: 4, memoryBytes: 16 * GiB, operatorHeapBytes: GiB / 2, heapMiB: 256 }),
      4,
    );
  });

  it('runs fewer workers than cores when the memory limit says so', () => {
    // 2 GiB - 0.5 GiB operator heap - 128 MiB operator overhead left, 448 MiB a worker: 3, not 32.
    assert.equal(
      poolSizeFor({ cores: 32, memoryBytes: 2 * GiB, operatorHeapBytes: GiB / 2, heapMiB: 256 }),
      3,
    );
  });

  it('always runs at least one', () => {
    assert.equal(
      poolSizeFor({ cores: 8, memoryBytes: GiB / 2, operatorHeapBytes: GiB / 2, heapMiB: 256 }),
      1,
    );
  });
});
