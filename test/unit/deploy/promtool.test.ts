// The alert rules through Prometheus's own promtool: the rule file parses and
// its unit tests (shipshape.rules.test.yaml) pass, those tests feed series
// the operator really exports, and every alert has a test in which it fires.
// promtool comes from Debian's prometheus package (hack/install-system-deps.sh).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { seriesProblemsIn } from './known-metrics.js';
import { readYaml, repoPath } from './repo-files.js';

const run = promisify(execFile);

interface RuleTests {
  rule_files: string[];
  tests: {
    name: string;
    input_series: { series: string; values: string }[];
    alert_rule_test?: { eval_time: string; alertname: string; exp_alerts: unknown[] }[];
  }[];
}

const RULES = 'config/prometheus/rules/shipshape.rules.yaml';
const TESTS = 'config/prometheus/rules/shipshape.rules.test.yaml';

async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('promtool', args, { timeout: 30_000, cwd: repoPath('') });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error('promtool not found: run hack/install-system-deps.sh (Debian package prometheus)', {
        cause: err,
      });
    }
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('the alert rules under promtool', function () {
  this.timeout(60_000);
  const tests = readYaml<RuleTests>(TESTS);

  it('pass promtool check rules', async () => {
    const { code, output } = await promtool('check', 'rules', RULES);
    assert.equal(code, 0, output);
    assert.match(output, /SUCCESS: \d+ rules found/);
  });

  it('pass their promtool unit tests', async () => {
    const { code, output } = await promtool('test', 'rules', TESTS);
    assert.equal(code, 0, output);
    assert.match(output, /SUCCESS/);
  });

  it('are tested against the rule file itself', () => {
    assert.deepEqual(tests.rule_files, ['shipshape.rules.yaml']);
  });

  it('are tested with series the operator exports, by their labels and label values', () => {
    for (const t of tests.tests) {
      for (const { series } of t.input_series) {
        assert.deepEqual(seriesProblemsIn(series), [], `${t.name}: ${series}`);
      }
    }
  });

  it('have, for every alert, a test in which it fires and one in which it stays silent', () => {
    const alerts = readYaml<{ groups: { rules: { alert?: string }[] }[] }>(RULES)
      .groups.flatMap((g) => g.rules)
      .flatMap((r) => (r.alert ? [r.alert] : []));
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const alert of alerts) {
      const of = cases.filter((c) => c.alertname === alert);
      assert.ok(
        of.some((c) => c.exp_alerts.length > 0),
        `${alert}: no promtool test in which it fires`,
      );
      assert.ok(
        of.some((c) => c.exp_alerts.length === 0),
        `${alert}: no promtool test in which it stays silent`,
      );
    }
  });
});
