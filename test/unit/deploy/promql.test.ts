import assert from 'node:assert/strict';
import { knownSeriesNames } from './known-metrics.js';
import { metricNamesIn, metricNamesInLabelValues } from './promql.js';

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
});
