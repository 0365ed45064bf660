// One Kubernetes release for the Pod Security Standards port, the test control plane
// and the docs: the port (PSS_PORT_RELEASE), hack/tools/kube/go.mod (k8s.io/kubernetes and
// its pod-security-admission twin), docs/rules.md, the message generator's go.mod, the
// fixtures' ORIGIN.md and the newest fixture directory must agree, so none moves alone.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  PSS_PORT_MODULE_VERSION,
  PSS_PORT_RELEASE,
  newestPodSecurityPolicyMinor,
  podSecurityReleaseMinor,
} from '../../../../src/policy/pss/index.js';

const repoRoot = process.cwd();
const read = (...path: string[]): string => readFileSync(join(repoRoot, ...path), 'utf8');

type GoModDirective = { verb: string; args: string[] };

/** The require and replace lines of a go.mod, single-line or in blocks, comments removed. */
function goModDirectives(goMod: string): GoModDirective[] {
  const directives: GoModDirective[] = [];
  let block: string | undefined;
  for (const raw of goMod.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (line === '') continue;
    if (block !== undefined) {
      if (line === ')') block = undefined;
      else directives.push({ verb: block, args: line.split(/\s+/) });
      continue;
    }
    const opening = /^(\w+)\s*\($/.exec(line);
    if (opening) {
      block = opening[1];
      continue;
    }
    const [verb = '', ...args] = line.split(/\s+/);
    directives.push({ verb, args });
  }
  return directives;
}

/** The version the build uses for `module`: its replacement's if replaced by version, else the required one. */
function goModVersion(goMod: string, module: string): string | undefined {
  const directives = goModDirectives(goMod);
  for (const { verb, args } of directives) {
    const arrow = args.indexOf('=>');
    if (verb === 'replace' && args[0] === module && arrow > 0 && args.length === arrow + 3)
      return args[arrow + 2];
  }
  return directives.find(({ verb, args }) => verb === 'require' && args[0] === module)?.args[1];
}

/** 37 for v1.37.2 (k8s.io/kubernetes) and for v0.37.2 (its staging twins). */
function minorOf(version: string | undefined): number | undefined {
  const match = /^v[01]\.(\d+)\.\d+$/.exec(version ?? '');
  return match ? Number(match[1]) : undefined;
}

describe('Pod Security Standards port release', () => {
  const kubeGoMod = (): string => read('hack', 'tools', 'kube', 'go.mod');

  it('names the release as v1.<podSecurityReleaseMinor>, with no check newer than it', () => {
    assert.equal(PSS_PORT_RELEASE, `v1.${podSecurityReleaseMinor}`);
    assert.equal(minorOf(PSS_PORT_MODULE_VERSION), podSecurityReleaseMinor);
    assert.ok(newestPodSecurityPolicyMinor <= podSecurityReleaseMinor);
  });

  it('is the minor of the test control plane (k8s.io/kubernetes in hack/tools/kube/go.mod)', () => {
    const kubernetes = goModVersion(kubeGoMod(), 'k8s.io/kubernetes');
    assert.ok(kubernetes, 'hack/tools/kube/go.mod requires no k8s.io/kubernetes');
    assert.equal(
      minorOf(kubernetes),
      podSecurityReleaseMinor,
      `the control plane runs k8s.io/kubernetes ${kubernetes}, the PSS port matches ${PSS_PORT_RELEASE}`,
    );
  });

  it("is the minor of the control plane's own PodSecurity admission", () => {
    const admission = goModVersion(kubeGoMod(), 'k8s.io/pod-security-admission');
    assert.equal(
      minorOf(admission),
      podSecurityReleaseMinor,
      `the control plane builds k8s.io/pod-security-admission ${admission}`,
    );
  });

  it('is the release docs/rules.md names', () => {
    const rulesDoc = read('docs', 'rules.md');
    const named = [...rulesDoc.matchAll(/\bKubernetes (v1\.\d+)\b/g)].map((m) => m[1]);
    assert.ok(named.length > 0, 'docs/rules.md names no Kubernetes release');
    assert.deepEqual(new Set(named), new Set([PSS_PORT_RELEASE]));
    assert.ok(
      rulesDoc.includes(PSS_PORT_MODULE_VERSION),
      `docs/rules.md does not name ${PSS_PORT_MODULE_VERSION}`,
    );
  });

  it('is the module the expected messages are generated with, and the fixtures come from', () => {
    const generator = goModVersion(read('hack', 'pss-messages', 'go.mod'), 'k8s.io/pod-security-admission');
    assert.equal(generator, PSS_PORT_MODULE_VERSION);
    assert.ok(
      read('test', 'fixtures', 'pss', 'ORIGIN.md').includes(`at version **${PSS_PORT_MODULE_VERSION}**`),
      `test/fixtures/pss/ORIGIN.md does not name ${PSS_PORT_MODULE_VERSION}`,
    );
    for (const level of ['baseline', 'restricted']) {
      const minors = readdirSync(join(repoRoot, 'test', 'fixtures', 'pss', level))
        .map((name) => /^v1\.(\d+)$/.exec(name)?.[1])
        .filter((minor) => minor !== undefined)
        .map(Number);
      assert.equal(Math.max(...minors), podSecurityReleaseMinor, `newest ${level} fixtures`);
    }
  });
});
