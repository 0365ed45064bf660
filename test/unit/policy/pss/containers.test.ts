// Every container kind is checked: init, regular and ephemeral, named in that order.
import assert from 'node:assert/strict';
import { evaluatePodSecurity } from '../../../../src/policy/pss/index.js';
import { plainPod, restrictedContainer, restrictedPod } from './pods.js';

describe('Pod Security Standards: init and ephemeral containers', () => {
  it('forbids a privileged init container at baseline', () => {
    const pod = plainPod({ initContainers: [{ name: 'setup', securityContext: { privileged: true } }] });
    assert.deepEqual(evaluatePodSecurity('baseline', 'latest', pod), [
      {
        check: 'privileged',
        level: 'baseline',
        reason: 'privileged',
        detail: 'container "setup" must not set securityContext.privileged=true',
      },
    ]);
  });

  it('forbids a privileged ephemeral (debug) container at baseline', () => {
    const pod = plainPod({
      ephemeralContainers: [{ name: 'debugger', securityContext: { privileged: true } }],
    });
    assert.equal(
      evaluatePodSecurity('baseline', 'latest', pod)[0]?.detail,
      'container "debugger" must not set securityContext.privileged=true',
    );
  });

  it('requires restricted settings of ephemeral containers too', () => {
    const pod = restrictedPod({ ephemeralContainers: [{ name: 'debugger', image: 'busybox' }] });
    assert.deepEqual(
      evaluatePodSecurity('restricted', 'latest', pod).map((v) => v.detail),
      [
        'container "debugger" must set securityContext.allowPrivilegeEscalation=false',
        'container "debugger" must set securityContext.capabilities.drop=["ALL"]',
      ],
    );
  });

  it('names init, regular and ephemeral containers in that order', () => {
    const pod = plainPod({
      ephemeralContainers: [{ name: 'debug' }],
      containers: [{ name: 'app' }],
      initContainers: [{ name: 'init' }],
    });
    const violation = evaluatePodSecurity('restricted', 'latest', pod).find(
      (v) => v.check === 'allowPrivilegeEscalation',
    );
    assert.equal(
      violation?.detail,
      'containers "init", "app", "debug" must set securityContext.allowPrivilegeEscalation=false',
    );
  });

  it('leaves a fully restricted pod with restricted init containers alone', () => {
    const pod = restrictedPod({ initContainers: [restrictedContainer('init')] });
    assert.deepEqual(evaluatePodSecurity('restricted', 'latest', pod), []);
  });
});
