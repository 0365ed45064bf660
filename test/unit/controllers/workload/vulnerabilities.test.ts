// The workload reconciler's part in vulnerability reporting: per-image counts in the
// SecurityReport, OpenVEX statements read from the ConfigMap a policy names (in the policy's
// namespace) and applied, a VEX document that cannot be used suppressing nothing with a Warning
// that says why, and an ignore that expired making its vulnerability count again with an
// ExceptionExpired Event.
import assert from 'node:assert/strict';
import type { V1PodSpec } from '@kubernetes/client-node';
import type { SecurityPolicySpec } from '../../../../src/api/policy-types.js';
import { ComplianceIndex } from '../../../../src/controllers/compliance-index.js';
import { ReportWriter } from '../../../../src/controllers/workload/io.js';
import {
  WorkloadReconciler,
  type ImageFactsProvider,
} from '../../../../src/controllers/workload/reconciler.js';
import { vexFromTrustMaterial } from '../../../../src/controllers/workload/vex.js';
import type { ImageStatus } from '../../../../src/image/image-service.js';
import { createMetrics } from '../../../../src/metrics/registry.js';
import type { ImageFacts } from '../../../../src/policy/image-facts.js';
import type { EventSpec } from '../../../../src/runtime/event-recorder.js';
import type { TrustMaterialRef } from '../../../../src/signature/types.js';
import {
  deployment,
  FakeReportApi,
  FakeStore,
  goodPodSecurity,
  hardenedContainer,
  NAMESPACE,
  securityPolicy,
} from '../fake-store.js';

const IMAGE = 'ghcr.io/example/web:1.4.2';
const DIGEST = `sha256:${'f'.repeat(64)}`;
const START = Date.parse('2026-06-01T10:00:00.000Z');

const facts: ImageFacts = {
  digest: DIGEST,
  vulnerabilities: { Critical: 1, High: 1, Medium: 0, Low: 0, Info: 0, fixable: 2 },
  vulnerabilityFindings: [
    {
      id: 'CVE-2026-0001',
      aliases: [],
      severity: { level: 'CRITICAL' },
      package: { name: 'openssl', purl: 'pkg:deb/debian/libssl3@3.0.1-1' },
      installedVersion: '3.0.1-1',
      fixedVersions: ['3.0.2-1'],
    },
    {
      id: 'CVE-2026-0002',
      aliases: [],
      severity: { level: 'HIGH' },
      package: { name: 'zlib', purl: 'pkg:deb/debian/zlib1g@1.2-1' },
      installedVersion: '1.2-1',
      fixedVersions: ['1.3-1'],
    },
  ],
};

let currentFacts: ImageFacts = facts;
const images: ImageFactsProvider = {
  statusOf: (): ImageStatus => ({
    state: 'Analyzed',
    digest: DIGEST,
    facts: currentFacts,
    summary: { digest: DIGEST, manifestDigest: DIGEST, packages: 10 },
  }),
  factsSource: () => (image) => (image === IMAGE ? currentFacts : undefined),
};

const VEX = JSON.stringify({
  '@context': 'https://openvex.dev/ns/v0.2.0',
  statements: [
    {
      vulnerability: { name: 'CVE-2026-0001' },
      products: [{ '@id': DIGEST }],
      status: 'not_affected',
      justification: 'inline_mitigations_already_exist',
    },
  ],
});

describe('WorkloadReconciler vulnerabilities', () => {
  let store: FakeStore;
  let api: FakeReportApi;
  let events: EventSpec[];
  let reads: TrustMaterialRef[];
  let configMaps: Map<string, string>;
  let time: number;
  let reconciler: WorkloadReconciler;

  beforeEach(() => {
    store = new FakeStore();
    api = new FakeReportApi();
    const metrics = createMetrics({ defaultMetrics: false });
    events = [];
    reads = [];
    configMaps = new Map();
    time = START;
    currentFacts = facts;
    reconciler = new WorkloadReconciler({
      store,
      writer: new ReportWriter(api),
      index: new ComplianceIndex({ violations: metrics.violations, workloads: metrics.workloads }),
      recordEvent: (event) => events.push(event),
      policiesTouched: () => undefined,
      images,
      vex: vexFromTrustMaterial({
        read: (ref) => {
          reads.push(ref);
          return Promise.resolve(configMaps.get(`${ref.namespace}/${ref.name}/${ref.key}`));
        },
      }),
      isExcludedNamespace: () => false,
      clock: { now: () => time },
    });
  });

  const spec: V1PodSpec = { securityContext: goodPodSecurity, containers: [hardenedContainer('web', IMAGE)] };
  const run = async (policySpec: SecurityPolicySpec) => {
    store.put(securityPolicy('vulns', policySpec), deployment('web', spec));
    await reconciler.reconcile('Deployment/shop/web');
    return api.get(NAMESPACE, 'deployment-web');
  };
  const vulnFindings = (report: Awaited<ReturnType<typeof run>>) =>
    (report?.status?.findings ?? [])
      .filter((f) => f.ruleId.startsWith('vulnerabilities.'))
      .map((f) => `${f.ruleId} ${f.subject}`)
      .sort();

  it('shows the image vulnerability counts and one finding per vulnerability', async () => {
    const report = await run({});
    assert.deepEqual(report?.status?.images?.[0]?.vulnerabilities, {
      critical: 1,
      high: 1,
      medium: 0,
      low: 0,
      info: 0,
    });
    assert.deepEqual(vulnFindings(report), [
      'vulnerabilities.critical CVE-2026-0001',
      'vulnerabilities.high CVE-2026-0002',
    ]);
    assert.equal(report?.status?.compliant, false);
    assert.equal(report?.status?.summary?.critical, 1);
  });

  it("applies the OpenVEX statements of the ConfigMap the policy names, in the policy's namespace", async () => {
    configMaps.set(`${NAMESPACE}/vex/openvex.json`, VEX);
    const report = await run({
      vulnerabilities: { vex: { configMapRef: { name: 'vex', key: 'openvex.json' } } },
    });
    assert.deepEqual(reads, [{ kind: 'ConfigMap', namespace: NAMESPACE, name: 'vex', key: 'openvex.json' }]);
    assert.deepEqual(vulnFindings(report), [
      'vulnerabilities.high CVE-2026-0002',
      'vulnerabilities.suppressed CVE-2026-0001',
    ]);
    const suppressed = report?.status?.findings?.find((f) => f.ruleId === 'vulnerabilities.suppressed');
    assert.match(suppressed?.message ?? '', /VEX not_affected \(inline_mitigations_already_exist\)/);
  });

  it('suppresses nothing with a missing or broken VEX document, and says why', async () => {
    configMaps.set(`${NAMESPACE}/vex/openvex.json`, '{ broken');
    const report = await run({
      vulnerabilities: { vex: { configMapRef: { name: 'vex', key: 'openvex.json' } } },
    });
    assert.deepEqual(vulnFindings(report), [
      'vulnerabilities.critical CVE-2026-0001',
      'vulnerabilities.high CVE-2026-0002',
    ]);
    const warning = events.find((e) => e.reason === 'VexUnreadable');
    assert.equal(warning?.type, 'Warning');
    assert.match(warning?.note ?? '', /ConfigMap shop\/vex key openvex\.json is not JSON/);
  });

  it('counts an ignored vulnerability again once the ignore expired, and an Event says so', async () => {
    const policySpec: SecurityPolicySpec = {
      vulnerabilities: {
        ignore: [{ id: 'CVE-2026-0001', reason: 'mitigated by WAF', expires: '2026-06-02T00:00:00Z' }],
      },
    };
    const before = await run(policySpec);
    assert.deepEqual(vulnFindings(before), [
      'vulnerabilities.high CVE-2026-0002',
      'vulnerabilities.suppressed CVE-2026-0001',
    ]);
    api.syncReports(store);
    events.length = 0;
    time = Date.parse('2026-06-03T00:00:00Z');
    await reconciler.reconcile('Deployment/shop/web');
    const after = api.get(NAMESPACE, 'deployment-web');
    assert.deepEqual(vulnFindings(after), [
      'vulnerabilities.critical CVE-2026-0001',
      'vulnerabilities.high CVE-2026-0002',
    ]);
    const expired = events.filter((e) => e.reason === 'ExceptionExpired');
    assert.equal(expired.length, 1);
    assert.match(
      expired[0]?.note ?? '',
      /spec\.vulnerabilities\.ignore CVE-2026-0001 \(expired 2026-06-02T00:00:00Z\) no longer applies/,
    );
    const violation = events.find((e) => e.reason === 'PolicyViolation');
    assert.match(violation?.note ?? '', /vulnerabilities\.critical CVE-2026-0001 \(Critical\) in web/);
  });

  it('says the findings are complete, or that they are not known and why, never silently "none"', async () => {
    const known = await run({});
    const condition = (r: typeof known) =>
      r?.status?.conditions?.find((c) => c.type === 'VulnerabilitiesMatched');
    assert.equal(condition(known)?.status, 'True');
    currentFacts = { digest: DIGEST, vulnerabilitiesUnknown: 'no vulnerability database has loaded yet' };
    api.syncReports(store);
    await reconciler.reconcile('Deployment/shop/web');
    const unknown = api.get(NAMESPACE, 'deployment-web');
    assert.equal(condition(unknown)?.status, 'Unknown');
    assert.equal(condition(unknown)?.reason, 'VulnerabilitiesUnknown');
    assert.match(
      condition(unknown)?.message ?? '',
      /ghcr\.io\/example\/web:1\.4\.2: no vulnerability database has loaded yet/,
    );
    assert.equal(unknown?.status?.images?.[0]?.vulnerabilities, undefined);
  });
});
