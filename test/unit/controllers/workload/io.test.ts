import assert from 'node:assert/strict';
import type { KubeConfig, V1PodSpec } from '@kubernetes/client-node';
import type { SecurityReport } from '../../../../src/api/report-types.js';
import type { ReportWriteResult } from '../../../../src/metrics/registry.js';
import { podTemplateOf } from '../../../../src/policy/workload.js';
import { evaluateWorkload } from '../../../../src/policy/evaluate.js';
import {
  customObjectsReportClient,
  ReportWriter,
  type ReportClient,
} from '../../../../src/controllers/workload/io.js';
import { statusOf } from '../../../../src/runtime/status-writer.js';
import { buildSecurityReport, WORKLOAD_KIND_LABEL } from '../../../../src/report/security-report.js';
import {
  deployment,
  FakeReportApi,
  goodPodSecurity,
  hardenedContainer,
  rootContainer,
  securityPolicy,
} from '../fake-store.js';

const T0 = new Date('2025-03-01T10:00:00.000Z');
const T1 = new Date('2025-03-01T11:00:00.000Z');
const policy = securityPolicy('default');

// Compile-time proof that the production client is a ReportClient.
const _productionClientFits: (kc: KubeConfig) => ReportClient = customObjectsReportClient;
void _productionClientFits;

function desiredFor(
  spec: V1PodSpec,
  existing?: SecurityReport,
  now = T0,
  uid = 'uid-deployment-web',
): SecurityReport {
  const workload = deployment('web', spec);
  workload.metadata = { ...workload.metadata, uid };
  const template = podTemplateOf(workload);
  assert.ok(template);
  return buildSecurityReport({
    name: 'deployment-web',
    workload,
    template,
    pods: [],
    findings: evaluateWorkload(workload, [policy], undefined, { now }),
    policies: ['shop/default'],
    existing,
    now,
  });
}

const rootSpec: V1PodSpec = { containers: [rootContainer('web', 'nginx:latest')] };
const hardenedSpec: V1PodSpec = { securityContext: goodPodSecurity, containers: [hardenedContainer('web')] };

describe('ReportWriter', () => {
  let api: FakeReportApi;
  let results: ReportWriteResult[];
  let writer: ReportWriter;

  beforeEach(() => {
    api = new FakeReportApi();
    results = [];
    writer = new ReportWriter(api, (result) => results.push(result));
  });

  /** Writes a first report and forgets the calls it took. */
  async function seeded(spec = rootSpec): Promise<SecurityReport> {
    const { stored } = await writer.write(desiredFor(spec), undefined);
    api.calls.length = 0;
    results.length = 0;
    return stored;
  }

  it('creates a new report, then writes its status through the status subresource', async () => {
    const desired = desiredFor(rootSpec);
    const { result, stored } = await writer.write(desired, undefined);
    assert.equal(result, 'created');
    assert.deepEqual(
      api.calls.map((c) => c.call),
      ['create', 'replaceStatus'],
    );
    // The API server drops status on create; only the second call puts the findings there.
    assert.deepEqual(api.get('shop', 'deployment-web')?.status, desired.status);
    assert.deepEqual(stored, api.get('shop', 'deployment-web'));
    assert.deepEqual(results, ['created']);
  });

  it('refuses for good, without calling the API server, a report its own schema refuses', async () => {
    const desired = desiredFor(rootSpec);
    const broken: SecurityReport = {
      ...desired,
      status: { ...desired.status, images: [{ image: 'x', digest: `sha256:${'a'.repeat(200)}` }] },
    };
    await assert.rejects(writer.write(broken, undefined), (error: Error) => {
      assert.equal(error.name, 'TerminalError');
      assert.match(error.message, /status\.images\[0\]\.digest/);
      return true;
    });
    assert.deepEqual(api.calls, []);
    assert.deepEqual(results, ['error']);
  });

  it('accepts an image pinned by a sha512 digest', async () => {
    const desired = desiredFor(rootSpec);
    const pinned: SecurityReport = {
      ...desired,
      status: { ...desired.status, images: [{ image: 'x', digest: `sha512:${'a'.repeat(128)}` }] },
    };
    assert.equal((await writer.write(pinned, undefined)).result, 'created');
  });

  it('writes nothing when the stored report already says what the desired one says', async () => {
    const stored = await seeded();
    const { result, stored: returned } = await writer.write(desiredFor(rootSpec, stored, T1), stored);
    assert.equal(result, 'unchanged');
    assert.deepEqual(api.calls, []);
    assert.equal(returned, stored);
    assert.deepEqual(results, ['unchanged']);
  });

  it('replaces only the status when only the findings changed', async () => {
    const stored = await seeded();
    const fixed: V1PodSpec = {
      containers: [{ ...rootContainer('web', 'nginx:latest'), securityContext: { runAsNonRoot: true } }],
    };
    const desired = desiredFor(fixed, stored, T1);
    const { result, stored: after } = await writer.write(desired, stored);
    assert.equal(result, 'updated');
    assert.deepEqual(
      api.calls.map((c) => c.call),
      ['replaceStatus'],
    );
    assert.deepEqual(after.status, desired.status);
    assert.notEqual(after.metadata.resourceVersion, stored.metadata.resourceVersion);
    assert.deepEqual(results, ['updated']);
  });

  it('replaces spec and labels (keeping the stored resourceVersion and status), then the status when it differs too', async () => {
    const stored = await seeded();
    const desired = desiredFor(hardenedSpec, stored, T1);
    const { result, stored: after } = await writer.write(desired, stored);
    assert.equal(result, 'updated');
    assert.deepEqual(
      api.calls.map((c) => c.call),
      ['replace', 'replaceStatus'],
    );
    assert.deepEqual(after.spec, desired.spec);
    assert.deepEqual(after.status, desired.status);
    assert.equal(after.metadata.uid, stored.metadata.uid, 'the same object, replaced in place');
  });

  it('replaces only metadata and spec when the status is already right', async () => {
    const stored = await seeded();
    const desired = desiredFor(rootSpec, stored, T1);
    // Someone edited our label; the findings are the same.
    const edited = structuredClone(stored);
    edited.metadata.labels = { ...edited.metadata.labels, [WORKLOAD_KIND_LABEL]: 'edited' };
    api.stored.set('shop/deployment-web', structuredClone(edited));
    const { result, stored: after } = await writer.write(desired, edited);
    assert.equal(result, 'updated');
    assert.deepEqual(
      api.calls.map((c) => c.call),
      ['replace'],
    );
    assert.equal(after.metadata.labels?.[WORKLOAD_KIND_LABEL], 'Deployment');
  });

  it('points the owner reference at a recreated workload', async () => {
    const stored = await seeded();
    const desired = desiredFor(rootSpec, stored, T1, 'uid-deployment-web-2');
    await writer.write(desired, stored);
    assert.equal(
      api.get('shop', 'deployment-web')?.metadata.ownerReferences?.[0]?.uid,
      'uid-deployment-web-2',
    );
    assert.equal(api.get('shop', 'deployment-web')?.spec.subject.uid, 'uid-deployment-web-2');
  });

  it('counts a 409 as a conflict and rethrows it for a retry with backoff', async () => {
    const stored = await seeded();
    const stale = { ...stored, metadata: { ...stored.metadata, resourceVersion: '1' } };
    const desired = desiredFor(hardenedSpec, stale, T1);
    await assert.rejects(writer.write(desired, stale), (error) => statusOf(error) === 409);
    assert.deepEqual(results, ['conflict']);
  });

  it('counts a create that finds the report already there as a conflict', async () => {
    await seeded();
    await assert.rejects(writer.write(desiredFor(rootSpec), undefined), (error) => statusOf(error) === 409);
    assert.deepEqual(results, ['conflict']);
  });

  it('counts any other failure as an error and rethrows it', async () => {
    api.failNextWith = 500;
    await assert.rejects(writer.write(desiredFor(rootSpec), undefined), (error) => statusOf(error) === 500);
    assert.deepEqual(results, ['error']);

    results.length = 0;
    const broken: ReportClient = {
      create: () => Promise.reject(new Error('socket hang up')),
      replace: () => Promise.reject(new Error('socket hang up')),
      replaceStatus: () => Promise.reject(new Error('socket hang up')),
    };
    await assert.rejects(
      new ReportWriter(broken, (r) => results.push(r)).write(desiredFor(rootSpec), undefined),
      /socket hang up/,
    );
    assert.deepEqual(results, ['error']);
  });
});

describe('statusOf', () => {
  it('reads the HTTP status of an API error and nothing else', () => {
    assert.equal(statusOf(Object.assign(new Error('x'), { code: 409 })), 409);
    assert.equal(statusOf(Object.assign(new Error('x'), { code: 'ECONNRESET' })), undefined);
    assert.equal(statusOf(undefined), undefined);
  });
});
