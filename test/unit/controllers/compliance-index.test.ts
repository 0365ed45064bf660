import assert from 'node:assert/strict';
import type { V1PodSpec } from '@kubernetes/client-node';
import type { AnySecurityPolicy } from '../../../src/api/policy-types.js';
import { ComplianceIndex, type WorkloadOutcome } from '../../../src/controllers/compliance-index.js';
import { createMetrics, type ShipshapeMetrics } from '../../../src/metrics/registry.js';
import { policyName } from '../../../src/policy/compile.js';
import { evaluateWorkload } from '../../../src/policy/evaluate.js';
import {
  deployment,
  goodPodSecurity,
  hardenedContainer,
  rootContainer,
  securityPolicy,
} from './fake-store.js';

const shopDefault = securityPolicy('default');
const shopImages = securityPolicy('images', { rules: { disabled: ['probes.liveness', 'probes.readiness'] } });

const rootSpec: V1PodSpec = { containers: [rootContainer('web', 'nginx:latest')] };
const hardenedSpec: V1PodSpec = { securityContext: goodPodSecurity, containers: [hardenedContainer('web')] };

/** What the reconciler hands the index: the real findings of a workload under the policies. */
function outcome(
  spec: V1PodSpec,
  policies: AnySecurityPolicy[] = [shopDefault],
  namespace = 'shop',
): WorkloadOutcome {
  const workload = deployment('web', spec);
  workload.metadata = { ...workload.metadata, namespace };
  return { namespace, policies: policies.map(policyName), findings: evaluateWorkload(workload, policies) };
}

type Series = Record<string, number>;

/** Gauge values keyed by their label values joined with spaces. */
async function values(
  gauge: ShipshapeMetrics['violations'] | ShipshapeMetrics['workloads'],
): Promise<Series> {
  const out: Series = {};
  for (const { labels, value } of (await gauge.get()).values) out[Object.values(labels).join(' ')] = value;
  return out;
}

describe('ComplianceIndex', () => {
  let metrics: ShipshapeMetrics;
  let index: ComplianceIndex;

  beforeEach(() => {
    metrics = createMetrics({ defaultMetrics: false });
    index = new ComplianceIndex({ violations: metrics.violations, workloads: metrics.workloads });
  });

  describe('the shipshape_violations gauge', () => {
    it('counts each violation under its namespace, policy, rule and severity', async () => {
      const web = outcome(rootSpec);
      index.set('Deployment/shop/web', web);
      index.set('Deployment/shop/api', outcome(rootSpec));

      const series = await values(metrics.violations);
      assert.equal(series['shop shop/default securityContext.runAsNonRoot high'], 2);
      assert.equal(series['shop shop/default image.tag medium'], 2);
      // Every finding of the root nginx is a violation of a rule of its own: two workloads, two each.
      assert.equal(Object.keys(series).length, web.findings.length);
      assert.ok(Object.values(series).every((v) => v === 2));
    });

    it('is exposed in the Prometheus text format', async () => {
      index.set('Deployment/shop/web', outcome(rootSpec));
      const text = await metrics.registry.metrics();
      assert.match(
        text,
        /^shipshape_violations\{namespace="shop",policy="shop\/default",rule="securityContext\.runAsNonRoot",severity="high"\} 1$/m,
      );
      assert.match(text, /^shipshape_workloads\{namespace="shop",compliance="noncompliant"\} 1$/m);
    });

    it('does not count Info findings', async () => {
      const lenient = securityPolicy('lenient', {
        rules: { severityOverrides: [{ rule: 'probes.liveness', severity: 'Info' }] },
      });
      const noProbe: V1PodSpec = {
        ...hardenedSpec,
        containers: [{ ...hardenedContainer('web'), livenessProbe: undefined }],
      };
      const result = outcome(noProbe, [lenient]);
      assert.deepEqual(
        result.findings.map((f) => f.severity),
        ['Info'],
      );
      index.set('Deployment/shop/web', result);
      assert.deepEqual(await values(metrics.violations), {});
      assert.deepEqual(await values(metrics.workloads), { 'shop compliant': 1 });
    });

    it("replaces a workload's previous outcome rather than adding to it", async () => {
      index.set('Deployment/shop/web', outcome(rootSpec));
      const once = await values(metrics.violations);
      index.set('Deployment/shop/web', outcome(rootSpec));
      index.set('Deployment/shop/web', outcome(rootSpec));
      assert.deepEqual(await values(metrics.violations), once);
      assert.deepEqual(await values(metrics.workloads), { 'shop noncompliant': 1 });
    });

    it('keeps a series at 0 when its last violation is fixed, so dashboards and alerts see the drop', async () => {
      index.set('Deployment/shop/web', outcome(rootSpec));
      index.set('Deployment/shop/web', outcome(hardenedSpec));
      const series = await values(metrics.violations);
      assert.equal(series['shop shop/default securityContext.runAsNonRoot high'], 0);
      assert.ok(Object.values(series).every((v) => v === 0));
    });

    it('keeps namespaces apart', async () => {
      const other = securityPolicy('default', {}, 'billing');
      index.set('Deployment/shop/web', outcome(rootSpec));
      index.set('Deployment/billing/web', outcome(rootSpec, [other], 'billing'));
      const series = await values(metrics.violations);
      assert.equal(series['shop shop/default securityContext.runAsNonRoot high'], 1);
      assert.equal(series['billing billing/default securityContext.runAsNonRoot high'], 1);
    });
  });

  describe('the shipshape_workloads gauge', () => {
    it('counts workloads by namespace and compliance', async () => {
      index.set('Deployment/shop/web', outcome(rootSpec));
      index.set('Deployment/shop/api', outcome(rootSpec));
      index.set('Deployment/shop/hello', outcome(hardenedSpec));
      assert.deepEqual(await values(metrics.workloads), { 'shop noncompliant': 2, 'shop compliant': 1 });
    });

    it('moves a workload from noncompliant to compliant when it is fixed', async () => {
      index.set('Deployment/shop/web', outcome(rootSpec));
      index.set('Deployment/shop/web', outcome(hardenedSpec));
      assert.deepEqual(await values(metrics.workloads), { 'shop noncompliant': 0, 'shop compliant': 1 });
    });

    it('forgets a deleted workload', async () => {
      index.set('Deployment/shop/web', outcome(rootSpec));
      index.set('Deployment/shop/hello', outcome(hardenedSpec));
      index.delete('Deployment/shop/web');
      assert.deepEqual(await values(metrics.workloads), { 'shop noncompliant': 0, 'shop compliant': 1 });
      assert.ok(Object.values(await values(metrics.violations)).every((v) => v === 0));
      assert.deepEqual(index.summary('shop/default'), {
        workloadsMatched: 1,
        workloadsCompliant: 1,
        violations: 0,
      });
    });
  });

  describe('summaries', () => {
    it('count, per policy, the workloads it matched, those without its violations, and its violations', () => {
      const web = outcome(rootSpec, [shopDefault, shopImages]);
      index.set('Deployment/shop/web', web);
      index.set('Deployment/shop/hello', outcome(hardenedSpec, [shopDefault]));
      const violationsOf = (policy: string) => web.findings.filter((f) => f.policy === policy).length;

      assert.deepEqual(index.summary('shop/default'), {
        workloadsMatched: 2,
        workloadsCompliant: 1,
        violations: violationsOf('shop/default'),
      });
      assert.deepEqual(index.summary('shop/images'), {
        workloadsMatched: 1,
        workloadsCompliant: 0,
        violations: violationsOf('shop/images'),
      });
      assert.ok(violationsOf('shop/images') < violationsOf('shop/default'), 'the policies differ');
    });

    it('are empty for a policy that matched nothing', () => {
      index.set('Deployment/shop/web', outcome(rootSpec));
      assert.deepEqual(index.summary('shop/unused'), {
        workloadsMatched: 0,
        workloadsCompliant: 0,
        violations: 0,
      });
    });

    it('work without gauges', () => {
      const bare = new ComplianceIndex();
      bare.set('Deployment/shop/web', outcome(hardenedSpec));
      assert.deepEqual(bare.summary('shop/default'), {
        workloadsMatched: 1,
        workloadsCompliant: 1,
        violations: 0,
      });
    });
  });

  describe('touched policies', () => {
    it('are every applying policy when a workload is first seen', () => {
      const touched = index.set('Deployment/shop/web', outcome(rootSpec, [shopDefault, shopImages]));
      assert.deepEqual([...touched].sort(), ['shop/default', 'shop/images']);
    });

    it('are none when the outcome is the same again', () => {
      index.set('Deployment/shop/web', outcome(rootSpec, [shopDefault, shopImages]));
      assert.deepEqual(
        [...index.set('Deployment/shop/web', outcome(rootSpec, [shopDefault, shopImages]))],
        [],
      );
    });

    it('are only the policies whose violations changed', () => {
      index.set('Deployment/shop/web', outcome(rootSpec, [shopDefault, shopImages]));
      // Adding probes changes shop/default's findings only: shop/images does not check probes.
      const probed: V1PodSpec = {
        containers: [
          {
            ...rootContainer('web', 'nginx:latest'),
            livenessProbe: { tcpSocket: { port: 80 } },
            readinessProbe: { tcpSocket: { port: 80 } },
          },
        ],
      };
      assert.deepEqual(
        [...index.set('Deployment/shop/web', outcome(probed, [shopDefault, shopImages]))],
        ['shop/default'],
      );
    });

    it('include a policy that stopped applying', () => {
      index.set('Deployment/shop/hello', outcome(hardenedSpec, [shopDefault, shopImages]));
      assert.deepEqual(
        [...index.set('Deployment/shop/hello', outcome(hardenedSpec, [shopDefault]))],
        ['shop/images'],
      );
    });

    it('are every policy of a deleted workload, and none for a workload never seen', () => {
      index.set('Deployment/shop/web', outcome(rootSpec, [shopDefault, shopImages]));
      assert.deepEqual([...index.delete('Deployment/shop/web')].sort(), ['shop/default', 'shop/images']);
      assert.deepEqual([...index.delete('Deployment/shop/web')], []);
      assert.deepEqual([...index.delete('Deployment/shop/never')], []);
    });
  });
});
