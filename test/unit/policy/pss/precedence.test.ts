// Pod-level vs container-level securityContext: which one decides, and who is blamed.
import assert from 'node:assert/strict';
import { evaluatePodSecurity } from '../../../../src/policy/pss/index.js';
import { restrictedContainer, restrictedPod } from './pods.js';

function violationsOf(
  check: string,
  pod: ReturnType<typeof restrictedPod>,
  level: 'baseline' | 'restricted' = 'restricted',
) {
  return evaluatePodSecurity(level, 'latest', pod).filter((v) => v.check === check);
}

describe('Pod Security Standards: runAsNonRoot precedence', () => {
  it('accepts runAsNonRoot=true on the pod for containers that do not set it', () => {
    assert.deepEqual(violationsOf('runAsNonRoot', restrictedPod()), []);
  });

  it('accepts a pod without the setting when every container sets runAsNonRoot=true', () => {
    const pod = restrictedPod({
      securityContext: { runAsNonRoot: undefined, seccompProfile: { type: 'RuntimeDefault' } },
      initContainers: [restrictedContainer('init', { securityContext: { runAsNonRoot: true } })],
      containers: [restrictedContainer('app', { securityContext: { runAsNonRoot: true } })],
    });
    assert.deepEqual(violationsOf('runAsNonRoot', pod), []);
  });

  it('lets a container override the pod with runAsNonRoot=false and blames the container', () => {
    const pod = restrictedPod({
      containers: [restrictedContainer('app', { securityContext: { runAsNonRoot: false } })],
    });
    assert.deepEqual(violationsOf('runAsNonRoot', pod), [
      {
        check: 'runAsNonRoot',
        level: 'restricted',
        reason: 'runAsNonRoot != true',
        detail: 'container "app" must not set securityContext.runAsNonRoot=false',
      },
    ]);
  });

  it('names the containers left without the setting when the pod does not set it', () => {
    const pod = restrictedPod({
      securityContext: { seccompProfile: { type: 'RuntimeDefault' }, runAsNonRoot: undefined },
      containers: [
        restrictedContainer('a', { securityContext: { runAsNonRoot: true } }),
        restrictedContainer('b'),
        restrictedContainer('c'),
      ],
    });
    assert.equal(
      violationsOf('runAsNonRoot', pod)[0]?.detail,
      'pod or containers "b", "c" must set securityContext.runAsNonRoot=true',
    );
  });

  it('still blames a pod that sets runAsNonRoot=false even when every container sets true', () => {
    const pod = restrictedPod({
      securityContext: { runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [restrictedContainer('app', { securityContext: { runAsNonRoot: true } })],
    });
    assert.equal(
      violationsOf('runAsNonRoot', pod)[0]?.detail,
      'pod must not set securityContext.runAsNonRoot=false',
    );
  });
});

describe('Pod Security Standards: seccompProfile precedence', () => {
  it('accepts a pod-level RuntimeDefault profile for containers that set none', () => {
    assert.deepEqual(violationsOf('seccompProfile_restricted', restrictedPod()), []);
  });

  it('accepts containers that each set Localhost when the pod sets nothing', () => {
    const localhost = { seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } };
    const pod = restrictedPod({
      securityContext: { runAsNonRoot: true, seccompProfile: undefined },
      containers: [restrictedContainer('app', { securityContext: localhost })],
    });
    assert.deepEqual(violationsOf('seccompProfile_restricted', pod), []);
  });

  it('blames a container that overrides the pod profile with Unconfined', () => {
    const pod = restrictedPod({
      containers: [
        restrictedContainer('app', { securityContext: { seccompProfile: { type: 'Unconfined' } } }),
      ],
    });
    assert.deepEqual(violationsOf('seccompProfile_restricted', pod), [
      {
        check: 'seccompProfile_restricted',
        level: 'restricted',
        reason: 'seccompProfile',
        detail: 'container "app" must not set securityContext.seccompProfile.type to "Unconfined"',
      },
    ]);
  });

  it('blames a pod-level Unconfined profile even when containers set their own', () => {
    const pod = restrictedPod({
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'Unconfined' } },
      containers: [
        restrictedContainer('app', { securityContext: { seccompProfile: { type: 'RuntimeDefault' } } }),
      ],
    });
    assert.equal(
      violationsOf('seccompProfile_restricted', pod)[0]?.detail,
      'pod must not set securityContext.seccompProfile.type to "Unconfined"',
    );
  });

  it('requires a profile at restricted but not at baseline', () => {
    const pod = restrictedPod({
      securityContext: { runAsNonRoot: true, seccompProfile: undefined },
      containers: [restrictedContainer('app')],
    });
    assert.equal(
      violationsOf('seccompProfile_restricted', pod)[0]?.detail,
      'pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
    );
    assert.deepEqual(evaluatePodSecurity('baseline', 'latest', pod), []);
  });

  it('forbids Unconfined at baseline through the baseline check', () => {
    const pod = restrictedPod({ securityContext: { seccompProfile: { type: 'Unconfined' } } });
    assert.deepEqual(
      evaluatePodSecurity('baseline', 'latest', pod).map((v) => [v.check, v.level]),
      [['seccompProfile_baseline', 'baseline']],
    );
  });
});
