// Table-driven specification of every best-practice rule: a pass and a fail
// case each, init and ephemeral containers, and pod vs container precedence.
import assert from 'node:assert/strict';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import type { PolicyRules } from '../../../src/api/policy-types.js';
import { RULES } from '../../../src/policy/rules/catalog.js';
import { signatureRules } from '../../../src/policy/rules/signatures.js';
import { vulnerabilityRules } from '../../../src/policy/rules/vulnerabilities.js';
import { imageConfigRules } from '../../../src/policy/rules/image-config.js';
import { looksLikeCredential } from '../../../src/policy/rules/secrets.js';
import { findingsOf, goodContainer, goodPodSpec } from './helpers.js';

interface Case {
  it: string;
  spec: V1PodSpec;
  rules?: PolicyRules;
  annotations?: Record<string, string>;
  /** Containers expected in findings ('' for a pod-level finding); empty: compliant. */
  expect: string[];
  /** A fragment every finding message must contain. */
  message?: string;
}

const c = (overrides: Partial<V1Container>): V1Container => goodContainer(overrides);
const withContainer = (overrides: Partial<V1Container>, pod: Partial<V1PodSpec> = {}): V1PodSpec =>
  goodPodSpec({ containers: [c(overrides)], ...pod });
const sc = (securityContext: V1Container['securityContext']) => ({
  securityContext: { ...goodContainer().securityContext, ...securityContext },
});

const TABLE: Record<string, Case[]> = {
  'image.tag': [
    { it: 'passes a versioned tag', spec: goodPodSpec(), expect: [] },
    {
      it: 'fails an image without a tag',
      spec: withContainer({ image: 'nginx' }),
      expect: ['app'],
      message: 'without a tag',
    },
    {
      it: 'fails the latest tag',
      spec: withContainer({ image: 'nginx:latest' }),
      expect: ['app'],
      message: 'latest',
    },
    {
      it: 'passes latest pinned by digest',
      spec: withContainer({ image: `nginx:latest@sha256:${'a'.repeat(64)}` }),
      expect: [],
    },
    {
      it: 'checks init containers',
      spec: goodPodSpec({ initContainers: [c({ name: 'setup', image: 'busybox' })] }),
      expect: ['setup'],
      message: 'init container "setup"',
    },
    {
      it: 'checks ephemeral containers',
      spec: goodPodSpec({ ephemeralContainers: [{ name: 'debug', image: 'busybox:latest' }] }),
      expect: ['debug'],
      message: 'ephemeral container "debug"',
    },
  ],
  'image.digest': [
    {
      it: 'passes a digest',
      spec: withContainer({ image: `ghcr.io/x/y@sha256:${'b'.repeat(64)}` }),
      expect: [],
    },
    { it: 'fails a tag only', spec: goodPodSpec(), expect: ['app'], message: 'without a digest' },
  ],
  'image.registry': [
    { it: 'is inactive without registry lists', spec: withContainer({ image: 'evil.io/x:1' }), expect: [] },
    {
      it: 'passes an allowed registry host',
      spec: goodPodSpec(),
      rules: { image: { allowedRegistries: ['ghcr.io'] } },
      expect: [],
    },
    {
      it: 'fails a registry outside the allowed list',
      spec: withContainer({ image: 'quay.io/x/y:1' }),
      rules: { image: { allowedRegistries: ['ghcr.io', '*.example.com'] } },
      expect: ['app'],
      message: 'not in the allowed registries',
    },
    {
      it: 'matches registry/repository globs',
      spec: withContainer({ image: 'ghcr.io/other/y:1' }),
      rules: { image: { allowedRegistries: ['ghcr.io/example/**'] } },
      expect: ['app'],
    },
    {
      it: 'fails a denied registry, with Docker Hub names normalized',
      spec: withContainer({ image: 'nginx:1.27' }),
      rules: { image: { deniedRegistries: ['docker.io'] } },
      expect: ['app'],
      message: 'which is denied',
    },
  ],
  'image.pullPolicy': [
    { it: 'passes Always', spec: withContainer({ imagePullPolicy: 'Always' }), expect: [] },
    {
      it: 'fails the IfNotPresent default of a versioned tag',
      spec: goodPodSpec(),
      expect: ['app'],
      message: 'IfNotPresent',
    },
    {
      it: 'uses the policy’s required value',
      spec: goodPodSpec(),
      rules: { image: { requiredPullPolicy: 'IfNotPresent' } },
      expect: [],
    },
  ],
  'image.pullSecrets': [
    {
      it: 'fails a private registry image without pull secrets',
      spec: goodPodSpec(),
      rules: { image: { privateRegistries: ['ghcr.io'] } },
      expect: ['app'],
      message: 'no imagePullSecrets',
    },
    {
      it: 'passes with pull secrets',
      spec: goodPodSpec({ imagePullSecrets: [{ name: 'ghcr' }] }),
      rules: { image: { privateRegistries: ['ghcr.io'] } },
      expect: [],
    },
  ],
  'securityContext.runAsNonRoot': [
    { it: 'passes runAsNonRoot on the pod', spec: goodPodSpec(), expect: [] },
    {
      it: 'fails when neither pod nor container sets it',
      spec: goodPodSpec({ securityContext: {} }),
      expect: ['app'],
      message: 'does not set runAsNonRoot',
    },
    {
      it: 'lets the container setting override the pod setting',
      spec: withContainer(sc({ runAsNonRoot: false })),
      expect: ['app'],
      message: 'runAsNonRoot: false',
    },
    {
      it: 'accepts a non-zero runAsUser instead',
      spec: withContainer(sc({ runAsUser: 1000 }), { securityContext: {} }),
      expect: [],
    },
    {
      it: 'checks init containers against the pod setting',
      spec: goodPodSpec({
        securityContext: {},
        initContainers: [c({ name: 'init', ...sc({ runAsNonRoot: true }) })],
      }),
      expect: ['app'],
    },
  ],
  'securityContext.runAsUser': [
    { it: 'passes when unset', spec: goodPodSpec(), expect: [] },
    {
      it: 'fails runAsUser 0 on the pod',
      spec: goodPodSpec({ securityContext: { runAsNonRoot: true, runAsUser: 0 } }),
      expect: ['app'],
      message: 'runAsUser: 0',
    },
    {
      it: 'lets a container user override pod user 0',
      spec: withContainer(sc({ runAsUser: 1000 }), { securityContext: { runAsUser: 0 } }),
      expect: [],
    },
  ],
  'securityContext.readOnlyRootFilesystem': [
    { it: 'passes true', spec: goodPodSpec(), expect: [] },
    { it: 'fails unset', spec: withContainer({ securityContext: {} }), expect: ['app'] },
  ],
  'securityContext.allowPrivilegeEscalation': [
    { it: 'passes false', spec: goodPodSpec(), expect: [] },
    {
      it: 'fails unset',
      spec: withContainer({ securityContext: {} }),
      expect: ['app'],
      message: 'does not set',
    },
    {
      it: 'fails true',
      spec: withContainer(sc({ allowPrivilegeEscalation: true })),
      expect: ['app'],
      message: ': true',
    },
  ],
  'securityContext.capabilitiesDropAll': [
    { it: 'passes drop ALL', spec: goodPodSpec(), expect: [] },
    {
      it: 'fails a partial drop',
      spec: withContainer(sc({ capabilities: { drop: ['NET_RAW'] } })),
      expect: ['app'],
    },
  ],
  'securityContext.capabilitiesAdd': [
    {
      it: 'passes adding an unlisted capability',
      spec: withContainer(sc({ capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } })),
      expect: [],
    },
    {
      it: 'fails a default-forbidden capability, with or without CAP_',
      spec: withContainer(sc({ capabilities: { drop: ['ALL'], add: ['CAP_SYS_ADMIN'] } })),
      expect: ['app'],
      message: '"CAP_SYS_ADMIN"',
    },
    {
      it: 'fails anything outside allowedCapabilities',
      spec: withContainer(sc({ capabilities: { drop: ['ALL'], add: ['CHOWN'] } })),
      rules: { securityContext: { allowedCapabilities: ['NET_BIND_SERVICE'] } },
      expect: ['app'],
    },
  ],
  'securityContext.privileged': [
    { it: 'passes unprivileged', spec: goodPodSpec(), expect: [] },
    {
      it: 'fails a privileged init container',
      spec: goodPodSpec({ initContainers: [c({ name: 'init', ...sc({ privileged: true }) })] }),
      expect: ['init'],
    },
  ],
  'securityContext.hostNamespaces': [
    { it: 'passes a pod without host namespaces', spec: goodPodSpec(), expect: [] },
    {
      it: 'fails hostNetwork and hostPID',
      spec: goodPodSpec({ hostNetwork: true, hostPID: true }),
      expect: [''],
      message: 'hostNetwork: true, hostPID: true',
    },
  ],
  'securityContext.hostPath': [
    { it: 'passes emptyDir', spec: goodPodSpec({ volumes: [{ name: 'tmp', emptyDir: {} }] }), expect: [] },
    {
      it: 'fails a hostPath volume',
      spec: goodPodSpec({ volumes: [{ name: 'sock', hostPath: { path: '/var/run/docker.sock' } }] }),
      expect: [''],
      message: '"/var/run/docker.sock"',
    },
    {
      it: 'passes an allowed host path glob',
      spec: goodPodSpec({ volumes: [{ name: 'logs', hostPath: { path: '/var/log/pods' } }] }),
      rules: { securityContext: { allowedHostPaths: ['/var/log/**'] } },
      expect: [],
    },
  ],
  'securityContext.hostPorts': [
    { it: 'passes container ports', spec: withContainer({ ports: [{ containerPort: 80 }] }), expect: [] },
    {
      it: 'fails a host port',
      spec: withContainer({ ports: [{ containerPort: 80, hostPort: 80 }] }),
      expect: ['app'],
      message: '80',
    },
    {
      it: 'passes an allowed host port',
      spec: withContainer({ ports: [{ containerPort: 80, hostPort: 8443 }] }),
      rules: { securityContext: { allowedHostPorts: [8443] } },
      expect: [],
    },
  ],
  'securityContext.seccomp': [
    { it: 'passes RuntimeDefault on the pod', spec: goodPodSpec(), expect: [] },
    {
      it: 'fails when none is set',
      spec: goodPodSpec({ securityContext: { runAsNonRoot: true } }),
      expect: ['app'],
    },
    {
      it: 'lets a container Unconfined override the pod',
      spec: withContainer(sc({ seccompProfile: { type: 'Unconfined' } })),
      expect: ['app'],
      message: 'Unconfined',
    },
    {
      it: 'lets a container Localhost fill in for the pod',
      spec: withContainer(sc({ seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } }), {
        securityContext: { runAsNonRoot: true },
      }),
      expect: [],
    },
  ],
  'securityContext.appArmor': [
    { it: 'passes the default', spec: goodPodSpec(), expect: [] },
    {
      it: 'fails an Unconfined field',
      spec: withContainer(sc({ appArmorProfile: { type: 'Unconfined' } })),
      expect: ['app'],
    },
    {
      it: 'fails the legacy unconfined annotation',
      spec: goodPodSpec(),
      annotations: { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' },
      expect: ['app'],
    },
  ],
  'securityContext.procMount': [
    { it: 'passes Default', spec: withContainer(sc({ procMount: 'Default' })), expect: [] },
    { it: 'fails Unmasked', spec: withContainer(sc({ procMount: 'Unmasked' })), expect: ['app'] },
  ],
  'securityContext.sysctls': [
    {
      it: 'passes a safe sysctl',
      spec: goodPodSpec({
        securityContext: { runAsNonRoot: true, sysctls: [{ name: 'net.ipv4.tcp_syncookies', value: '1' }] },
      }),
      expect: [],
    },
    {
      it: 'fails an unsafe sysctl',
      spec: goodPodSpec({
        securityContext: { runAsNonRoot: true, sysctls: [{ name: 'kernel.msgmax', value: '1' }] },
      }),
      expect: [''],
      message: 'kernel.msgmax',
    },
    {
      it: 'passes a sysctl the policy allows',
      spec: goodPodSpec({
        securityContext: { runAsNonRoot: true, sysctls: [{ name: 'net.core.somaxconn', value: '1' }] },
      }),
      rules: { securityContext: { allowedSysctls: ['net.core.*'] } },
      expect: [],
    },
  ],
  'securityContext.seLinux': [
    {
      it: 'passes container_t',
      spec: withContainer(sc({ seLinuxOptions: { type: 'container_t', level: 's0:c1' } })),
      expect: [],
    },
    {
      it: 'fails a custom type on the pod',
      spec: goodPodSpec({ securityContext: { seLinuxOptions: { type: 'spc_t' } } }),
      expect: ['app'],
    },
    {
      it: 'fails a user',
      spec: withContainer(sc({ seLinuxOptions: { user: 'system_u' } })),
      expect: ['app'],
    },
  ],
  'resources.requests': [
    { it: 'passes cpu and memory', spec: goodPodSpec(), expect: [] },
    {
      it: 'fails a container without requests',
      spec: withContainer({ resources: {} }),
      expect: ['app'],
      message: 'cpu, memory',
    },
    {
      it: 'checks init containers but not ephemeral ones',
      spec: goodPodSpec({
        initContainers: [c({ name: 'init', resources: {} })],
        ephemeralContainers: [{ name: 'debug', image: 'busybox:1' }],
      }),
      expect: ['init'],
    },
    {
      it: 'asks only for the configured resources',
      spec: withContainer({ resources: { requests: { memory: '1Gi' } } }),
      rules: { resources: { requests: ['memory'] } },
      expect: [],
    },
  ],
  'resources.limits': [
    { it: 'passes a memory limit', spec: goodPodSpec(), expect: [] },
    {
      it: 'fails a missing cpu limit when required',
      spec: goodPodSpec(),
      rules: { resources: { limits: ['cpu', 'memory'] } },
      expect: ['app'],
      message: 'limits for cpu',
    },
  ],
  'probes.liveness': [
    { it: 'passes a probe', spec: goodPodSpec(), expect: [] },
    { it: 'fails a missing probe', spec: withContainer({ livenessProbe: undefined }), expect: ['app'] },
    {
      it: 'skips init containers but checks sidecars',
      spec: goodPodSpec({
        initContainers: [
          c({ name: 'init', livenessProbe: undefined }),
          c({ name: 'proxy', restartPolicy: 'Always', livenessProbe: undefined }),
        ],
      }),
      expect: ['proxy'],
    },
    {
      it: 'skips batch pods',
      spec: withContainer({ livenessProbe: undefined }, { restartPolicy: 'OnFailure' }),
      expect: [],
    },
  ],
  'probes.readiness': [
    { it: 'passes a probe', spec: goodPodSpec(), expect: [] },
    { it: 'fails a missing probe', spec: withContainer({ readinessProbe: undefined }), expect: ['app'] },
  ],
  'secrets.envLiteral': [
    {
      it: 'passes a secretKeyRef',
      spec: withContainer({
        env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
      }),
      expect: [],
    },
    {
      it: 'fails a literal password and never echoes it',
      spec: withContainer({ env: [{ name: 'DB_PASSWORD', value: 'hunter2-very-secret' }] }),
      expect: ['app'],
      message: '"DB_PASSWORD"',
    },
    {
      it: 'fails a well-known token format under any name',
      spec: withContainer({ env: [{ name: 'SETTING', value: 'AKIAIOSFODNN7EXAMPLE' }] }),
      expect: ['app'],
    },
    {
      it: 'passes names that reference a credential',
      spec: withContainer({
        env: [
          { name: 'PASSWORD_FILE', value: '/run/secrets/db' },
          { name: 'TOKEN_URL', value: 'https://x/token' },
        ],
      }),
      expect: [],
    },
    {
      it: 'uses the policy’s extra name patterns',
      spec: withContainer({ env: [{ name: 'STRIPE_WEBHOOK', value: 'whsec_abcdefghijkl' }] }),
      rules: { secrets: { credentialNamePatterns: ['^stripe_'] } },
      expect: ['app'],
    },
  ],
  'secrets.mountPath': [
    {
      it: 'is inactive without forbidden paths',
      spec: withContainer(
        { volumeMounts: [{ name: 's', mountPath: '/usr/share/nginx/html' }] },
        { volumes: [{ name: 's', secret: { secretName: 'tls' } }] },
      ),
      expect: [],
    },
    {
      it: 'fails a secret mounted under a forbidden path',
      spec: withContainer(
        { volumeMounts: [{ name: 's', mountPath: '/usr/share/nginx/html/certs' }] },
        { volumes: [{ name: 's', secret: { secretName: 'tls' } }] },
      ),
      rules: { secrets: { forbiddenMountPaths: ['/usr/share/nginx/html'] } },
      expect: ['app'],
      message: '"tls"',
    },
    {
      it: 'passes a config map at the same path',
      spec: withContainer(
        { volumeMounts: [{ name: 's', mountPath: '/usr/share/nginx/html' }] },
        { volumes: [{ name: 's', configMap: { name: 'site' } }] },
      ),
      rules: { secrets: { forbiddenMountPaths: ['/usr/share/nginx/html'] } },
      expect: [],
    },
  ],
  'secrets.envFrom': [
    { it: 'passes no secret env', spec: goodPodSpec(), expect: [] },
    {
      it: 'fails envFrom a secret',
      spec: withContainer({ envFrom: [{ secretRef: { name: 'db' } }] }),
      expect: ['app'],
    },
  ],
};

describe('rule catalog', () => {
  it('has a table of cases for every rule', () => {
    // Rules that read image facts have their own tables (image-config, signatures, vulnerabilities tests).
    const elsewhere = new Set(
      [...imageConfigRules, ...signatureRules, ...vulnerabilityRules].map((r) => r.id),
    );
    assert.deepEqual(
      RULES.map((r) => r.id).filter((id) => !(id in TABLE) && !elsewhere.has(id)),
      [],
    );
  });

  it('gives every rule a unique id, a title, a description and a remediation', () => {
    assert.equal(new Set(RULES.map((r) => r.id)).size, RULES.length);
    for (const r of RULES) {
      assert.match(r.id, new RegExp(`^${r.category}\\.[a-zA-Z]+$`));
      assert.ok(r.title && r.description && r.remediation, r.id);
    }
  });

  for (const [ruleId, cases] of Object.entries(TABLE)) {
    describe(ruleId, () => {
      it('has a passing and a failing case', () => {
        assert.ok(cases.some((k) => k.expect.length === 0));
        assert.ok(cases.some((k) => k.expect.length > 0));
      });
      for (const k of cases) {
        it(k.it, () => {
          const findings = findingsOf(ruleId, k.spec, k.rules, k.annotations);
          assert.deepEqual(
            findings.map((f) => f.container ?? ''),
            k.expect,
            findings.map((f) => f.message).join('; '),
          );
          for (const f of findings) {
            if (k.message)
              assert.ok(f.message.includes(k.message), `${f.message} should include ${k.message}`);
            if (f.container) assert.ok(f.message.includes(`"${f.container}"`), 'message names the container');
          }
        });
      }
    });
  }
});

describe('credential heuristics', () => {
  it('never puts the value into the finding', () => {
    const findings = findingsOf(
      'secrets.envLiteral',
      withContainer({ env: [{ name: 'API_KEY', value: 'zz-top-secret-42' }] }),
    );
    assert.equal(findings.length, 1);
    assert.ok(!JSON.stringify(findings).includes('zz-top-secret-42'));
  });

  it('treats camelCase and snake_case names alike', () => {
    assert.ok(looksLikeCredential('githubToken', 'abcdef123456'));
    assert.ok(looksLikeCredential('aws_secret_access_key', 'abcdef123456'));
    assert.ok(looksLikeCredential('CLIENT_SECRET', 'abcdef123456'));
  });

  it('ignores placeholders, booleans, ports and references', () => {
    assert.ok(!looksLikeCredential('PASSWORD', ''));
    assert.ok(!looksLikeCredential('TOKEN_ENABLED', 'abc123def'));
    assert.ok(!looksLikeCredential('AUTH_TOKEN', '$(TOKEN_FROM_SECRET)'));
    assert.ok(!looksLikeCredential('DB_PASSWORD', 'false'));
    assert.ok(!looksLikeCredential('PASSPORT_NUMBER', 'abc123def'));
  });
});
