// Conformance with Kubernetes' own PodSecurity fixtures (test/fixtures/pss, copied from
// k8s.io/pod-security-admission v0.37.2): every pass pod yields no violation at its level
// and version; every fail pod yields one from the check its file is named after (or, at
// restricted, from the restricted check that replaces that baseline check), and the
// reasons and details are exactly the ones Kubernetes' evaluator printed for it
// (forbidden-messages.json, see ORIGIN.md).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1ObjectMeta, V1PodSpec } from '@kubernetes/client-node';
import { parse } from 'yaml';
import {
  evaluatePodSecurity,
  podSecurityCheckList,
  type PodSecurityLevel,
} from '../../../../src/policy/pss/index.js';

const fixtureRoot = join(process.cwd(), 'test', 'fixtures', 'pss');
const levels: readonly PodSecurityLevel[] = ['baseline', 'restricted'];

type ForbiddenMessage = { reason: string; detail: string };
/** Keyed by fixture path relative to fixtureRoot, e.g. 'baseline/v1.37/fail/privileged0.yaml'. */
const kubernetesMessages = JSON.parse(
  readFileSync(join(fixtureRoot, 'forbidden-messages.json'), 'utf8'),
) as Record<string, ForbiddenMessage[]>;

type FixturePod = { metadata?: V1ObjectMeta; spec: V1PodSpec };

function loadPod(path: string): FixturePod {
  const doc = parse(readFileSync(path, 'utf8')) as {
    kind?: string;
    metadata?: V1ObjectMeta;
    spec?: V1PodSpec;
  };
  assert.equal(doc.kind, 'Pod', `${path} is not a Pod`);
  assert.ok(doc.spec, `${path} has no spec`);
  return { metadata: doc.metadata, spec: doc.spec };
}

function fixtureVersions(level: PodSecurityLevel): string[] {
  return readdirSync(join(fixtureRoot, level))
    .filter((name) => /^v1\.\d+$/.test(name))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
}

function yamlFiles(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .sort()
    : [];
}

// Fixture files are named <lower-cased check id><index>.yaml.
const checkIdByFileStem = new Map(podSecurityCheckList.map((c) => [c.id.toLowerCase(), c.id]));
const overridersOf = (id: string): string[] =>
  podSecurityCheckList.filter((c) => c.overrides.includes(id)).map((c) => c.id);

function expectedChecks(file: string, level: PodSecurityLevel): string[] {
  const checkId = checkIdByFileStem.get(file.replace(/\d*\.yaml$/, ''));
  assert.ok(checkId, `no check known for fixture ${file}`);
  return level === 'restricted' ? [checkId, ...overridersOf(checkId)] : [checkId];
}

function defineFixtureSuite(level: PodSecurityLevel, dirVersion: string, evaluateAs: string): void {
  const dir = join(fixtureRoot, level, dirVersion);
  describe(`${level} ${evaluateAs} (fixtures ${level}/${dirVersion})`, () => {
    for (const file of yamlFiles(join(dir, 'pass'))) {
      it(`allows pass/${file}`, () => {
        const violations = evaluatePodSecurity(level, evaluateAs, loadPod(join(dir, 'pass', file)));
        assert.deepEqual(violations, []);
      });
    }
    for (const file of yamlFiles(join(dir, 'fail'))) {
      it(`forbids fail/${file}`, () => {
        const violations = evaluatePodSecurity(level, evaluateAs, loadPod(join(dir, 'fail', file)));
        assert.ok(violations.length > 0, 'expected at least one violation');
        const expected = expectedChecks(file, level);
        assert.ok(
          violations.some((v) => expected.includes(v.check)),
          `expected a violation of ${expected.join(' or ')}, got ${JSON.stringify(violations)}`,
        );
        const messages = kubernetesMessages[`${level}/${dirVersion}/fail/${file}`];
        assert.ok(messages, `no Kubernetes messages recorded for ${file}`);
        assert.deepEqual(
          violations.map(({ reason, detail }) => ({ reason, detail })),
          messages,
        );
      });
    }
  });
}

describe('Pod Security Standards conformance with Kubernetes fixtures', () => {
  it('finds the fixture tree', () => {
    for (const level of levels)
      assert.ok(fixtureVersions(level).length > 30, `fixtures for ${level} missing`);
  });

  it('has Kubernetes messages for exactly the fail fixtures, so none is skipped or stale', () => {
    const failFixtures = levels.flatMap((level) =>
      fixtureVersions(level).flatMap((version) =>
        yamlFiles(join(fixtureRoot, level, version, 'fail')).map((f) => `${level}/${version}/fail/${f}`),
      ),
    );
    assert.deepEqual(failFixtures.toSorted(), Object.keys(kubernetesMessages).toSorted());
  });

  for (const level of levels) {
    const versions = fixtureVersions(level);
    const newest = versions.at(-1);
    // 'latest' must behave like the newest published fixture version.
    if (newest !== undefined) defineFixtureSuite(level, newest, 'latest');
    for (const version of versions) defineFixtureSuite(level, version, version);
  }
});
