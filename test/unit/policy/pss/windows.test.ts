// Windows pods (spec.os.name: windows) are exempt from the Linux-only restricted checks
// from policy v1.25, but not from the rest.
import assert from 'node:assert/strict';
import { evaluatePodSecurity } from '../../../../src/policy/pss/index.js';
import { plainPod } from './pods.js';

const windowsPod = (extra: Parameters<typeof plainPod>[0] = {}) =>
  plainPod({ os: { name: 'windows' }, securityContext: { runAsNonRoot: true }, ...extra });

describe('Pod Security Standards: Windows pods', () => {
  it('pass restricted at latest without allowPrivilegeEscalation, capabilities or seccomp', () => {
    assert.deepEqual(evaluatePodSecurity('restricted', 'latest', windowsPod()), []);
    assert.deepEqual(evaluatePodSecurity('restricted', 'v1.25', windowsPod()), []);
  });

  it('are not exempt before v1.25', () => {
    assert.deepEqual(
      evaluatePodSecurity('restricted', 'v1.24', windowsPod()).map((v) => v.check),
      ['allowPrivilegeEscalation', 'capabilities_restricted', 'seccompProfile_restricted'],
    );
  });

  it('must still run as non-root', () => {
    const pod = windowsPod({ securityContext: {} });
    assert.deepEqual(
      evaluatePodSecurity('restricted', 'latest', pod).map((v) => v.check),
      ['runAsNonRoot'],
    );
  });

  it('are not exempt when the os is linux or unset', () => {
    const linux = plainPod({ os: { name: 'linux' }, securityContext: { runAsNonRoot: true } });
    assert.equal(evaluatePodSecurity('restricted', 'latest', linux).length, 3);
  });

  it('may not be HostProcess pods, at baseline already', () => {
    const pod = windowsPod({ securityContext: { windowsOptions: { hostProcess: true } }, hostNetwork: true });
    assert.deepEqual(evaluatePodSecurity('baseline', 'latest', pod), [
      { check: 'hostNamespaces', level: 'baseline', reason: 'host namespaces', detail: 'hostNetwork=true' },
      {
        check: 'windowsHostProcess',
        level: 'baseline',
        reason: 'hostProcess',
        detail: 'pod must not set securityContext.windowsOptions.hostProcess=true',
      },
    ]);
  });
});
