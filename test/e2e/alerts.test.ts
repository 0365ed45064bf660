// The alert rules and the Grafana dashboard run against the real thing: a
// real Prometheus scrapes the operator while it reports on a violating
// Deployment with a Critical finding, a fixed one and one whose image cannot
// be analysed. Every rule expression and every dashboard query is evaluated
// through Prometheus's query API, and the rule file itself is loaded into that
// Prometheus (with short `for` durations, only here) so the alerts meant for
// this scenario reach pending/firing and no other does.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type V1Container } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import type { SecurityReport } from '../../src/api/report-types.js';
import { installCrds } from '../support/crds.js';
import { createReadyNamespace } from '../support/namespaces.js';
import { pushImage } from '../support/oci-push.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { createSecurityPolicy } from '../support/policies.js';
import { startPrometheus, type PrometheusServer, type Sample } from '../support/prometheus-process.js';
import { tar } from '../support/tar.js';
import { eventually } from '../support/wait.js';
import { compliantContainer, kwokDeployment } from '../support/workloads.js';
import { kubeConfig, kubeconfigPath, registryHost } from './harness.js';

const GROUP = { group: 'shipshape.dev', version: 'v1alpha1' };
const RULES_FILE = join(process.cwd(), 'config', 'prometheus', 'rules', 'shipshape.rules.yaml');
const DASHBOARD_FILE = join(process.cwd(), 'config', 'grafana', 'shipshape-dashboard.json');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface Panel {
  type: string;
  title: string;
  targets?: { expr?: string; refId?: string }[];
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
}

const ruleFile = parse(readFileSync(RULES_FILE, 'utf8')) as RuleFile;
const rules = ruleFile.groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');

/**
 * What this scenario must set off. Every other alert must stay silent: the
 * operator is up, leads, reconciles without errors and writes its reports.
 */
const FIRING_IN_SCENARIO: ReadonlySet<string> = new Set([
  'ShipshapeCriticalViolations',
  'ShipshapeNoncompliantWorkloadsGrowing',
  'ShipshapeImageScanErrors',
]);
/** Alerts whose series carry the workload's namespace: they must fire for the scenario's one. */
const NAMESPACED = new Set(['ShipshapeCriticalViolations', 'ShipshapeNoncompliantWorkloadsGrowing']);
/**
 * Panels whose query falls back to `or vector(0)` because the series only
 * exists once something fails; for every other panel the query without the
 * fallback must return data too, so a fallback cannot hide a wrong selector.
 */
const ZERO_UNTIL_FAILURE = new Set(['Informer restarts']);

/** The rule file as loaded into the test Prometheus: every `for` shortened so alerts fire within seconds. */
function withShortFor(file: RuleFile, duration: string): string {
  return stringify({
    groups: file.groups.map((g) => ({
      ...g,
      rules: g.rules.map((r) => (r.alert && r.for ? { ...r, for: duration } : r)),
    })),
  });
}

/** A dashboard query as Grafana sends it for one namespace and one policy. */
function asGrafanaSends(expr: string, vars: { namespace: string; policy: string }): string {
  const regexLiteral = (v: string) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '15s')
    .replace(/\$\{?namespace\}?/g, regexLiteral(vars.namespace))
    .replace(/\$\{?policy\}?/g, regexLiteral(vars.policy));
}

/** Why an expression over shipshape_images is empty when the operator never sets that gauge. */
async function imagesHint(prometheus: PrometheusServer, expr: string): Promise<string> {
  if (!expr.includes('shipshape_images')) return '';
  const present = await prometheus.query('count(shipshape_images)');
  return present.length > 0
    ? ''
    : ' (shipshape_images has no series at all: the operator must call recordImageAnalyses() when image analyses settle)';
}

const describeSeries = (samples: Sample[]) =>
  samples.map((s) => `${JSON.stringify(s.metric)} ${s.value}`).join('; ') || 'no series';

describe('alert rules and dashboard on a real Prometheus scraping the operator', function () {
  this.timeout(240_000);
  const ns = `e2e-alerts-${Date.now().toString(36)}`;
  const policy = `${ns}/best-practice`;
  let apps: AppsV1Api;
  let custom: CustomObjectsApi;
  let operator: OperatorProcess;
  let prometheus: PrometheusServer;
  let image: string;
  let missingImage: string;
  /** What was observed, printed at the end for the record. */
  const observed: string[] = [];

  const report = async (name: string) =>
    (await custom
      .getNamespacedCustomObject({ ...GROUP, plural: 'securityreports', namespace: ns, name })
      .catch(() => undefined)) as SecurityReport | undefined;

  const container = (kind: 'critical' | 'secure', ref: string): V1Container =>
    kind === 'secure'
      ? compliantContainer(ref)
      : // privileged: true is the Critical finding (securityContext.privileged).
        { name: 'app', image: ref, securityContext: { privileged: true, runAsUser: 0 } };

  before(async () => {
    const kc = kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    await installCrds(kc);
    for (const name of ['shipshape-system', ns]) await createReadyNamespace(core, name);
    await createSecurityPolicy(custom, ns, 'best-practice', { enforcement: 'Audit' });
    const layer = tar([{ path: 'srv/app/hello.txt', content: 'hello\n' }]);
    image = (await pushImage(registryHost(), 'e2e-alerts/app', '1.0', [layer], { config: { User: '10001' } }))
      .reference;
    // Never pushed: the registry answers 404 for its manifest, a real image scan error.
    missingImage = `${registryHost()}/e2e-alerts/missing:1.0`;

    operator = await startOperatorProcess([
      `--kubeconfig=${kubeconfigPath()}`,
      '--namespace=shipshape-system',
      '--log-level=warn',
      `--allow-registry=${registryHost()}`,
      `--plain-http=${registryHost()}`,
    ]);
    await operator.waitReady();
    prometheus = await startPrometheus({
      targets: [`127.0.0.1:${operator.metricsPort}`],
      ruleFiles: { 'shipshape.rules.yaml': withShortFor(ruleFile, '1s') },
    });

    await apps.createNamespacedDeployment({
      namespace: ns,
      body: kwokDeployment('critical', container('critical', image)),
    });
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: kwokDeployment('fixed', container('critical', image)),
    });
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: kwokDeployment('unscannable', container('secure', missingImage)),
    });
    await eventually('the fixed Deployment to be reported non-compliant first', async () => {
      return (await report('deployment-fixed'))?.status?.compliant === false;
    });
    await apps.replaceNamespacedDeployment({
      namespace: ns,
      name: 'fixed',
      body: kwokDeployment('fixed', container('secure', image)),
    });

    const critical = await eventually('a Critical finding for Deployment critical', async () => {
      const r = await report('deployment-critical');
      return r?.status?.findings?.some((f) => f.severity === 'Critical') ? r : undefined;
    });
    assert.ok(critical.status?.findings?.some((f) => f.ruleId === 'securityContext.privileged'));
    await eventually('Deployment fixed to be reported compliant', async () => {
      return (await report('deployment-fixed'))?.status?.compliant === true;
    });
    await eventually(
      'the image of Deployment unscannable to fail analysis',
      async () =>
        (await report('deployment-unscannable'))?.status?.images?.some((i) => i.analysis === 'Failed'),
      { timeoutMs: 60_000 },
    );
    await eventually('the operator to lead', async () => (await operator.metric('shipshape_leader')) === 1);
    const settled = Date.now();
    await prometheus.waitForScrapes(2, settled, 60_000);
  });

  after(async () => {
    if (observed.length > 0) console.error(`e2e alerts, as observed:\n  ${observed.join('\n  ')}`);
    await prometheus?.stop();
    await operator?.stop('SIGKILL');
    await kubeConfig()
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: ns })
      .catch(() => undefined);
  });

  it('loads every rule of the rule file without an evaluation error', async () => {
    const health = await eventually('every rule evaluated once', async () => {
      const h = await prometheus.ruleHealth();
      return h.length === rules.length && h.every((r) => r.health !== 'unknown') ? h : undefined;
    });
    assert.deepEqual(
      health.filter((r) => r.health !== 'ok'),
      [],
    );
  });

  describe('every rule expression, evaluated through /api/v1/query', () => {
    for (const rule of rules) {
      const name = rule.alert ?? rule.record ?? '(unnamed)';
      const fires = rule.record !== undefined || FIRING_IN_SCENARIO.has(name);
      it(`${name} ${fires ? 'returns a series' : 'returns none'}`, async () => {
        const result = await prometheus.query(rule.expr);
        observed.push(`rule ${name}: ${result.length > 0 ? 'fires' : 'silent'} (${describeSeries(result)})`);
        if (!fires) {
          assert.deepEqual(
            result,
            [],
            `${name} must stay silent in this scenario: ${describeSeries(result)}`,
          );
          return;
        }
        assert.ok(
          result.length > 0,
          `${name} returned no series for this scenario: ${rule.expr}${await imagesHint(prometheus, rule.expr)}`,
        );
        if (NAMESPACED.has(name)) {
          assert.ok(
            result.some((s) => s.metric['namespace'] === ns),
            `${name} has no series for namespace ${ns}: ${describeSeries(result)}`,
          );
        }
      });
    }
  });

  describe('every Grafana dashboard query, with the scenario namespace and policy', () => {
    const vars = () => ({ namespace: ns, policy });

    it('offers the scenario namespace and policy in its template variables', async () => {
      const valuesOf = async (name: string) => {
        const v = dashboard.templating.list.find((x) => x.name === name);
        const query = typeof v?.query === 'string' ? v.query : (v?.query?.query ?? '');
        const match = /^label_values\((.*),\s*(\w+)\s*\)$/.exec(query);
        assert.ok(match?.[1] && match[2], `variable ${name}: ${query}`);
        const result = await prometheus.query(`group by (${match[2]}) (${asGrafanaSends(match[1], vars())})`);
        return result.map((s) => s.metric[match[2] ?? ''] ?? '');
      };
      assert.ok((await valuesOf('namespace')).includes(ns));
      assert.ok((await valuesOf('policy')).includes(policy));
    });

    for (const panel of panels) {
      it(`panel "${panel.title}" returns data`, async () => {
        for (const target of panel.targets ?? []) {
          const expr = asGrafanaSends(target.expr ?? '', vars());
          const result = await prometheus.query(expr);
          observed.push(
            `panel "${panel.title}" ${target.refId ?? ''}: ${result.length > 0 ? 'returns data' : 'EMPTY'} (${describeSeries(result)})`,
          );
          assert.ok(
            result.length > 0,
            `panel "${panel.title}" shows nothing: ${expr}${await imagesHint(prometheus, expr)}`,
          );
          const withoutFallback = expr.replace(/\s+or\s+vector\(0\)\s*$/, '');
          if (withoutFallback !== expr && !ZERO_UNTIL_FAILURE.has(panel.title)) {
            const live = await prometheus.query(withoutFallback);
            assert.ok(
              live.some((s) => s.value > 0),
              `panel "${panel.title}" shows only its 0 fallback: ${withoutFallback} gave ${describeSeries(live)}`,
            );
          }
        }
      });
    }
  });

  describe('the rule file loaded into Prometheus, read through /api/v1/alerts', () => {
    for (const rule of rules.filter((r) => r.alert)) {
      const name = rule.alert ?? '';
      const fires = FIRING_IN_SCENARIO.has(name);
      it(`${name} ${fires ? 'reaches pending or firing' : 'stays inactive'}`, async () => {
        const active = async () => (await prometheus.alerts()).filter((a) => a.labels['alertname'] === name);
        if (!fires) {
          const alerts = await active();
          observed.push(`alert ${name}: ${alerts.map((a) => a.state).join(', ') || 'inactive'}`);
          assert.deepEqual(alerts, [], `${name} is active in a scenario that should not set it off`);
          return;
        }
        const alerts = await eventually(
          `${name} to be pending or firing`,
          async () => {
            const a = await active();
            const ours = NAMESPACED.has(name) ? a.filter((x) => x.labels['namespace'] === ns) : a;
            return ours.some((x) => x.state === 'pending' || x.state === 'firing') ? ours : undefined;
          },
          { timeoutMs: 20_000, intervalMs: 500 },
        ).catch((err: unknown) => {
          observed.push(`alert ${name}: inactive`);
          throw err;
        });
        observed.push(`alert ${name}: ${alerts.map((a) => a.state).join(', ')}`);
        assert.ok(alerts.every((a) => a.labels['severity']));
      });
    }
  });
});
