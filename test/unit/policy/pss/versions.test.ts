// Policy versions: checks and their revisions apply from the version Kubernetes gives
// them, and 'latest' (or any newer version) behaves like the newest revision.
import assert from 'node:assert/strict';
import { evaluatePodSecurity } from '../../../../src/policy/pss/index.js';
import { plainPod, restrictedContainer, restrictedPod } from './pods.js';

const checksAt = (level: 'baseline' | 'restricted', version: string, pod: ReturnType<typeof plainPod>) =>
  evaluatePodSecurity(level, version, pod).map((v) => v.check);

describe('Pod Security Standards: version differences', () => {
  it('requires drop ALL from v1.22; before, only the baseline capability list applies', () => {
    const pod = restrictedPod({
      containers: [{ name: 'app', securityContext: { allowPrivilegeEscalation: false } }],
    });
    assert.deepEqual(checksAt('restricted', 'v1.21', pod), []);
    assert.deepEqual(checksAt('restricted', 'v1.22', pod), ['capabilities_restricted']);
  });

  it('replaces capabilities_baseline by capabilities_restricted at restricted from v1.22', () => {
    const netRaw = { allowPrivilegeEscalation: false, capabilities: { add: ['NET_RAW'], drop: ['ALL'] } };
    const pod = restrictedPod({ containers: [{ name: 'app', securityContext: netRaw }] });
    assert.deepEqual(checksAt('restricted', 'v1.21', pod), ['capabilities_baseline']);
    assert.deepEqual(evaluatePodSecurity('restricted', 'v1.22', pod), [
      {
        check: 'capabilities_restricted',
        level: 'restricted',
        reason: 'unrestricted capabilities',
        detail: 'container "app" must not include "NET_RAW" in securityContext.capabilities.add',
      },
    ]);
    assert.deepEqual(checksAt('baseline', 'latest', pod), ['capabilities_baseline']);
  });

  it('checks seccomp annotations before v1.19 and securityContext fields from v1.19', () => {
    const annotated = plainPod();
    annotated.metadata = { annotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined' } };
    assert.deepEqual(evaluatePodSecurity('baseline', 'v1.18', annotated), [
      {
        check: 'seccompProfile_baseline',
        level: 'baseline',
        reason: 'seccompProfile',
        detail: 'forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined"',
      },
    ]);
    assert.deepEqual(evaluatePodSecurity('baseline', 'v1.19', annotated), []);

    const field = plainPod({ securityContext: { seccompProfile: { type: 'Unconfined' } } });
    assert.deepEqual(checksAt('baseline', 'v1.18', field), []);
    assert.deepEqual(checksAt('baseline', 'v1.19', field), ['seccompProfile_baseline']);
  });

  it('requires a seccomp profile at restricted only from v1.19', () => {
    const pod = restrictedPod({ securityContext: { runAsNonRoot: true, seccompProfile: undefined } });
    assert.deepEqual(checksAt('restricted', 'v1.18', pod), []);
    assert.deepEqual(checksAt('restricted', 'v1.19', pod), ['seccompProfile_restricted']);
  });

  it('forbids runAsUser=0 from v1.23', () => {
    const pod = restrictedPod({ securityContext: { runAsUser: 0 } });
    assert.deepEqual(checksAt('restricted', 'v1.22', pod), []);
    assert.deepEqual(
      evaluatePodSecurity('restricted', 'v1.23', pod)[0]?.detail,
      'pod must not set runAsUser=0',
    );
  });

  it('widens the safe sysctls over versions', () => {
    const pod = plainPod({
      securityContext: { sysctls: [{ name: 'net.ipv4.tcp_rmem', value: '4096 87380 6291456' }] },
    });
    assert.deepEqual(evaluatePodSecurity('baseline', 'v1.31', pod), [
      { check: 'sysctls', level: 'baseline', reason: 'forbidden sysctls', detail: 'net.ipv4.tcp_rmem' },
    ]);
    assert.deepEqual(evaluatePodSecurity('baseline', 'v1.32', pod), []);
  });

  it('allows tcp_slow_start_after_idle and tcp_notsent_lowat from v1.37', () => {
    const pod = plainPod({
      securityContext: {
        sysctls: [
          { name: 'net.ipv4.tcp_slow_start_after_idle', value: '0' },
          { name: 'net.ipv4.tcp_notsent_lowat', value: '16384' },
          { name: 'kernel.msgmax', value: '65536' },
        ],
      },
    });
    const forbidden = (version: string) => evaluatePodSecurity('baseline', version, pod)[0]?.detail;
    assert.equal(
      forbidden('v1.36'),
      'net.ipv4.tcp_slow_start_after_idle, net.ipv4.tcp_notsent_lowat, kernel.msgmax',
    );
    assert.equal(forbidden('v1.37'), 'kernel.msgmax');
    assert.equal(forbidden('latest'), 'kernel.msgmax');
  });

  it('allows the container_engine_t SELinux type from v1.31', () => {
    const pod = plainPod({ securityContext: { seLinuxOptions: { type: 'container_engine_t' } } });
    assert.deepEqual(
      evaluatePodSecurity('baseline', 'v1.30', pod)[0]?.detail,
      'pod set forbidden securityContext.seLinuxOptions: type "container_engine_t"',
    );
    assert.deepEqual(evaluatePodSecurity('baseline', 'v1.31', pod), []);
  });

  it('forbids probe and lifecycle hosts from v1.34', () => {
    const pod = plainPod({
      containers: [{ name: 'app', livenessProbe: { httpGet: { host: '10.0.0.1', port: 80 } } }],
    });
    assert.deepEqual(checksAt('baseline', 'v1.33', pod), []);
    assert.deepEqual(
      evaluatePodSecurity('baseline', 'v1.34', pod)[0]?.detail,
      'container "app" uses probe or lifecycle host "10.0.0.1"',
    );
  });

  it('relaxes root and procMount checks for user-namespaced pods from v1.35, except procMount at restricted', () => {
    const pod = restrictedPod({
      hostUsers: false,
      securityContext: { runAsNonRoot: false, runAsUser: 0 },
      containers: [restrictedContainer('app', { securityContext: { procMount: 'Unmasked' } })],
    });
    assert.deepEqual(checksAt('restricted', 'v1.34', pod), ['procMount', 'runAsNonRoot', 'runAsUser']);
    assert.deepEqual(checksAt('restricted', 'v1.35', pod), ['procMount_restricted']);
    assert.deepEqual(checksAt('baseline', 'v1.34', pod), ['procMount']);
    assert.deepEqual(checksAt('baseline', 'v1.35', pod), []);
  });

  it('treats latest and any version past the newest revision alike', () => {
    const pod = restrictedPod({
      hostUsers: false,
      containers: [restrictedContainer('app', { securityContext: { procMount: 'Unmasked' } })],
    });
    const latest = evaluatePodSecurity('restricted', 'latest', pod);
    assert.equal(latest.length, 1);
    assert.deepEqual(evaluatePodSecurity('restricted', 'v1.37', pod), latest);
    assert.deepEqual(evaluatePodSecurity('restricted', 'v1.38', pod), latest);
    assert.deepEqual(evaluatePodSecurity('restricted', 'v1.99', pod), latest);
  });

  it('requires only runAsNonRoot of a plain pod at restricted v1.0', () => {
    assert.deepEqual(checksAt('restricted', 'v1.0', plainPod()), ['runAsNonRoot']);
  });
});
