// The kustomize tree under config/: what the operator is allowed to do, how its
// pods run, and how the optional parts fit the names config/default gives.
// These read the source YAML; test/e2e/deploy.test.ts renders it and has a
// real API server judge it.
import assert from 'node:assert/strict';
import type {
  V1ClusterRole,
  V1Deployment,
  V1Namespace,
  V1NetworkPolicy,
  V1PolicyRule,
  V1Role,
  V1Service,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { operatorUsage } from '../../../src/cli/operator.js';
import { evaluatePodSecurity } from '../../../src/policy/pss/index.js';
import { parseDocument, type YAMLSeq } from 'yaml';
import { readRepoFile, readYaml, readYamlDocuments } from './repo-files.js';

interface Kustomization {
  kind?: string;
  namespace?: string;
  namePrefix?: string;
  resources?: string[];
  components?: string[] | null;
  images?: { name: string; newName?: string; newTag?: string }[];
}

const defaults = readYaml<Kustomization>('config/default/kustomization.yaml');
const deployment = readYaml<V1Deployment>('config/manager/manager.yaml');
const podSpec = deployment.spec?.template.spec;
const manager = podSpec?.containers.find((c) => c.name === 'manager');

function bytes(quantity: string | undefined): number {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(quantity ?? '');
  if (!match) throw new Error(`unsupported memory quantity ${quantity}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[match[2] ?? ''] ?? 1;
  return Number(match[1]) * unit;
}

/** "group resource verb" triples a set of rules grants. */
function grants(rules: V1PolicyRule[] | undefined): string[] {
  return (rules ?? [])
    .flatMap((r) =>
      (r.apiGroups ?? []).flatMap((g) =>
        (r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${g || 'core'} ${res} ${v}`)),
      ),
    )
    .sort();
}

describe('config/default', () => {
  it('puts everything in shipshape-system with the shipshape- prefix', () => {
    assert.equal(defaults.namespace, 'shipshape-system');
    assert.equal(defaults.namePrefix, 'shipshape-');
  });

  it('composes the crd, rbac and manager bases, and the CRDs come from crds/', () => {
    assert.deepEqual(defaults.resources, ['../crd', '../rbac', '../manager']);
    assert.deepEqual(readYaml<Kustomization>('config/crd/kustomization.yaml').resources, ['../../crds']);
  });

  it('offers webhook, certmanager, prometheus, grafana and priority as components', () => {
    for (const component of ['webhook', 'certmanager', 'prometheus', 'grafana', 'priority']) {
      const k = readYaml<Kustomization>(`config/${component}/kustomization.yaml`);
      assert.equal(k.kind, 'Component', `config/${component} is not a kustomize Component`);
    }
  });
});

describe('the operator namespace', () => {
  it('enforces the restricted Pod Security Standard', () => {
    const namespace = readYaml<V1Namespace>('config/manager/namespace.yaml');
    const labels = namespace.metadata?.labels ?? {};
    assert.equal(labels['pod-security.kubernetes.io/enforce'], 'restricted');
    assert.equal(labels['pod-security.kubernetes.io/warn'], 'restricted');
  });
});

describe('the manager Deployment', () => {
  it('runs two replicas for leader election and never drops below them in a rollout', () => {
    assert.equal(deployment.spec?.replicas, 2);
    assert.equal(deployment.spec?.strategy?.rollingUpdate?.maxUnavailable, 0);
  });

  it('passes Pod Security Standards restricted, as Shipshape itself evaluates them', () => {
    assert.ok(podSpec);
    const violations = evaluatePodSecurity('restricted', 'latest', {
      metadata: deployment.spec?.template.metadata,
      spec: podSpec,
    });
    assert.deepEqual(violations, []);
  });

  it('is non-root 65532 with a read-only root filesystem, no escalation and no capabilities', () => {
    assert.equal(podSpec?.securityContext?.runAsNonRoot, true);
    assert.equal(podSpec?.securityContext?.runAsUser, 65532);
    assert.equal(podSpec?.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    const sc = manager?.securityContext;
    assert.equal(sc?.readOnlyRootFilesystem, true);
    assert.equal(sc?.allowPrivilegeEscalation, false);
    assert.deepEqual(sc?.capabilities?.drop, ['ALL']);
    assert.equal(sc?.capabilities?.add, undefined);
  });

  it('mounts its service account token, which the operator needs to reach the API server', () => {
    assert.equal(podSpec?.automountServiceAccountToken, true);
    assert.equal(podSpec?.serviceAccountName, 'controller-manager');
  });

  it('writes only to size-limited emptyDirs at /tmp and /var/cache/shipshape', () => {
    const mounts = Object.fromEntries((manager?.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
    assert.deepEqual(Object.keys(mounts).sort(), ['/tmp', '/var/cache/shipshape']);
    for (const name of Object.values(mounts)) {
      const volume = podSpec?.volumes?.find((v) => v.name === name);
      assert.ok(volume?.emptyDir?.sizeLimit, `volume ${name} is not a size-limited emptyDir`);
    }
  });

  it('has requests and limits, and caps the V8 heap at 75% of the memory limit', () => {
    const resources = manager?.resources;
    for (const key of ['cpu', 'memory']) {
      assert.ok(resources?.requests?.[key], `no ${key} request`);
      assert.ok(resources?.limits?.[key], `no ${key} limit`);
    }
    const nodeOptions = manager?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
    const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions)?.[1]);
    const limitMiB = bytes(resources?.limits?.memory) / 2 ** 20;
    assert.equal(heapMiB, Math.floor(limitMiB * 0.75), `heap ${heapMiB} MiB for a ${limitMiB} MiB limit`);
  });

  it('probes /healthz (liveness) and /readyz (readiness) on the health port 8081', () => {
    assert.equal(manager?.livenessProbe?.httpGet?.path, '/healthz');
    assert.equal(manager?.readinessProbe?.httpGet?.path, '/readyz');
    const health = manager?.ports?.find((p) => p.name === 'health');
    assert.equal(health?.containerPort, 8081);
    assert.equal(manager?.livenessProbe?.httpGet?.port, 'health');
    assert.equal(manager?.readinessProbe?.httpGet?.port, 'health');
    assert.equal(manager?.ports?.find((p) => p.name === 'metrics')?.containerPort, 8080);
  });

  it('passes only flags that `shipshape operator` accepts', () => {
    const [command, ...flags] = manager?.args ?? [];
    assert.equal(command, 'operator');
    for (const flag of flags) {
      const name = flag.split('=')[0] ?? '';
      assert.ok(operatorUsage.includes(`${name} `), `shipshape operator does not know ${name}`);
    }
    assert.ok(flags.includes('--metrics-bind-address=:8080'));
    assert.ok(flags.includes('--health-probe-bind-address=:8081'));
  });

  it('serves metrics over HTTPS with token authentication (--metrics-secure=true)', () => {
    assert.ok(manager?.args?.includes('--metrics-secure=true'));
  });

  it('spreads replicas over nodes and zones without making single-node clusters unschedulable', () => {
    const spread = podSpec?.topologySpreadConstraints ?? [];
    assert.deepEqual(spread.map((c) => c.topologyKey).sort(), [
      'kubernetes.io/hostname',
      'topology.kubernetes.io/zone',
    ]);
    for (const c of spread) assert.equal(c.whenUnsatisfiable, 'ScheduleAnyway');
  });

  it('uses the image shipshape:dev through the kustomize images transformer', () => {
    assert.equal(manager?.image, 'shipshape');
    const k = readYaml<Kustomization>('config/manager/kustomization.yaml');
    assert.deepEqual(k.images, [{ name: 'shipshape', newName: 'shipshape', newTag: 'dev' }]);
  });

  it('is covered by a PodDisruptionBudget selecting its pods', () => {
    const pdb = readYaml<{
      spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    }>('config/manager/pdb.yaml');
    assert.equal(pdb.spec.minAvailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, deployment.spec?.selector.matchLabels);
  });
});

describe('operator RBAC (least privilege)', () => {
  const role = readYaml<V1ClusterRole>('config/rbac/role.yaml');
  const granted = grants(role.rules);

  it('grants exactly the verbs the code uses: informers, by-name reads, writes, events and reviews', () => {
    const expected: string[] = [];
    const add = (group: string, resources: string[], verbs: string[]) =>
      resources.forEach((r) => verbs.forEach((v) => expected.push(`${group} ${r} ${v}`)));
    const informer = ['list', 'watch'];
    add('core', ['pods', 'namespaces', 'replicationcontrollers'], informer);
    add('apps', ['replicasets', 'deployments', 'statefulsets', 'daemonsets'], informer);
    add('batch', ['jobs', 'cronjobs'], informer);
    add('core', ['serviceaccounts', 'secrets', 'configmaps'], ['get']);
    add('shipshape.dev', ['securitypolicies', 'clustersecuritypolicies'], informer);
    add('shipshape.dev', ['securitypolicies/status', 'clustersecuritypolicies/status'], ['update']);
    add('shipshape.dev', ['securityreports'], [...informer, 'create', 'update']);
    add('shipshape.dev', ['imagereports'], ['get', 'create', 'update']);
    add('shipshape.dev', ['securityreports/status', 'imagereports/status'], ['update']);
    add('events.k8s.io', ['events'], ['create', 'patch']);
    add('authentication.k8s.io', ['tokenreviews'], ['create']);
    add('authorization.k8s.io', ['subjectaccessreviews'], ['create']);
    add(
      'admissionregistration.k8s.io',
      ['validatingadmissionpolicies', 'validatingadmissionpolicybindings'],
      [...informer, 'create', 'update', 'delete'],
    );
    assert.deepEqual(granted, expected.sort());
  });

  it('says in a comment why each rule is there (a comment leads every group of at most three rules)', () => {
    const document = parseDocument(readRepoFile('config/rbac/role.yaml'));
    const rules = document.get('rules', true) as YAMLSeq;
    let sinceComment = 0;
    for (const [i, item] of rules.items.entries()) {
      const comment =
        (item as { commentBefore?: string }).commentBefore ?? (i === 0 ? rules.commentBefore : undefined);
      sinceComment = comment?.trim() ? 0 : sinceComment + 1;
      assert.ok(
        sinceComment < 3,
        `rule ${i} (${JSON.stringify(rules.toJSON()[i])}) has no comment saying why`,
      );
    }
  });

  it('can get a pull secret by name but never list or watch secrets', () => {
    const secretVerbs = granted.filter((g) => g.startsWith('core secrets ')).map((g) => g.split(' ')[2]);
    assert.deepEqual(secretVerbs, ['get']);
  });

  it('has no wildcards and cannot modify any workload', () => {
    for (const rule of role.rules ?? []) {
      for (const field of [rule.apiGroups, rule.resources, rule.verbs]) assert.ok(!field?.includes('*'));
    }
    assert.ok(!granted.some((g) => /^(apps|batch|core) (?!events)\S+ (create|update|patch|delete)$/.test(g)));
  });

  it('holds its leader-election Lease through a namespaced Role, not a ClusterRole', () => {
    const lease = readYaml<V1Role>('config/rbac/leader_election_role.yaml');
    assert.equal(lease.kind, 'Role');
    assert.deepEqual(grants(lease.rules), [
      'coordination.k8s.io leases create',
      'coordination.k8s.io leases get',
      'coordination.k8s.io leases update',
    ]);
    assert.ok(!granted.some((g) => g.includes('leases')), 'the ClusterRole must not grant leases');
  });

  it('aggregates read access into view and policy editing into edit', () => {
    const viewer = readYaml<V1ClusterRole>('config/rbac/viewer_role.yaml');
    assert.equal(viewer.metadata?.name, 'viewer');
    assert.equal(viewer.metadata?.labels?.['rbac.authorization.k8s.io/aggregate-to-view'], 'true');
    assert.ok(
      grants(viewer.rules).every((g) => / (get|list|watch)$/.test(g)),
      'viewer can write',
    );
    const editor = readYaml<V1ClusterRole>('config/rbac/editor_role.yaml');
    assert.equal(editor.metadata?.name, 'editor');
    assert.equal(editor.metadata?.labels?.['rbac.authorization.k8s.io/aggregate-to-edit'], 'true');
    const edited = new Set(grants(editor.rules).map((g) => g.split(' ')[1]));
    assert.deepEqual([...edited], ['securitypolicies']);
  });
});

describe('metrics access', () => {
  const service = readYaml<V1Service>('config/manager/metrics_service.yaml');
  const monitor = readYaml<{
    spec: {
      endpoints: {
        port: string;
        scheme: string;
        bearerTokenFile?: string;
        tlsConfig?: { insecureSkipVerify?: boolean };
      }[];
    };
  }>('config/prometheus/monitor.yaml');

  it('names the metrics Service port https and points it at the manager metrics port', () => {
    const [port] = service.spec?.ports ?? [];
    assert.equal(port?.name, 'https');
    assert.equal(port?.targetPort, 'metrics');
    assert.equal(port?.port, manager?.ports?.find((p) => p.name === 'metrics')?.containerPort);
  });

  it('has the ServiceMonitor scrape that port over HTTPS with its ServiceAccount token', () => {
    const [endpoint] = monitor.spec.endpoints;
    assert.equal(endpoint?.port, service.spec?.ports?.[0]?.name);
    assert.equal(endpoint?.scheme, 'https');
    assert.equal(endpoint?.bearerTokenFile, '/var/run/secrets/kubernetes.io/serviceaccount/token');
    // The certificate is self-signed at start: there is no CA to verify against.
    assert.equal(endpoint?.tlsConfig?.insecureSkipVerify, true);
  });

  it('offers a metrics-reader ClusterRole that grants get on /metrics and nothing else', () => {
    const reader = readYaml<V1ClusterRole>('config/rbac/metrics_reader_role.yaml');
    assert.equal(reader.metadata?.name, 'metrics-reader');
    assert.deepEqual(reader.rules, [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }]);
    const k = readYaml<Kustomization>('config/rbac/kustomization.yaml');
    assert.ok(k.resources?.includes('metrics_reader_role.yaml'));
  });
});

describe('the operator NetworkPolicy', () => {
  const policy = readYaml<V1NetworkPolicy>('config/manager/network_policy.yaml');
  const ports = (rules: { ports?: { port?: number | string; protocol?: string }[] }[] | undefined) =>
    (rules ?? []).flatMap((r) => (r.ports ?? []).map((p) => `${p.port}/${p.protocol}`)).sort();

  it('is part of config/manager and selects exactly the manager pods, for ingress and egress', () => {
    assert.ok(
      readYaml<Kustomization>('config/manager/kustomization.yaml').resources?.includes('network_policy.yaml'),
    );
    assert.deepEqual(policy.spec?.podSelector?.matchLabels, deployment.spec?.selector.matchLabels);
    assert.deepEqual(policy.spec?.policyTypes, ['Ingress', 'Egress']);
  });

  it('admits traffic only to the metrics, probe and webhook ports, metrics only from labelled namespaces', () => {
    assert.deepEqual(ports(policy.spec?.ingress), ['8080/TCP', '8081/TCP', '9443/TCP']);
    const metrics = policy.spec?.ingress?.find((r) => r.ports?.some((p) => p.port === 8080));
    assert.deepEqual((metrics as { from?: unknown } | undefined)?.from, [
      { namespaceSelector: { matchLabels: { metrics: 'enabled' } } },
    ]);
    assert.equal(metrics?.ports?.length, 1);
    const patch = readYaml<V1Deployment>('config/webhook/manager_webhook_patch.yaml');
    const webhookPort = patch.spec?.template.spec?.containers[0]?.ports?.[0]?.containerPort;
    const containerPorts = [...(manager?.ports ?? []).map((p) => p.containerPort), webhookPort].sort();
    assert.deepEqual(containerPorts, [8080, 8081, 9443]);
  });

  it('lets the pods reach only DNS in kube-system and TCP 443/6443, never link-local (cloud metadata)', () => {
    assert.deepEqual(ports(policy.spec?.egress), ['443/TCP', '53/TCP', '53/UDP', '6443/TCP']);
    const dns = policy.spec?.egress?.find((r) => r.ports?.some((p) => p.port === 53));
    assert.deepEqual(dns?.to, [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } },
    ]);
    const tls = policy.spec?.egress?.find((r) => r.ports?.some((p) => p.port === 443));
    const blocks = (tls?.to ?? []).map((peer) => peer.ipBlock);
    assert.ok(
      blocks.every((b) => b !== undefined),
      'the 443/6443 rule must name addresses',
    );
    assert.ok(blocks.find((b) => b?.cidr === '0.0.0.0/0')?.except?.includes('169.254.0.0/16'));
    assert.ok(blocks.find((b) => b?.cidr === '::/0')?.except?.includes('fe80::/10'));
  });
});

describe('the webhook component', () => {
  const [configuration] = readYamlDocuments<V1ValidatingWebhookConfiguration>(
    'config/webhook/manifests.yaml',
  );
  const webhooks = configuration?.webhooks ?? [];

  it('fails open (failurePolicy Ignore) with a short timeout and no side effects', () => {
    assert.ok(webhooks.length > 0);
    for (const webhook of webhooks) {
      assert.equal(webhook.failurePolicy, 'Ignore');
      assert.equal(webhook.sideEffects, 'None');
      assert.ok((webhook.timeoutSeconds ?? 10) <= 5);
    }
  });

  it('never judges the control plane or the operator namespace config/default creates', () => {
    for (const webhook of webhooks) {
      const excluded = webhook.namespaceSelector?.matchExpressions?.find(
        (e) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn',
      )?.values;
      assert.ok(excluded?.includes('kube-system'));
      assert.ok(excluded?.includes(defaults.namespace ?? ''));
    }
  });

  it('serves HTTPS on 9443 with the certificate mounted where the server reads it', () => {
    const patch = readYaml<V1Deployment>('config/webhook/manager_webhook_patch.yaml');
    const container = patch.spec?.template.spec?.containers[0];
    assert.equal(container?.ports?.[0]?.containerPort, 9443);
    const mount = container?.volumeMounts?.[0];
    assert.equal(mount?.mountPath, '/tmp/k8s-webhook-server/serving-certs');
    assert.equal(mount?.readOnly, true);
    const volume = patch.spec?.template.spec?.volumes?.find((v) => v.name === mount?.name);
    assert.equal(volume?.secret?.secretName, 'webhook-server-cert');
  });

  it('gets its certificate from cert-manager under the names config/default produces', () => {
    const [, certificate] = readYamlDocuments<{
      metadata: { name: string };
      spec: { dnsNames: string[]; secretName: string };
    }>('config/certmanager/certificate.yaml');
    const prefix = defaults.namePrefix ?? '';
    const namespace = defaults.namespace ?? '';
    assert.equal(certificate?.spec.secretName, 'webhook-server-cert');
    assert.ok(certificate?.spec.dnsNames.includes(`${prefix}webhook-service.${namespace}.svc`));
    const k = readYaml<{ patches: { patch: string }[] }>('config/certmanager/kustomization.yaml');
    const injected = k.patches.map((p) => p.patch).join('\n');
    assert.match(
      injected,
      new RegExp(`inject-ca-from: ${namespace}/${prefix}${certificate?.metadata.name}\\b`),
    );
  });
});
