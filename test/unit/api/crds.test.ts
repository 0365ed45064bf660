// The CRDs as the API server will see them: complete descriptions, bounds for
// CEL costing, samples that fit the schema, and generated files in sync.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  crdDocuments,
  crdManifests,
  CRON_REGEX,
  IMAGE_GLOB_REGEX,
  RULE_ID_REGEX,
  policySpecSchema,
  validateAgainstSchema,
  type JSONSchema,
  type SecurityPolicy,
} from '../../../src/api/index.js';
import { RULES } from '../../../src/policy/rules/catalog.js';

const ROOT = join(import.meta.dirname, '../../../..');

function walk(schema: JSONSchema, path: string, visit: (s: JSONSchema, path: string) => void): void {
  visit(schema, path);
  for (const [name, child] of Object.entries(schema.properties ?? {})) walk(child, `${path}.${name}`, visit);
  if (schema.items) walk(schema.items, `${path}[*]`, visit);
  if (typeof schema.additionalProperties === 'object') walk(schema.additionalProperties, `${path}.*`, visit);
}

function yamlObjects(dir: string): { file: string; object: Record<string, unknown> }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => ({
        file,
        object: d.toJS() as Record<string, unknown>,
      })),
    );
}

describe('shipshape.dev CRDs', () => {
  const docs = crdDocuments();

  it('defines the four kinds with their scopes', () => {
    assert.deepEqual(
      docs.map((d) => `${d.spec.names.kind}:${d.spec.scope}`),
      [
        'SecurityPolicy:Namespaced',
        'ClusterSecurityPolicy:Cluster',
        'SecurityReport:Namespaced',
        'ImageReport:Cluster',
      ],
    );
  });

  it('describes every field, so kubectl explain is useful', () => {
    for (const doc of docs) {
      const root = doc.spec.versions[0]!.schema.openAPIV3Schema;
      walk(root, doc.spec.names.kind, (s, path) => {
        if (path.endsWith('.metadata')) return;
        assert.ok(s.description && s.description.length > 3, `${path} has no description`);
      });
    }
  });

  it('bounds every string and list, so CEL rules can be costed', () => {
    for (const doc of docs) {
      walk(doc.spec.versions[0]!.schema.openAPIV3Schema, doc.spec.names.kind, (s, path) => {
        if (/\.(apiVersion|kind)$/.test(path)) return;
        if (s.type === 'string')
          assert.ok(s.maxLength || s.enum || s.format === 'date-time', `${path} is unbounded`);
        if (s.type === 'array') assert.ok(s.maxItems, `${path} has no maxItems`);
      });
    }
  });

  it('gives every CEL rule a message that names a field', () => {
    for (const doc of docs) {
      walk(doc.spec.versions[0]!.schema.openAPIV3Schema, doc.spec.names.kind, (s, path) => {
        for (const rule of s['x-kubernetes-validations'] ?? []) {
          assert.match(rule.message ?? '', /(spec\.|matchExpressions)/, `${path}: ${rule.rule}`);
          assert.equal(
            (rule.rule.match(/\(/g) ?? []).length,
            (rule.rule.match(/\)/g) ?? []).length,
            rule.rule,
          );
          assert.equal((rule.rule.match(/'/g) ?? []).length % 2, 0, rule.rule);
        }
      });
    }
  });

  it('shows workload, compliance and counts by severity in kubectl get securityreports', () => {
    const report = docs.find((d) => d.spec.names.kind === 'SecurityReport')!;
    assert.deepEqual(
      report.spec.versions[0]!.additionalPrinterColumns.map((c) => c.name),
      ['Kind', 'Workload', 'Compliant', 'Signed', 'Critical', 'High', 'Medium', 'Low', 'Info', 'Age'],
    );
  });

  it('renames wire keys for the client models', () => {
    const model = crdManifests()[0]!.spec.versions[0]!.schema!.openAPIV3Schema!;
    const enforcement = model.properties!.spec!.properties!.enforcement!;
    assert.equal(enforcement._default, 'Audit');
    assert.deepEqual(enforcement._enum, ['Audit', 'Warn', 'Enforce']);
    assert.ok(model.properties!.spec!.properties!.rules!.x_kubernetes_validations!.length > 0);
  });

  it('keeps list item schemas in wire form, which the client sends verbatim', () => {
    const model = crdManifests()[0]!.spec.versions[0]!.schema!.openAPIV3Schema!;
    const requests = model.properties!.spec!.properties!.rules!.properties!.resources!.properties!.requests!;
    assert.deepEqual((requests.items as JSONSchema).enum, ['cpu', 'memory', 'ephemeral-storage']);
    assert.equal(requests._default !== undefined, true);
  });

  it('matches the checked-in crds/ files', () => {
    execFileSync(process.execPath, [join(ROOT, 'dist/hack/gen-crds.js'), '--check'], { stdio: 'pipe' });
  });
});

describe('policy schema', () => {
  it('accepts every sample under config/samples', () => {
    for (const { file, object } of yamlObjects(join(ROOT, 'config/samples'))) {
      if (object.kind !== 'SecurityPolicy' && object.kind !== 'ClusterSecurityPolicy') continue;
      const problems = validateAgainstSchema(
        policySpecSchema(object.kind === 'ClusterSecurityPolicy'),
        object.spec,
        'spec',
      );
      assert.deepEqual(problems, [], file);
    }
  });

  it('accepts an object typed with the SecurityPolicy interface', () => {
    const policy: SecurityPolicy = {
      apiVersion: 'shipshape.dev/v1alpha1',
      kind: 'SecurityPolicy',
      metadata: { name: 'p', namespace: 'n' },
      spec: {
        enforcement: 'Enforce',
        match: { podSelector: { matchLabels: { app: 'x' } }, kinds: ['Deployment'], images: ['ghcr.io/**'] },
        podSecurity: { level: 'restricted', version: 'v1.33' },
        rules: {
          enabled: ['image.digest'],
          severityOverrides: [{ rule: 'image.tag', severity: 'Critical' }],
          image: { allowedRegistries: ['ghcr.io'], requiredPullPolicy: 'Always' },
          securityContext: { allowedHostPorts: [443], allowedSysctls: ['net.core.somaxconn'] },
          resources: { requests: ['cpu'], limits: ['memory'] },
          secrets: { credentialNamePatterns: ['^x_'], forbiddenMountPaths: ['/srv/**'] },
        },
        exceptions: [{ name: 'e', rules: ['pss.*'], reason: 'r', expires: '2030-01-01T00:00:00Z' }],
        vulnerabilities: {
          severityThreshold: 'High',
          ignoreUnfixed: true,
          ignore: [{ id: 'CVE-2024-1', reason: 'r', expires: '2030-01-01T00:00:00Z' }],
        },
        signatures: {
          required: true,
          attestors: [{ name: 'k', keyless: { issuer: 'https://i', subject: 's' } }],
        },
        rescan: { schedule: '*/15 * * * *' },
      },
    };
    assert.deepEqual(validateAgainstSchema(policySpecSchema(false), policy.spec, 'spec'), []);
  });

  it('refuses, locally too, the structural mistakes among the bad policies', () => {
    const bad = yamlObjects(join(ROOT, 'test/fixtures/bad-policies'));
    assert.ok(bad.length >= 15, `only ${bad.length} bad policies`);
    let refusedLocally = 0;
    for (const { file, object } of bad) {
      const expected = (object.metadata as { annotations?: Record<string, string> }).annotations?.[
        'shipshape.dev/expect-error'
      ];
      assert.ok(expected?.startsWith('spec.'), `${file} names the field it expects in the error`);
      const problems = validateAgainstSchema(
        policySpecSchema(object.kind === 'ClusterSecurityPolicy'),
        object.spec,
        'spec',
      );
      if (problems.length > 0) {
        refusedLocally++;
        assert.ok(
          problems.some((p) => p.message.includes(expected!)),
          `${file}: ${problems.map((p) => p.message).join('; ')}`,
        );
      }
    }
    assert.ok(refusedLocally >= 8);
  });
});

describe('CEL and pattern regexes', () => {
  const re = (source: string) => new RegExp(source);

  it('accepts five-field cron expressions and nothing else', () => {
    for (const ok of ['0 */6 * * *', '30 2 * * 1-5', '0 0 1 JAN,JUL MON', '*/5 * ? * *', '0 0 L * *'])
      assert.match(ok, re(CRON_REGEX), ok);
    for (const bad of ['every hour', '0 * * *', '0 * * * * *', '', '0  * * * *', '@hourly'])
      assert.doesNotMatch(bad, re(CRON_REGEX), bad);
  });

  it('accepts image globs and refuses brackets, spaces and empties', () => {
    for (const ok of ['nginx', 'ghcr.io/org/**', '*.example.com', 'registry:5000/x/y:1.*', 'x@sha256:abc'])
      assert.match(ok, re(IMAGE_GLOB_REGEX), ok);
    for (const bad of ['', 'nginx:[1.2', 'registry example.com', 'a{b,c}'])
      assert.doesNotMatch(bad, re(IMAGE_GLOB_REGEX), bad);
  });

  it('accepts every catalog rule id and PSS check ids', () => {
    for (const r of RULES) assert.match(r.id, re(RULE_ID_REGEX));
    for (const id of ['pss.capabilities_baseline', 'pss.runAsNonRoot']) assert.match(id, re(RULE_ID_REGEX));
    for (const bad of ['Image Tag', 'foo.bar', 'image.', 'image.tag.x'])
      assert.doesNotMatch(bad, re(RULE_ID_REGEX));
  });
});
