// The public surface: version parsing, the check list, and what the evaluator refuses.
import assert from 'node:assert/strict';
import {
  evaluatePodSecurity,
  newestPodSecurityPolicyMinor,
  parsePodSecurityVersion,
  podSecurityCheckList,
  type PodSecurityLevel,
} from '../../../../src/policy/pss/index.js';
import { plainPod } from './pods.js';

describe('parsePodSecurityVersion', () => {
  it('accepts latest and v1.N', () => {
    assert.deepEqual(parsePodSecurityVersion('latest'), { latest: true });
    assert.deepEqual(parsePodSecurityVersion('v1.0'), { latest: false, minor: 0 });
    assert.deepEqual(parsePodSecurityVersion('v1.35'), { latest: false, minor: 35 });
  });

  for (const bad of [
    '',
    'Latest',
    '1.25',
    'v1.025',
    'v1.25.0',
    'v2.0',
    'v1.',
    'v1.x',
    ' v1.25',
    'v1.99999999999999999999',
  ]) {
    it(`rejects ${JSON.stringify(bad)} with a message naming the value`, () => {
      assert.throws(
        () => parsePodSecurityVersion(bad),
        (err: Error) =>
          err.message.includes(JSON.stringify(bad)) && err.message.includes('must be "latest" or "v1.x"'),
      );
    });
  }
});

describe('evaluatePodSecurity input checks', () => {
  it('throws on an invalid version', () => {
    assert.throws(() => evaluatePodSecurity('baseline', 'v1.2.3', plainPod()), /must be "latest" or "v1.x"/);
  });

  it('throws on a level other than baseline or restricted', () => {
    assert.throws(
      () => evaluatePodSecurity('privileged' as PodSecurityLevel, 'latest', plainPod()),
      /invalid .* level/,
    );
  });

  it('accepts a pod without metadata', () => {
    assert.deepEqual(
      evaluatePodSecurity('baseline', 'latest', { spec: { containers: [{ name: 'a' }] } }),
      [],
    );
  });
});

describe('podSecurityCheckList', () => {
  const byId = new Map(podSecurityCheckList.map((c) => [c.id, c]));

  it('lists the 19 checks of Kubernetes 1.37 with their levels', () => {
    assert.equal(podSecurityCheckList.length, 19);
    assert.equal(podSecurityCheckList.filter((c) => c.level === 'baseline').length, 12);
    assert.equal(byId.get('hostNamespaces')?.level, 'baseline');
    assert.equal(byId.get('runAsNonRoot')?.level, 'restricted');
  });

  it('gives the first version and revisions of each check', () => {
    assert.equal(byId.get('runAsUser')?.minimumVersion, 'v1.23');
    assert.equal(byId.get('hostProbesAndHostLifecycle')?.minimumVersion, 'v1.34');
    assert.deepEqual(byId.get('sysctls')?.revisions, ['v1.0', 'v1.27', 'v1.29', 'v1.32', 'v1.37']);
  });

  it('records which baseline checks the restricted ones replace', () => {
    assert.deepEqual(byId.get('restrictedVolumes')?.overrides, ['hostPathVolumes']);
    assert.deepEqual(byId.get('capabilities_restricted')?.overrides, ['capabilities_baseline']);
    assert.deepEqual(byId.get('seccompProfile_restricted')?.overrides, ['seccompProfile_baseline']);
    assert.deepEqual(byId.get('procMount_restricted')?.overrides, ['procMount']);
  });

  it('evaluates latest as policy v1.37, the newest version with a behaviour change', () => {
    assert.equal(newestPodSecurityPolicyMinor, 37);
  });
});

describe('evaluatePodSecurity reporting', () => {
  it('reports baseline checks first, each under its own level, in Kubernetes order', () => {
    const pod = plainPod({
      hostPID: true,
      volumes: [{ name: 'root', hostPath: { path: '/' } }],
      containers: [{ name: 'app', ports: [{ containerPort: 80, hostPort: 80 }] }],
    });
    assert.deepEqual(
      evaluatePodSecurity('restricted', 'latest', pod).map((v) => `${v.level}/${v.check}`),
      [
        'baseline/hostNamespaces',
        'baseline/hostPorts',
        'restricted/allowPrivilegeEscalation',
        'restricted/capabilities_restricted',
        'restricted/restrictedVolumes',
        'restricted/runAsNonRoot',
        'restricted/seccompProfile_restricted',
      ],
    );
  });
});
