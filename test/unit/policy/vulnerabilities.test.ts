// Specification of the vulnerability rules: matched vulnerabilities (image facts) become one
// finding per vulnerability and container under vulnerabilities.<severity>, at or above the
// policy's severityThreshold; ignoreUnfixed, ignore entries (by id or alias, image globs, until
// their expiry), exceptions and OpenVEX not_affected/fixed statements take them out of the
// violations and into vulnerabilities.suppressed, which says why.
import assert from 'node:assert/strict';
import type { SecurityPolicySpec } from '../../../src/api/policy-types.js';
import { evaluateWorkload } from '../../../src/policy/evaluate.js';
import type {
  ImageFacts,
  ImageVulnerabilityFact,
  VexStatementFact,
} from '../../../src/policy/image-facts.js';
import { vexSourceKey } from '../../../src/policy/rules/vulnerabilities.js';
import { goodContainer, goodPodSpec, pod, policy } from './helpers.js';

const APP = 'registry.example.com/shop/app:1.0';
const DIGEST = `sha256:${'c'.repeat(64)}`;
const NOW = Date.parse('2026-06-01T00:00:00Z');

function vuln(id: string, level: string, fixed: string[] = ['3.0.2-1']) {
  return {
    id,
    aliases: [`DSA-${id.slice(-4)}-1`],
    severity: { level },
    package: { name: 'openssl', purl: 'pkg:deb/debian/libssl3@3.0.1-1?arch=amd64&distro=debian-12' },
    installedVersion: '3.0.1-1',
    fixedVersions: fixed,
    summary: `flaw ${id}`,
  } satisfies ImageVulnerabilityFact;
}

const FINDINGS: ImageVulnerabilityFact[] = [
  vuln('CVE-2026-0001', 'CRITICAL'),
  vuln('CVE-2026-0002', 'HIGH'),
  vuln('CVE-2026-0003', 'HIGH', []),
  vuln('CVE-2026-0004', 'MEDIUM'),
  vuln('CVE-2026-0005', 'LOW'),
];

function evaluate(
  spec: SecurityPolicySpec,
  facts: ImageFacts = { digest: DIGEST, vulnerabilityFindings: FINDINGS },
) {
  const podSpec = goodPodSpec({ containers: [goodContainer({ image: APP })] });
  return evaluateWorkload(pod(podSpec), [policy(spec)], new Map([[APP, facts]]), {
    now: new Date(NOW),
  }).filter((f) => f.category === 'vulnerabilities');
}

const violations = (spec: SecurityPolicySpec, facts?: ImageFacts) =>
  evaluate(spec, facts)
    .filter((f) => f.severity !== 'Info')
    .map((f) => `${f.ruleId} ${f.subject}`);
const suppressed = (spec: SecurityPolicySpec, facts?: ImageFacts) =>
  evaluate(spec, facts).filter((f) => f.ruleId === 'vulnerabilities.suppressed');

describe('vulnerability rules', () => {
  it('reports High and Critical by default, one finding per vulnerability named in its subject', () => {
    assert.deepEqual(violations({}), [
      'vulnerabilities.critical CVE-2026-0001',
      'vulnerabilities.high CVE-2026-0002',
      'vulnerabilities.high CVE-2026-0003',
    ]);
    const [critical] = evaluate({});
    assert.equal(critical?.severity, 'Critical');
    assert.equal(critical?.container, 'app');
    assert.match(
      critical?.message ?? '',
      /CVE-2026-0001 \(Critical\) in openssl 3\.0\.1-1, fixed in 3\.0\.2-1: flaw/,
    );
  });

  it('follows severityThreshold down to Low', () => {
    assert.equal(violations({ vulnerabilities: { severityThreshold: 'Low' } }).length, 5);
    assert.deepEqual(violations({ vulnerabilities: { severityThreshold: 'Critical' } }), [
      'vulnerabilities.critical CVE-2026-0001',
    ]);
  });

  it('says nothing while the vulnerabilities of the image are not known', () => {
    assert.deepEqual(evaluate({}, { digest: DIGEST }), []);
  });

  it('skips a vulnerability without a fix under ignoreUnfixed, and says so', () => {
    assert.deepEqual(violations({ vulnerabilities: { ignoreUnfixed: true } }), [
      'vulnerabilities.critical CVE-2026-0001',
      'vulnerabilities.high CVE-2026-0002',
    ]);
    const [s] = suppressed({ vulnerabilities: { ignoreUnfixed: true } });
    assert.equal(s?.subject, 'CVE-2026-0003');
    assert.equal(s?.severity, 'Info');
    assert.match(s?.message ?? '', /ignoreUnfixed/);
  });

  it('honours an ignore entry by id or alias until it expires', () => {
    const ignore = (id: string, expires: string, images?: string[]) => ({
      vulnerabilities: { ignore: [{ id, reason: 'not reachable', expires, ...(images ? { images } : {}) }] },
    });
    assert.ok(
      !violations(ignore('CVE-2026-0001', '2026-07-01T00:00:00Z')).includes(
        'vulnerabilities.critical CVE-2026-0001',
      ),
    );
    assert.ok(
      !violations(ignore('DSA-0002-1', '2026-07-01T00:00:00Z')).includes(
        'vulnerabilities.high CVE-2026-0002',
      ),
    );
    assert.match(
      suppressed(ignore('CVE-2026-0001', '2026-07-01T00:00:00Z'))[0]?.message ?? '',
      /ignored until 2026-07-01T00:00:00Z: not reachable/,
    );
    // Expired: it counts again.
    assert.ok(
      violations(ignore('CVE-2026-0001', '2026-05-01T00:00:00Z')).includes(
        'vulnerabilities.critical CVE-2026-0001',
      ),
    );
    // Narrowed to other images: it does not apply here.
    assert.ok(
      violations(ignore('CVE-2026-0001', '2026-07-01T00:00:00Z', ['registry.example.com/other/*'])).includes(
        'vulnerabilities.critical CVE-2026-0001',
      ),
    );
    assert.ok(
      !violations(ignore('CVE-2026-0001', '2026-07-01T00:00:00Z', ['registry.example.com/shop/*'])).includes(
        'vulnerabilities.critical CVE-2026-0001',
      ),
    );
  });

  it('honours a policy exception of a vulnerability rule for an image glob until it expires', () => {
    const exception = (expires: string) => ({
      exceptions: [
        {
          name: 'accept-highs',
          rules: ['vulnerabilities.high'],
          images: ['registry.example.com/shop/*'],
          reason: 'r',
          expires,
        },
      ],
    });
    assert.deepEqual(violations(exception('2026-07-01T00:00:00Z')), [
      'vulnerabilities.critical CVE-2026-0001',
    ]);
    assert.equal(violations(exception('2026-05-01T00:00:00Z')).length, 3);
  });

  describe('OpenVEX', () => {
    const ref = { name: 'vex', key: 'openvex.json', namespace: 'shop' };
    const spec: SecurityPolicySpec = { vulnerabilities: { vex: { configMapRef: ref } } };
    const key = vexSourceKey(ref, undefined);
    const statement = (over: Partial<VexStatementFact>): VexStatementFact => ({
      vulnerabilities: ['CVE-2026-0001'],
      products: [{ id: `pkg:oci/app@${encodeURIComponent(DIGEST)}`, subcomponents: [] }],
      status: 'not_affected',
      justification: 'vulnerable_code_not_in_execute_path',
      source: 'ConfigMap shop/vex key openvex.json',
      ...over,
    });
    const withVex = (...statements: VexStatementFact[]): ImageFacts => ({
      digest: DIGEST,
      vulnerabilityFindings: FINDINGS,
      vex: { [key]: statements },
    });

    it('suppresses a not_affected statement for the image digest and shows the justification', () => {
      assert.ok(!violations(spec, withVex(statement({}))).includes('vulnerabilities.critical CVE-2026-0001'));
      const [s] = suppressed(spec, withVex(statement({})));
      assert.equal(s?.subject, 'CVE-2026-0001');
      assert.match(
        s?.message ?? '',
        /VEX not_affected \(vulnerable_code_not_in_execute_path\) from ConfigMap shop\/vex/,
      );
    });

    it('suppresses a fixed statement for the package purl (any qualifiers), or a version-less purl', () => {
      const byPackage = statement({
        status: 'fixed',
        products: [{ id: 'pkg:deb/debian/libssl3@3.0.1-1', subcomponents: [] }],
      });
      assert.ok(!violations(spec, withVex(byPackage)).includes('vulnerabilities.critical CVE-2026-0001'));
      const anyVersion = statement({ products: [{ id: 'pkg:deb/debian/libssl3', subcomponents: [] }] });
      assert.ok(!violations(spec, withVex(anyVersion)).includes('vulnerabilities.critical CVE-2026-0001'));
    });

    it('needs the image and the subcomponent to match when both are named', () => {
      const other = statement({ products: [{ id: DIGEST, subcomponents: ['pkg:deb/debian/zlib1g'] }] });
      assert.ok(violations(spec, withVex(other)).includes('vulnerabilities.critical CVE-2026-0001'));
      const same = statement({ products: [{ id: DIGEST, subcomponents: ['pkg:deb/debian/libssl3'] }] });
      assert.ok(!violations(spec, withVex(same)).includes('vulnerabilities.critical CVE-2026-0001'));
    });

    it('ignores statements for other images, other flaws, and affected or under_investigation ones', () => {
      const elsewhere = statement({ products: [{ id: `sha256:${'d'.repeat(64)}`, subcomponents: [] }] });
      const otherFlaw = statement({ vulnerabilities: ['CVE-1999-0001'] });
      const affected = statement({ status: 'affected' });
      for (const s of [elsewhere, otherFlaw, affected])
        assert.ok(
          violations(spec, withVex(s)).includes('vulnerabilities.critical CVE-2026-0001'),
          JSON.stringify(s),
        );
    });

    it('lets the last statement win (not_affected, then affected again)', () => {
      assert.ok(
        violations(spec, withVex(statement({}), statement({ status: 'affected' }))).includes(
          'vulnerabilities.critical CVE-2026-0001',
        ),
      );
    });

    it('uses only the statements of the ConfigMap the policy names', () => {
      const facts: ImageFacts = {
        digest: DIGEST,
        vulnerabilityFindings: FINDINGS,
        vex: { 'other/vex/x': [statement({})] },
      };
      assert.ok(violations(spec, facts).includes('vulnerabilities.critical CVE-2026-0001'));
    });
  });
});
