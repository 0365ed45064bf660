// One pod evaluated at several levels and versions with shared check verdicts (as
// policy evaluation does, so restricted does not rerun the baseline checks) must
// give exactly what evaluating each level and version alone gives.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { V1ObjectMeta, V1PodSpec } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { podSecurityViolations, type PodSecurityVerdicts } from '../../../../src/policy/pss/evaluate.js';
import { evaluatePodSecurity, type PodSecurityLevel } from '../../../../src/policy/pss/index.js';

type FixturePod = { metadata?: V1ObjectMeta; spec: V1PodSpec };

const fixtureRoot = join(process.cwd(), 'test', 'fixtures', 'pss');

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFilesUnder(path);
    return name.endsWith('.yaml') ? [path] : [];
  });
}

// Versions where check revisions change, so a verdict kept under the wrong revision shows.
const versions = ['v1.0', 'v1.8', 'v1.19', 'v1.22', 'v1.25', 'v1.33', 'v1.35', 'v1.36', 'latest'];
const levels: readonly PodSecurityLevel[] = ['restricted', 'baseline'];

describe('Pod Security Standards with shared verdicts', () => {
  const pods: FixturePod[] = yamlFilesUnder(fixtureRoot).map((path) => {
    const doc = parse(readFileSync(path, 'utf8')) as FixturePod;
    return { metadata: doc.metadata, spec: doc.spec };
  });

  it('finds Kubernetes fixture pods to compare on', () => {
    assert.ok(pods.length > 1000, `only ${pods.length} fixture pods`);
  });

  it('gives every level and version of a pod the violations it gives alone', () => {
    for (const pod of pods) {
      // Newest first, restricted first: the order that reuses the most verdicts.
      const verdicts: PodSecurityVerdicts = [];
      for (const version of [...versions].reverse()) {
        for (const level of levels) {
          assert.deepEqual(
            podSecurityViolations(level, version, pod, verdicts),
            evaluatePodSecurity(level, version, pod),
            `${level} ${version}`,
          );
        }
      }
    }
  });
});
