// The series Shipshape exports, for checking that alert rules, the Grafana
// dashboard and the promtool rule tests only query series that exist, by
// labels they have, with values the operator writes. Everything is read from
// the operator's own registry (createMetrics(), with the `shipshape_`-prefixed
// process metrics) and the label-value constants beside it, so renaming a
// metric or changing a label value there fails these tests instead of
// silently emptying an alert.
import { BOUNDED_LABEL_VALUES, createMetrics } from '../../../src/metrics/registry.js';
import { groupingLabelsIn, metricNamesIn, selectorsIn } from './promql.js';

type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

export interface KnownSeries {
  /** The metric as registered (a histogram's base name for its _bucket/_sum/_count series). */
  readonly metric: string;
  readonly type: MetricType;
  /** Labels the series may carry (le and quantile included where Prometheus adds them). */
  readonly labels: ReadonlySet<string>;
  /** Closed sets of values, by label, from BOUNDED_LABEL_VALUES. */
  readonly values: Readonly<Record<string, readonly string[]>>;
}

/** Series Prometheus itself adds for every target. */
const SCRAPE_SERIES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped'];
/** Labels Prometheus attaches to every scraped series (static config, or Kubernetes SD in a cluster). */
export const TARGET_LABELS: ReadonlySet<string> = new Set(['job', 'instance', 'pod', 'container', 'service']);

function seriesOf(name: string, type: MetricType): { series: string; extra: string[] }[] {
  if (type === 'histogram')
    return [
      { series: `${name}_bucket`, extra: ['le'] },
      { series: `${name}_sum`, extra: [] },
      { series: `${name}_count`, extra: [] },
    ];
  if (type === 'summary')
    return [
      { series: name, extra: ['quantile'] },
      { series: `${name}_sum`, extra: [] },
      { series: `${name}_count`, extra: [] },
    ];
  return [{ series: name, extra: [] }];
}

/** The operator's metrics, each with its label names (prom-client keeps them on the metric). */
function registeredMetrics(): { name: string; type: MetricType; labelNames: readonly string[] }[] {
  const { registry } = createMetrics({ version: '0.0.0-test' });
  const metrics = registry.getMetricsAsArray().map((m) => ({
    name: m.name,
    type: String(m.type) as MetricType,
    labelNames: (m as unknown as { labelNames?: readonly string[] }).labelNames ?? [],
  }));
  registry.clear();
  return metrics;
}

let cached: ReadonlyMap<string, KnownSeries> | undefined;

/** Every series a query may select, by series name. */
export function knownSeries(): ReadonlyMap<string, KnownSeries> {
  if (cached) return cached;
  const known = new Map<string, KnownSeries>();
  for (const m of registeredMetrics()) {
    for (const { series, extra } of seriesOf(m.name, m.type)) {
      known.set(series, {
        metric: m.name,
        type: m.type,
        labels: new Set([...m.labelNames, ...extra]),
        values: BOUNDED_LABEL_VALUES[m.name] ?? {},
      });
    }
  }
  for (const name of SCRAPE_SERIES)
    known.set(name, { metric: name, type: 'gauge', labels: new Set(), values: {} });
  cached = known;
  return known;
}

/** Every series name a query may select. */
export function knownSeriesNames(): Set<string> {
  return new Set(knownSeries().keys());
}

/**
 * What is wrong with the series an expression selects, as sentences: unknown
 * series, labels a series does not have, and values of a closed label set
 * the operator never writes. Empty when every selector can match.
 */
export function seriesProblemsIn(expr: string): string[] {
  const known = knownSeries();
  const names = metricNamesIn(expr);
  const problems = names
    .filter((name) => !known.has(name))
    .map((name) => `${name} is not a series Shipshape exports`);
  const labelsInExpr = new Set<string>([...TARGET_LABELS, 'le']);
  for (const name of names) for (const label of known.get(name)?.labels ?? []) labelsInExpr.add(label);
  for (const { metric, matchers } of selectorsIn(expr)) {
    const series = metric === undefined ? undefined : known.get(metric);
    if (!series) continue;
    for (const { label, op, value } of matchers) {
      if (!series.labels.has(label) && !TARGET_LABELS.has(label)) {
        problems.push(`${metric} has no label ${label} (it has ${[...series.labels].join(', ') || 'none'})`);
        continue;
      }
      const allowed = series.values[label];
      if (!allowed || value.includes('$')) continue;
      // A regex is checked only when it is a plain alternation of literal values.
      const literals = op.endsWith('~') ? value.split('|') : [value];
      if (op.endsWith('~') && literals.some((v) => !/^[\w-]+$/.test(v))) continue;
      for (const v of literals) {
        if (!allowed.includes(v)) {
          problems.push(
            `${metric}{${label}${op}"${value}"}: the operator writes ${label} only as ${allowed.join(', ')}`,
          );
        }
      }
    }
  }
  for (const label of groupingLabelsIn(expr)) {
    if (!labelsInExpr.has(label)) problems.push(`groups by ${label}, which no selected series has`);
  }
  return problems;
}
