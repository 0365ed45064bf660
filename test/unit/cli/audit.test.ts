// `shipshape audit` as a CI pipeline runs it: manifests in, findings out, and
// an exit code that fails the build at --fail-on.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { runAudit } from '../../../src/cli/audit.js';

const ROOT = join(import.meta.dirname, '../../../..');
const BAD = join(ROOT, 'test/fixtures/bad-workloads');

async function audit(args: string[], stdinText = ''): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await runAudit(args, { stdout, stderr, stdin: Readable.from([stdinText]) });
  return { code, out, err };
}

function tempFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-audit-'));
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('shipshape audit', () => {
  it('reports the findings of a directory of bad manifests and exits 1', async () => {
    const { code, out } = await audit(['-f', BAD]);
    assert.equal(code, 1);
    assert.match(out, /Deployment shop\/web \(.*deployment-root-latest\.yaml:2\)/);
    assert.match(out, /CronJob shop\/backup/);
    assert.match(out, /Pod ops\/debug \(.*pods\.json:1\)/);
    for (const rule of [
      'image.tag',
      'secrets.envLiteral',
      'pss.privileged',
      'pss.hostNamespaces',
      'pss.runAsUser',
      'resources.limits',
    ])
      assert.ok(out.includes(rule), rule);
  });

  it('never prints the value of a credential', async () => {
    const { out } = await audit(['-f', BAD, '-o', 'json']);
    assert.ok(out.includes('DB_PASSWORD'));
    assert.ok(!out.includes('s3cr3t-do-not-print'));
  });

  it('finds the sample workload compliant under the sample policies', async () => {
    const { code, out } = await audit(['-f', join(ROOT, 'config/samples')]);
    assert.equal(code, 0, out);
    assert.match(out, /Deployment default\/hello .*: compliant/);
  });

  it('exits 0 when no finding reaches --fail-on', async () => {
    const pod =
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: nginx}]\n';
    const { code } = await audit(
      ['-f', '-', '--fail-on', 'critical', '--policy', tempFile('p.yaml', policyYaml('{}'))],
      pod,
    );
    assert.equal(code, 0);
    assert.equal((await audit(['-f', '-', '--fail-on', 'medium'], pod)).code, 1);
  });

  it('applies the given policy instead of the default', async () => {
    const policy = tempFile(
      'policy.yaml',
      policyYaml('{rules: {disabled: [image.tag, probes.liveness, probes.readiness]}}'),
    );
    const pod =
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: nginx}]\n';
    const { out } = await audit(['-f', '-', '--policy', policy, '-o', 'json'], pod);
    const ids = (JSON.parse(out) as { workloads: { findings: { ruleId: string; policy: string }[] }[] })
      .workloads[0]!.findings;
    assert.ok(!ids.some((f) => f.ruleId === 'image.tag'));
    assert.ok(ids.some((f) => f.ruleId === 'securityContext.runAsNonRoot'));
    assert.ok(ids.every((f) => f.policy === 'ci'));
  });

  it('writes SARIF 2.1.0 with a rule for every result and the manifest line', async () => {
    const { out } = await audit(['-f', BAD, '-o', 'sarif']);
    const sarif = JSON.parse(out) as {
      version: string;
      runs: {
        tool: { driver: { rules: { id: string }[] } };
        results: {
          ruleId: string;
          level: string;
          locations: { physicalLocation: { region: { startLine: number } } }[];
        }[];
      }[];
    };
    assert.equal(sarif.version, '2.1.0');
    const run = sarif.runs[0]!;
    const ruleIds = new Set(run.tool.driver.rules.map((r) => r.id));
    assert.ok(run.results.length > 10);
    for (const r of run.results) {
      assert.ok(ruleIds.has(r.ruleId), r.ruleId);
      assert.ok(['error', 'warning', 'note'].includes(r.level));
      assert.ok(r.locations[0]!.physicalLocation.region.startLine >= 1);
    }
  });

  it('names the file and line of unparseable YAML, without a stack trace', async () => {
    const file = tempFile('broken.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n');
    const { code, err } = await audit(['-f', file]);
    assert.equal(code, 2);
    assert.match(err, /broken\.yaml:\d+:\d+: cannot parse YAML/);
    assert.doesNotMatch(err, /\n\s+at /);
  });

  it('names the field of an invalid policy file', async () => {
    const policy = tempFile('bad-policy.yaml', policyYaml('{enforcement: Block}'));
    const { code, err } = await audit(['-f', BAD, '--policy', policy]);
    assert.equal(code, 2);
    assert.match(
      err,
      /bad-policy\.yaml:1: ClusterSecurityPolicy ci: spec\.enforcement: Unsupported value: "Block"/,
    );
  });

  it('refuses unknown flags and output formats', async () => {
    assert.equal((await audit(['-f', BAD, '-o', 'xml'])).code, 2);
    assert.equal((await audit(['--bogus'])).code, 2);
    assert.equal((await audit(['-f', join(ROOT, 'no-such-dir')])).code, 2);
  });
});

function policyYaml(spec: string): string {
  return `apiVersion: shipshape.dev/v1alpha1\nkind: ClusterSecurityPolicy\nmetadata: {name: ci}\nspec: ${spec}\n`;
}
