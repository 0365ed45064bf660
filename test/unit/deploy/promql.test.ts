import assert from 'node:assert/strict';
import { SEVERITY_LABEL_VALUES } from '../../../src/metrics/registry.js';
import { knownSeriesNames, seriesProblemsIn } from './known-metrics.js';
import { groupingLabelsIn, metricNamesIn, metricNamesInLabelValues, selectorsIn } from './promql.js';

describe('finding metric names in PromQL', () => {
  it('ignores functions, aggregations, grouping labels, matchers and ranges', () => {
    assert.deepEqual(
      metricNamesIn(
        'sum by (controller) (rate(shipshape_reconcile_total{result="error"}[5m])) / sum by (controller) (rate(shipshape_reconcile_total[5m])) > 0.05',
      ),
      ['shipshape_reconcile_total'],
    );
  });

  it('finds every metric of a binary expression, including after offset and or', () => {
    assert.deepEqual(
      metricNamesIn('sum(a_total) > sum(b_gauge offset 1h) or vector(0) unless on (pod) c_info'),
      ['a_total', 'b_gauge', 'c_info'],
    );
  });

  it('reads Grafana variables and histogram buckets', () => {
    assert.deepEqual(
      metricNamesIn(
        'histogram_quantile(0.95, sum by (le) (rate(x_seconds_bucket{namespace=~"$namespace"}[$__rate_interval])))',
      ),
      ['x_seconds_bucket'],
    );
  });

  it('reads the metric of a label_values() variable query', () => {
    assert.deepEqual(
      metricNamesInLabelValues('label_values(shipshape_violations{namespace=~"$namespace"}, policy)'),
      ['shipshape_violations'],
    );
  });
});

describe('finding selectors and grouping labels in PromQL', () => {
  it('reads each selector with its matchers, including regex and negative ones', () => {
    assert.deepEqual(selectorsIn('sum(a_total{x="1", y=~"b|c"}) / count(b{z!="q,}"})'), [
      {
        metric: 'a_total',
        matchers: [
          { label: 'x', op: '=', value: '1' },
          { label: 'y', op: '=~', value: 'b|c' },
        ],
      },
      { metric: 'b', matchers: [{ label: 'z', op: '!=', value: 'q,}' }] },
    ]);
  });

  it('reads the labels of by, without and on clauses', () => {
    assert.deepEqual(groupingLabelsIn('sum by (a, b) (x) / on (c) sum without(d) (y)'), ['a', 'b', 'c', 'd']);
  });
});

describe('the known Shipshape series', () => {
  const known = knownSeriesNames();

  it('include histogram series, the prefixed process metrics and up', () => {
    for (const name of [
      'shipshape_reconcile_duration_seconds_bucket',
      'shipshape_process_resident_memory_bytes',
      'shipshape_nodejs_heap_size_used_bytes',
      'up',
    ]) {
      assert.ok(known.has(name), name);
    }
  });

  it('do not include the bare histogram name, which Prometheus never stores', () => {
    assert.ok(!known.has('shipshape_reconcile_duration_seconds'));
  });

  it('are the ones createMetrics() registers, workqueue series included', () => {
    for (const name of [
      'shipshape_workqueue_adds_total',
      'shipshape_workqueue_retries_total',
      'shipshape_workqueue_queue_duration_seconds_bucket',
      'shipshape_workqueue_work_duration_seconds_count',
      'shipshape_images',
      'shipshape_image_vulnerabilities',
    ]) {
      assert.ok(known.has(name), name);
    }
    assert.ok(!known.has('shipshape_image_scan_errors_total'));
  });
});

describe('checking a query against the known series', () => {
  it('accepts the severity value the operator writes for Critical findings', () => {
    assert.deepEqual(
      seriesProblemsIn(`sum(shipshape_violations{severity="${SEVERITY_LABEL_VALUES.Critical}"})`),
      [],
    );
  });

  it('refuses a severity value the operator never writes', () => {
    assert.deepEqual(seriesProblemsIn('sum(shipshape_violations{severity="Critical"})'), [
      'shipshape_violations{severity="Critical"}: the operator writes severity only as critical, high, medium, low, info',
    ]);
  });

  it('refuses a label the series does not have, and grouping by one', () => {
    assert.deepEqual(seriesProblemsIn('sum by (reason) (shipshape_workloads{severity="critical"})'), [
      'shipshape_workloads has no label severity (it has namespace, compliance)',
      'groups by reason, which no selected series has',
    ]);
  });

  it('checks each value of a literal alternation but leaves other regexes and variables alone', () => {
    assert.equal(seriesProblemsIn('shipshape_workloads{compliance=~"compliant|broken"}').length, 1);
    assert.deepEqual(seriesProblemsIn('shipshape_workloads{compliance=~".*", namespace=~"$namespace"}'), []);
  });

  it('refuses a series nobody exports', () => {
    assert.deepEqual(seriesProblemsIn('rate(shipshape_image_scan_errors_total[5m])'), [
      'shipshape_image_scan_errors_total is not a series Shipshape exports',
    ]);
  });
});
