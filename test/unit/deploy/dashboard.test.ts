// The Grafana dashboard: loadable, portable (data source as a variable), and
// every query asks for series Shipshape exports, by labels they have and
// values the operator writes.
import assert from 'node:assert/strict';
import { knownSeriesNames, seriesProblemsIn } from './known-metrics.js';
import { metricNamesIn, metricNamesInLabelValues } from './promql.js';
import { readRepoFile, readYaml } from './repo-files.js';

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
  datasource?: { uid?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(readRepoFile('config/grafana/shipshape-dashboard.json')) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
const variable = (name: string) => dashboard.templating.list.find((v) => v.name === name);

describe('the Shipshape Grafana dashboard', () => {
  it('is a recent-schema dashboard with a stable uid', () => {
    assert.ok(dashboard.schemaVersion >= 39, `schemaVersion ${dashboard.schemaVersion}`);
    assert.equal(dashboard.uid, 'shipshape-overview');
  });

  it('takes its Prometheus data source from a ${datasource} variable in every panel and query', () => {
    assert.equal(variable('datasource')?.type, 'datasource');
    for (const panel of panels) {
      assert.equal(panel.datasource?.uid, '${datasource}', `panel ${panel.title}`);
      for (const target of panel.targets ?? []) assert.equal(target.datasource?.uid, '${datasource}');
    }
  });

  it('filters by namespace and policy variables built from Shipshape metrics', () => {
    const known = knownSeriesNames();
    for (const name of ['namespace', 'policy']) {
      const v = variable(name);
      assert.equal(v?.type, 'query', `no ${name} variable`);
      const query = typeof v?.query === 'string' ? v.query : (v?.query?.query ?? '');
      const metrics = metricNamesInLabelValues(query);
      assert.ok(metrics.length > 0 && metrics.every((m) => known.has(m)), `${name}: ${query}`);
      assert.deepEqual(seriesProblemsIn(query.replace(/^label_values\((.*),\s*\w+\s*\)$/, '$1')), []);
    }
  });

  it('queries only series Shipshape exports, by labels they have and values the operator writes', () => {
    for (const panel of panels) {
      assert.ok((panel.targets ?? []).length > 0, `panel ${panel.title} has no query`);
      for (const target of panel.targets ?? []) {
        assert.deepEqual(seriesProblemsIn(target.expr ?? ''), [], `panel ${panel.title}: ${target.expr}`);
      }
    }
  });

  it('shows compliance, violations, reconciles, queue, informers, leader and memory', () => {
    const queried = new Set(
      panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNamesIn(t.expr ?? ''))),
    );
    for (const metric of [
      'shipshape_workloads',
      'shipshape_violations',
      'shipshape_reconcile_total',
      'shipshape_reconcile_duration_seconds_bucket',
      'shipshape_workqueue_depth',
      'shipshape_informer_restarts_total',
      'shipshape_leader',
      'shipshape_images',
      'shipshape_process_resident_memory_bytes',
    ]) {
      assert.ok(queried.has(metric), `no panel shows ${metric}`);
    }
    const titles = panels.map((p) => p.title);
    for (const title of ['Compliance ratio', 'Top rules', 'Top namespaces', 'Reconcile latency p95']) {
      assert.ok(titles.includes(title), `no panel "${title}"`);
    }
  });

  it('gives every panel a unique id', () => {
    const ids = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('ships as a ConfigMap the Grafana sidecar discovers', () => {
    const k = readYaml<{
      configMapGenerator: { files: string[]; options: { labels: Record<string, string> } }[];
    }>('config/grafana/kustomization.yaml');
    const generator = k.configMapGenerator[0];
    assert.deepEqual(generator?.files, ['shipshape-dashboard.json']);
    assert.equal(generator?.options.labels['grafana_dashboard'], '1');
  });
});
