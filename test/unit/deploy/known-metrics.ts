// The metric names Shipshape exports, for checking that alert rules and the
// Grafana dashboard only query series that exist. Operator metrics are listed
// here as the metrics design names them; the process and Node.js metrics are
// taken from prom-client itself with the `shipshape_` prefix the operator uses
// (src/cli/operator.ts), so they cannot drift.
import { collectDefaultMetrics, Registry } from 'prom-client';

type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

export const OPERATOR_METRICS: Readonly<Record<string, MetricType>> = {
  shipshape_violations: 'gauge',
  shipshape_workloads: 'gauge',
  shipshape_reconcile_total: 'counter',
  shipshape_reconcile_duration_seconds: 'histogram',
  shipshape_workqueue_depth: 'gauge',
  shipshape_informer_restarts_total: 'counter',
  shipshape_report_writes_total: 'counter',
  shipshape_events_total: 'counter',
  shipshape_leader: 'gauge',
  shipshape_build_info: 'gauge',
  shipshape_image_vulnerabilities: 'gauge',
  shipshape_image_scan_errors_total: 'counter',
};

/** Series Prometheus itself adds for every target. */
const SCRAPE_SERIES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped'];

function seriesOf(name: string, type: string): string[] {
  if (type === 'histogram') return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
  if (type === 'summary') return [name, `${name}_sum`, `${name}_count`];
  return [name];
}

function defaultMetrics(): Record<string, MetricType> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'shipshape_' });
  const metrics = Object.fromEntries(
    registry.getMetricsAsArray().map((m) => [m.name, String(m.type) as MetricType]),
  );
  registry.clear();
  return metrics;
}

/** Every series name a query may select. */
export function knownSeriesNames(): Set<string> {
  const all = { ...defaultMetrics(), ...OPERATOR_METRICS };
  return new Set([...Object.entries(all).flatMap(([name, type]) => seriesOf(name, type)), ...SCRAPE_SERIES]);
}
