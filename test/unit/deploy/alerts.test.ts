// The alert rules: complete (every alert can be routed and explained), about
// series that exist (by name, labels and the label values the operator
// writes), and identical for promtool and the Prometheus Operator.
import assert from 'node:assert/strict';
import { SEVERITY_LABEL_VALUES } from '../../../src/metrics/registry.js';
import { seriesProblemsIn } from './known-metrics.js';
import { metricNamesIn } from './promql.js';
import { readYaml } from './repo-files.js';

interface AlertRule {
  alert?: string;
  record?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroups {
  groups: { name: string; rules: AlertRule[] }[];
}

const plain = readYaml<RuleGroups>('config/prometheus/rules/shipshape.rules.yaml');
const alerts = plain.groups.flatMap((g) => g.rules);

describe('Shipshape alert rules', () => {
  it('are identical in the plain rule file and the PrometheusRule', () => {
    const rule = readYaml<{ kind: string; spec: RuleGroups }>('config/prometheus/prometheus_rule.yaml');
    assert.equal(rule.kind, 'PrometheusRule');
    assert.deepEqual(rule.spec, plain, 'copy the groups of the rule file into spec of prometheus_rule.yaml');
  });

  it('give every alert an expr, a for duration, a severity, a summary, a description and a runbook hint', () => {
    assert.ok(alerts.length > 0);
    for (const a of alerts) {
      const name = a.alert ?? '(unnamed)';
      assert.match(name, /^Shipshape[A-Z]\w+$/);
      assert.ok(a.expr?.trim(), `${name}: no expr`);
      assert.match(a.for ?? '', /^\d+[smh]$/, `${name}: no for`);
      assert.ok(['critical', 'warning', 'info'].includes(a.labels?.severity ?? ''), `${name}: severity`);
      for (const key of ['summary', 'description', 'runbook']) {
        assert.ok(a.annotations?.[key]?.trim(), `${name}: no ${key} annotation`);
      }
    }
  });

  it('have unique names within the file', () => {
    const names = alerts.map((a) => a.alert);
    assert.equal(new Set(names).size, names.length);
  });

  it('query only series Shipshape exports (or up), by labels they have and values the operator writes', () => {
    for (const a of alerts) {
      assert.deepEqual(seriesProblemsIn(a.expr ?? ''), [], `${a.alert ?? a.record}: ${a.expr}`);
    }
  });

  it('cover the failure modes an operator team needs paging or tickets for', () => {
    const byMetric = (metric: string) => alerts.filter((a) => metricNamesIn(a.expr ?? '').includes(metric));
    for (const metric of [
      'shipshape_violations',
      'shipshape_workloads',
      'shipshape_reconcile_total',
      'shipshape_leader',
      'shipshape_informer_restarts_total',
      'shipshape_workqueue_depth',
      'shipshape_images',
      'shipshape_admission_requests_total',
      'shipshape_admission_duration_seconds_bucket',
      'up',
    ]) {
      assert.ok(byMetric(metric).length > 0, `no alert on ${metric}`);
    }
    assert.ok(
      byMetric('shipshape_violations')[0]?.expr?.includes(`severity="${SEVERITY_LABEL_VALUES.Critical}"`),
      'the violations alert selects the Critical severity label',
    );
    assert.equal(byMetric('shipshape_leader')[0]?.for, '5m');
  });

  it('detect a down operator by the job name the ServiceMonitor gives it', () => {
    const down = alerts.find((a) => /absent\(up\{/.test(a.expr ?? ''));
    const job = /job="([^"]+)"/.exec(down?.expr ?? '')?.[1];
    const monitor = readYaml<{ spec: { jobLabel: string } }>('config/prometheus/monitor.yaml');
    const service = readYaml<{ metadata: { labels: Record<string, string> } }>(
      'config/manager/metrics_service.yaml',
    );
    assert.equal(job, service.metadata.labels[monitor.spec.jobLabel]);
  });
});
