// Acceptance of issue 9, item 2, through `shipshape audit` in-process: a
// tenant's SecurityPolicy with a catastrophic credential-name pattern and a
// 24-star image glob, against the tenant's pod with a 60-character image and a
// 41-character env name, beside other workloads and a cluster policy. With
// backtracking regular expressions this never finishes; it must finish, and
// report the tenant's pod under both policies.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { runAudit } from '../../../src/cli/audit.js';

const ROOT = join(import.meta.dirname, '../../../..');
const HOSTILE_IMAGE = `ghcr.io/${'a'.repeat(52)}`;
const HOSTILE_GLOB = `ghcr.io/${'*a'.repeat(24)}:1`;
const HOSTILE_ENV_NAME = `${'a'.repeat(40)}_`;
/** A hang guard only: the audit takes milliseconds; the backtracking engine took longer than anyone waits. */
const HANG_GUARD_MS = 5000;

const POLICIES = `apiVersion: shipshape.dev/v1alpha1
kind: ClusterSecurityPolicy
metadata: {name: baseline}
spec: {}
---
apiVersion: shipshape.dev/v1alpha1
kind: SecurityPolicy
metadata: {name: hostile, namespace: tenant}
spec:
  match:
    images: ['${HOSTILE_GLOB}', '**']
  rules:
    image:
      allowedRegistries: ['${HOSTILE_GLOB}', ghcr.io]
    secrets:
      credentialNamePatterns: ['^(a|aa)+$']
  exceptions:
    - {name: hostile, rules: [image.tag], images: ['${HOSTILE_GLOB}'], reason: test, expires: '2099-01-01T00:00:00Z'}
`;

const TENANT_POD = `apiVersion: v1
kind: Pod
metadata: {name: hostile, namespace: tenant}
spec:
  containers:
    - name: app
      image: ${HOSTILE_IMAGE}
      env:
        - {name: ${HOSTILE_ENV_NAME}, value: not-a-secret-value}
`;

interface AuditJson {
  workloads: { name: string; namespace: string; findings: { ruleId: string; policy: string }[] }[];
}

describe('shipshape audit with a hostile tenant policy', () => {
  it('finishes, and evaluates the tenant pod under both policies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-hostile-'));
    writeFileSync(join(dir, 'policies.yaml'), POLICIES);
    writeFileSync(join(dir, 'pod.yaml'), TENANT_POD);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    const start = performance.now();
    const code = await runAudit(
      [
        '-f',
        join(dir, 'pod.yaml'),
        '-f',
        join(ROOT, 'test/fixtures/bad-workloads'),
        '--policy',
        join(dir, 'policies.yaml'),
        '-o',
        'json',
      ],
      { stdout, stderr, stdin: Readable.from(['']) },
    );
    const ms = performance.now() - start;
    console.log(`      shipshape audit took ${ms.toFixed(0)} ms`);
    assert.ok(ms < HANG_GUARD_MS, `${ms} ms`);
    assert.equal(code, 1, err);
    assert.equal(err, '', 'the hostile policy compiles without problems');
    const report = JSON.parse(out) as AuditJson;
    const tenant = report.workloads.find((w) => w.namespace === 'tenant' && w.name === 'hostile');
    assert.ok(tenant, out);
    const byPolicy = (name: string) => tenant.findings.filter((f) => f.policy === name).map((f) => f.ruleId);
    // The hostile glob matches nothing, so the exception does not cover the untagged image.
    assert.ok(byPolicy('tenant/hostile').includes('image.tag'), JSON.stringify(tenant.findings));
    assert.ok(!byPolicy('tenant/hostile').includes('image.registry'));
    // The catastrophic pattern does not match the 41-character name.
    assert.ok(!tenant.findings.some((f) => f.ruleId === 'secrets.envLiteral'));
    assert.ok(byPolicy('baseline').length > 0);
    assert.ok(report.workloads.length > 1, 'the other workloads are audited too');
  });
});
