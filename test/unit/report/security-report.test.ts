import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import type { AnySecurityPolicy } from '../../../src/api/policy-types.js';
import {
  MAX_REPORT_FINDINGS,
  securityReportSpecSchema,
  securityReportStatusSchema,
} from '../../../src/api/report-schema.js';
import type { SecurityReport } from '../../../src/api/report-types.js';
import { severityRank } from '../../../src/api/severity.js';
import { validateAgainstSchema } from '../../../src/api/validate.js';
import { evaluateWorkload } from '../../../src/policy/evaluate.js';
import type { Finding } from '../../../src/policy/finding.js';
import { podTemplateOf, type WorkloadObject } from '../../../src/policy/workload.js';
import {
  buildSecurityReport,
  digestOf,
  MANAGED_BY_LABEL,
  sameReport,
  sameSpec,
  sameStatus,
  WORKLOAD_KIND_LABEL,
  WORKLOAD_NAME_LABEL,
  type ReportInput,
} from '../../../src/report/security-report.js';
import {
  deployment,
  goodPodSecurity,
  hardenedContainer,
  pod,
  rootContainer,
  securityPolicy,
} from '../controllers/fake-store.js';

const T0 = new Date('2025-03-01T10:00:00.000Z');
const T1 = new Date('2025-03-01T11:00:00.000Z');
const T2 = new Date('2025-03-01T12:00:00.000Z');

const NGINX_DIGEST = `sha256:${'a'.repeat(64)}`;
const INIT_DIGEST = `sha256:${'b'.repeat(64)}`;
const PINNED_DIGEST = `sha256:${'c'.repeat(64)}`;

const defaultPolicy = securityPolicy('default');

function findingsOf(workload: WorkloadObject, policies: AnySecurityPolicy[] = [defaultPolicy]): Finding[] {
  return evaluateWorkload(workload, policies, undefined, { now: T0 });
}

/** The report the reconciler would build for `workload` under `policies` at `now`. */
function reportFor(
  workload: WorkloadObject,
  options: {
    now?: Date;
    existing?: SecurityReport;
    pods?: V1Pod[];
    policies?: AnySecurityPolicy[];
  } = {},
): SecurityReport {
  const policies = options.policies ?? [defaultPolicy];
  const template = podTemplateOf(workload);
  assert.ok(template, 'the workload has a pod template');
  const input: ReportInput = {
    name: `${workload.kind?.toLowerCase()}-${workload.metadata?.name}`,
    workload,
    template,
    pods: options.pods ?? [],
    findings: findingsOf(workload, policies),
    policies: policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
    existing: options.existing,
    now: options.now ?? T0,
  };
  return buildSecurityReport(input);
}

/** What a later GET returns: same content, other key order, server metadata added. */
function asStored(report: SecurityReport): SecurityReport {
  const reordered = reverseKeys(structuredClone(report)) as SecurityReport;
  reordered.metadata = { ...reordered.metadata, resourceVersion: '4711', uid: 'uid-report', generation: 1 };
  return reordered;
}

function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    );
  return value;
}

const rootWeb = () => deployment('web', { containers: [rootContainer('web', 'nginx:latest')] });
const hardenedWeb = () =>
  deployment('web', { securityContext: goodPodSecurity, containers: [hardenedContainer('web')] });

describe('buildSecurityReport', () => {
  it('names the workload as subject and as owner, so Kubernetes deletes the report with the workload', () => {
    const report = reportFor(rootWeb());
    assert.equal(report.apiVersion, 'shipshape.dev/v1alpha1');
    assert.equal(report.kind, 'SecurityReport');
    assert.equal(report.metadata.name, 'deployment-web');
    assert.equal(report.metadata.namespace, 'shop');
    assert.deepEqual(report.metadata.labels, {
      [MANAGED_BY_LABEL]: 'shipshape',
      [WORKLOAD_KIND_LABEL]: 'Deployment',
      [WORKLOAD_NAME_LABEL]: 'web',
    });
    assert.deepEqual(report.metadata.ownerReferences, [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'web',
        uid: 'uid-deployment-web',
        // Not the controller (the Deployment controller owns its ReplicaSets, not our reports),
        // and not blocking the workload's deletion.
        controller: false,
        blockOwnerDeletion: false,
      },
    ]);
    assert.deepEqual(report.spec.subject, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'web',
      uid: 'uid-deployment-web',
    });
  });

  it('reports the digest each container runs, taken from the imageID of its running pods', () => {
    const spec = {
      initContainers: [rootContainer('migrate', 'ghcr.io/example/migrate:2')],
      containers: [
        rootContainer('web', 'nginx:latest'),
        rootContainer('pinned', `ghcr.io/example/tool@${PINNED_DIGEST}`),
        rootContainer('waiting', 'ghcr.io/example/sidecar:1'),
        rootContainer('web-copy', 'nginx:latest'),
      ],
    };
    const workload = deployment('web', spec);
    const running = pod('web-5d8f7c-x2x9z', spec, workload, {
      web: `docker-pullable://nginx@${NGINX_DIGEST}`,
      'web-copy': `docker.io/library/nginx@${NGINX_DIGEST}`,
    });
    running.status = {
      ...running.status,
      initContainerStatuses: [
        {
          name: 'migrate',
          image: 'ghcr.io/example/migrate:2',
          imageID: INIT_DIGEST,
          ready: false,
          restartCount: 0,
        },
      ],
    };
    const report = reportFor(workload, { pods: [running] });
    assert.deepEqual(report.spec.containers, [
      { name: 'migrate', kind: 'initContainer', image: 'ghcr.io/example/migrate:2', digest: INIT_DIGEST },
      { name: 'web', kind: 'container', image: 'nginx:latest', digest: NGINX_DIGEST },
      // Pinned by digest in the spec: known before any pod runs.
      {
        name: 'pinned',
        kind: 'container',
        image: `ghcr.io/example/tool@${PINNED_DIGEST}`,
        digest: PINNED_DIGEST,
      },
      // Not running yet: no digest is claimed.
      { name: 'waiting', kind: 'container', image: 'ghcr.io/example/sidecar:1' },
      { name: 'web-copy', kind: 'container', image: 'nginx:latest', digest: NGINX_DIGEST },
    ]);
    assert.deepEqual(report.status?.images, [
      { image: 'ghcr.io/example/migrate:2', digest: INIT_DIGEST },
      { image: 'nginx:latest', digest: NGINX_DIGEST },
      { image: `ghcr.io/example/tool@${PINNED_DIGEST}`, digest: PINNED_DIGEST },
      { image: 'ghcr.io/example/sidecar:1' },
    ]);
  });

  it('counts every finding by severity and is not compliant while one is a violation', () => {
    const workload = rootWeb();
    const findings = findingsOf(workload);
    const count = (severity: Finding['severity']) => findings.filter((f) => f.severity === severity).length;
    assert.ok(count('High') > 0 && count('Medium') > 0 && count('Low') > 0, 'the root nginx breaks rules');

    const status = reportFor(workload).status;
    assert.deepEqual(status?.summary, {
      critical: count('Critical'),
      high: count('High'),
      medium: count('Medium'),
      low: count('Low'),
      info: count('Info'),
      total: findings.length,
    });
    assert.equal(status?.compliant, false);
    assert.deepEqual(status?.policies, ['shop/default']);
    assert.deepEqual(status?.conditions, [
      {
        type: 'Compliant',
        status: 'False',
        reason: 'ViolationsFound',
        message: `${findings.length} violations (${count('High')} high, ${count('Medium')} medium, ${count('Low')} low).`,
        lastTransitionTime: T0.toISOString(),
      },
    ]);
    assert.equal(status?.lastEvaluated, T0.toISOString());
  });

  it('reports each finding with its rule, policy, container, message and remediation', () => {
    const finding = reportFor(rootWeb()).status?.findings?.find(
      (f) => f.ruleId === 'securityContext.runAsNonRoot',
    );
    assert.ok(finding);
    assert.equal(finding.severity, 'High');
    assert.equal(finding.policy, 'shop/default');
    assert.equal(finding.container, 'web');
    assert.match(finding.message, /container "web"/);
    assert.ok(finding.remediation.length > 0);
    assert.equal(finding.firstSeen, T0.toISOString());
    assert.equal(finding.lastSeen, T0.toISOString());
  });

  it('lists the findings most severe first', () => {
    const findings = reportFor(rootWeb()).status?.findings ?? [];
    const ranks = findings.map((f) => severityRank(f.severity));
    assert.deepEqual(
      ranks,
      [...ranks].sort((a, b) => b - a),
    );
  });

  it('is compliant with no findings, saying how many policies it complies with', () => {
    const status = reportFor(hardenedWeb()).status;
    assert.equal(status?.compliant, true);
    assert.deepEqual(status?.findings, []);
    assert.deepEqual(status?.conditions, [
      {
        type: 'Compliant',
        status: 'True',
        reason: 'NoViolations',
        message: 'Complies with 1 policy.',
        lastTransitionTime: T0.toISOString(),
      },
    ]);
  });

  it('stays compliant when the only findings are Info', () => {
    const workload = deployment('web', {
      securityContext: goodPodSecurity,
      containers: [{ ...hardenedContainer('web'), livenessProbe: undefined }],
    });
    const lenient = securityPolicy('lenient', {
      rules: { severityOverrides: [{ rule: 'probes.liveness', severity: 'Info' }] },
    });
    const status = reportFor(workload, { policies: [lenient] }).status;
    assert.deepEqual(
      status?.findings?.map((f) => `${f.severity} ${f.ruleId}`),
      ['Info probes.liveness'],
    );
    assert.equal(status?.compliant, true);
    assert.equal(status?.summary?.info, 1);
    assert.equal(status?.conditions?.[0]?.reason, 'NoViolations');
  });

  it('says so when no policy applies', () => {
    const status = reportFor(rootWeb(), { policies: [] }).status;
    assert.equal(status?.compliant, true);
    assert.deepEqual(status?.conditions?.[0], {
      type: 'Compliant',
      status: 'True',
      reason: 'NoPolicyApplies',
      message: 'No SecurityPolicy or ClusterSecurityPolicy applies to this workload.',
      lastTransitionTime: T0.toISOString(),
    });
  });

  it('keeps firstSeen and lastSeen of findings it reported before', () => {
    const before = reportFor(rootWeb(), { now: T0 });
    const after = reportFor(rootWeb(), { now: T1, existing: asStored(before) });
    assert.ok((after.status?.findings?.length ?? 0) > 0);
    for (const finding of after.status?.findings ?? []) {
      assert.equal(finding.firstSeen, T0.toISOString(), finding.ruleId);
      assert.equal(finding.lastSeen, T0.toISOString(), finding.ruleId);
    }
    assert.equal(after.status?.lastEvaluated, T1.toISOString());
  });

  it('dates a new finding now, and moves lastSeen (not firstSeen) when a finding says something new', () => {
    const before = reportFor(rootWeb(), { now: T0 });
    // Requests for cpu only: the resources.requests finding now names memory alone.
    // A second root container brings findings that were never reported.
    const changed = deployment('web', {
      containers: [
        { ...rootContainer('web', 'nginx:latest'), resources: { requests: { cpu: '50m' } } },
        rootContainer('sidecar', 'busybox:latest'),
      ],
    });
    const findings = reportFor(changed, { now: T1, existing: asStored(before) }).status?.findings ?? [];
    const find = (ruleId: string, container: string) =>
      findings.find((f) => f.ruleId === ruleId && f.container === container);

    const requests = find('resources.requests', 'web');
    assert.ok(requests);
    assert.doesNotMatch(requests.message, /cpu/);
    assert.equal(requests.firstSeen, T0.toISOString());
    assert.equal(requests.lastSeen, T1.toISOString());

    const unchanged = find('securityContext.runAsNonRoot', 'web');
    assert.equal(unchanged?.firstSeen, T0.toISOString());
    assert.equal(unchanged?.lastSeen, T0.toISOString());

    const fresh = find('securityContext.runAsNonRoot', 'sidecar');
    assert.equal(fresh?.firstSeen, T1.toISOString());
    assert.equal(fresh?.lastSeen, T1.toISOString());
  });

  it('keeps the Compliant lastTransitionTime while compliance stays, and moves it when compliance flips', () => {
    const first = reportFor(rootWeb(), { now: T0 });
    const fewer = deployment('web', {
      securityContext: goodPodSecurity,
      containers: [{ ...hardenedContainer('web'), image: 'nginx:latest' }],
    });
    const second = reportFor(fewer, { now: T1, existing: asStored(first) });
    assert.equal(second.status?.compliant, false);
    assert.notEqual(second.status?.conditions?.[0]?.message, first.status?.conditions?.[0]?.message);
    assert.equal(second.status?.conditions?.[0]?.lastTransitionTime, T0.toISOString());

    const third = reportFor(hardenedWeb(), { now: T2, existing: asStored(second) });
    assert.equal(third.status?.conditions?.[0]?.status, 'True');
    assert.equal(third.status?.conditions?.[0]?.lastTransitionTime, T2.toISOString());
  });

  it(`keeps at most ${MAX_REPORT_FINDINGS} findings, the most severe, while the summary counts them all`, () => {
    const containers = Array.from({ length: 40 }, (_, i) => rootContainer(`c${i}`, 'nginx:latest'));
    const workload = deployment('wide', { containers });
    const all = findingsOf(workload);
    assert.ok(all.length > MAX_REPORT_FINDINGS, `${all.length} findings`);

    const status = reportFor(workload).status;
    assert.equal(status?.findings?.length, MAX_REPORT_FINDINGS);
    assert.equal(status?.findingsTruncated, true);
    assert.equal(status?.summary?.total, all.length);
    const highs = all.filter((f) => f.severity === 'High').length;
    assert.equal(
      status?.findings?.filter((f) => f.severity === 'High').length,
      highs,
      'no High finding is dropped',
    );
    assert.equal(
      status?.findings?.some((f) => f.severity === 'Low'),
      false,
      'the least severe are the ones left out',
    );
  });

  it('is not marked truncated when every finding fits', () => {
    assert.equal(reportFor(rootWeb()).status?.findingsTruncated, false);
  });

  it('fits the SecurityReport schema, so the API server prunes nothing and a re-read compares equal', () => {
    const containers = Array.from({ length: 40 }, (_, i) => rootContainer(`c${i}`, 'nginx:latest'));
    for (const report of [
      reportFor(rootWeb()),
      reportFor(deployment('wide', { containers })),
      reportFor(hardenedWeb()),
    ]) {
      assert.deepEqual(validateAgainstSchema(securityReportSpecSchema, report.spec, 'spec'), []);
      assert.deepEqual(validateAgainstSchema(securityReportStatusSchema, report.status, 'status'), []);
    }
  });

  it('shortens the workload-name label to a valid label value', () => {
    // Cut at 63 characters, this name would end in a dot.
    const workload = rootWeb();
    workload.metadata = { ...workload.metadata, name: `${'n'.repeat(62)}.x` };
    const label = reportFor(workload).metadata.labels?.[WORKLOAD_NAME_LABEL] ?? '';
    assert.equal(label, 'n'.repeat(62));
    assert.match(label, /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
  });
});

describe('sameReport', () => {
  it('treats a report evaluated again with the same findings as unchanged', () => {
    const stored = asStored(reportFor(rootWeb(), { now: T0 }));
    const again = reportFor(rootWeb(), { now: T1, existing: stored });
    assert.notEqual(again.status?.lastEvaluated, stored.status?.lastEvaluated);
    assert.equal(sameReport(stored, again), true);
  });

  it('is false while there is no report yet', () => {
    assert.equal(sameReport(undefined, reportFor(rootWeb())), false);
  });

  it('sees a finding that changed', () => {
    const stored = asStored(reportFor(rootWeb(), { now: T0 }));
    const fixed = deployment('web', {
      containers: [{ ...rootContainer('web', 'nginx:latest'), securityContext: { runAsNonRoot: true } }],
    });
    const desired = reportFor(fixed, { now: T1, existing: stored });
    assert.equal(sameSpec(stored, desired), true);
    assert.equal(sameStatus(stored, desired), false);
    assert.equal(sameReport(stored, desired), false);
  });

  it('sees a new image in the pod template', () => {
    const stored = asStored(reportFor(rootWeb(), { now: T0 }));
    const upgraded = deployment('web', { containers: [rootContainer('web', 'nginx:1.27')] });
    assert.equal(sameSpec(stored, reportFor(upgraded, { now: T1, existing: stored })), false);
  });

  it('sees a recreated workload (another owner uid) and changed labels', () => {
    const stored = asStored(reportFor(rootWeb(), { now: T0 }));
    const recreated = rootWeb();
    recreated.metadata = { ...recreated.metadata, uid: 'uid-deployment-web-2' };
    assert.equal(sameSpec(stored, reportFor(recreated, { now: T1, existing: stored })), false);

    const relabelled = structuredClone(stored);
    relabelled.metadata.labels = { ...relabelled.metadata.labels, [WORKLOAD_KIND_LABEL]: 'StatefulSet' };
    assert.equal(sameSpec(relabelled, reportFor(rootWeb(), { now: T1, existing: stored })), false);
  });

  it('ignores only lastEvaluated in the status', () => {
    const stored = asStored(reportFor(rootWeb(), { now: T0 }));
    const desired = reportFor(rootWeb(), { now: T1, existing: stored });
    assert.equal(sameStatus(stored, desired), true);
    const flipped = structuredClone(desired);
    flipped.status = { ...flipped.status, findingsTruncated: true };
    assert.equal(sameStatus(stored, flipped), false);
  });
});

describe('digestOf', () => {
  it('finds the sha256 digest in every imageID form the kubelet reports', () => {
    assert.equal(digestOf(`docker-pullable://nginx@${NGINX_DIGEST}`), NGINX_DIGEST);
    assert.equal(digestOf(`docker.io/library/nginx@${NGINX_DIGEST}`), NGINX_DIGEST);
    assert.equal(digestOf(NGINX_DIGEST), NGINX_DIGEST);
  });

  it('finds none in a tag or an empty imageID', () => {
    assert.equal(digestOf('nginx:latest'), undefined);
    assert.equal(digestOf(''), undefined);
    assert.equal(digestOf(undefined), undefined);
  });
});
