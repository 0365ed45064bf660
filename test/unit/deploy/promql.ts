// A deliberately small PromQL reader for tests: finds the metric names an
// expression selects, so alert rules and dashboards can be checked against the
// metrics the operator actually exports. Not a parser: it strips what cannot
// be a metric name (strings, label matchers, ranges, grouping labels,
// Grafana variables, numbers) and drops PromQL's own words.
const words = (list: string): Set<string> => new Set(list.split(/\s+/).filter(Boolean));

const FUNCTIONS = words(`
  abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp
  clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month deg
  delta deriv double_exponential_smoothing exp floor histogram_avg histogram_count histogram_fraction
  histogram_quantile histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta increase
  irate label_join label_replace last_over_time ln log10 log2 mad_over_time max_over_time
  min_over_time minute month pi predict_linear present_over_time quantile_over_time rad rate resets
  round scalar sgn sin sinh sort sort_by_label sort_by_label_desc sort_desc sqrt stddev_over_time
  stdvar_over_time sum_over_time tan tanh time timestamp vector year
`);
const AGGREGATIONS = words(`
  sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio
`);
const KEYWORDS = words(`
  and or unless by without on ignoring group_left group_right offset bool atan2 inf nan
`);

/** The distinct metric names selected by a PromQL expression (Grafana variables allowed). */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{\w+(?::\w+)?\}|\$\w+/g, ' ')
    .replace(/\b\d+(\.\d+)?([eE][+-]?\d+)?([smhdwy]|ms)?\b/g, ' ');
  const names = new Set<string>();
  for (const [token] of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = token.toLowerCase();
    if (FUNCTIONS.has(word) || AGGREGATIONS.has(word) || KEYWORDS.has(word)) continue;
    names.add(token);
  }
  return [...names].sort();
}

/** The metric of a Grafana `label_values(<metric selector>, <label>)` variable query. */
export function metricNamesInLabelValues(query: string): string[] {
  const match = /^label_values\((.*),\s*\w+\s*\)$/.exec(query.trim());
  if (!match?.[1]) return [];
  return metricNamesIn(match[1]);
}

export interface LabelMatcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

export interface Selector {
  /** The metric name before the braces; undefined for a bare `{...}` selector. */
  readonly metric?: string;
  readonly matchers: readonly LabelMatcher[];
}

/**
 * Every `metric{...}` selector of an expression with its label matchers
 * (selectors without braces have no matchers; metricNamesIn finds them).
 * Also reads the series lines of promtool test files (`name{a="b"}`).
 */
export function selectorsIn(expr: string): Selector[] {
  const selectors: Selector[] = [];
  for (const m of expr.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)?\s*\{((?:[^}"]|"(?:[^"\\]|\\.)*")*)\}/g)) {
    const name = m[1];
    const isMetric = name !== undefined && !words('by without on ignoring').has(name.toLowerCase());
    const matchers: LabelMatcher[] = [];
    for (const l of (m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
      matchers.push({ label: l[1] ?? '', op: (l[2] ?? '=') as LabelMatcher['op'], value: l[3] ?? '' });
    }
    const named = matchers.find((x) => x.label === '__name__' && x.op === '=')?.value;
    selectors.push({
      metric: isMetric ? name : named,
      matchers: matchers.filter((x) => x.label !== '__name__'),
    });
  }
  return selectors;
}

/** The labels of every `by (...)`, `without (...)`, `on (...)` and `ignoring (...)` clause. */
export function groupingLabelsIn(expr: string): string[] {
  const labels = new Set<string>();
  for (const m of expr.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    for (const label of (m[1] ?? '').split(',')) if (label.trim()) labels.add(label.trim());
  }
  return [...labels].sort();
}
