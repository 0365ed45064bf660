// `kubectl apply -k config/default` as a cluster administrator would run it,
// judged by a real API server without changing the cluster: every rendered
// object passes a server-side dry run (schema, RBAC, admission), and the
// operator's own pod is admitted in a namespace that enforces Pod Security
// `restricted` while a weakened copy of it is refused.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { kubeconfigPath } from './harness.js';
import { eventually } from '../support/wait.js';
import { findKubectl, runCommand as run } from '../support/kubectl.js';

const repoConfig = join(process.cwd(), 'config');
/** Every optional component of config/ (see config/README.md). */
const COMPONENTS = ['webhook', 'certmanager', 'prometheus', 'grafana', 'priority'];
const FIELD_MANAGER = 'shipshape-e2e-deploy';

function objectsOf(yamlText: string): KubernetesObject[] {
  return parseAllDocuments(yamlText)
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => o !== null);
}

const describeObject = (o: KubernetesObject): string => `${o.kind}/${o.metadata?.name}`;

/**
 * config/default with every optional component switched on. Components must sit
 * in the kustomization that sets namespace and prefix, so this is a copy of
 * config/default's kustomization beside a link to config/.
 */
function allComponentsOverlay(dir: string, defaults: { resources?: string[] }): string {
  symlinkSync(repoConfig, join(dir, 'config'));
  const overlay = join(dir, 'overlay');
  mkdirSync(overlay);
  const kustomization = {
    ...defaults,
    resources: (defaults.resources ?? []).map((r) => r.replace(/^\.\.\//, '../config/')),
    components: COMPONENTS.map((c) => `../config/${c}`),
  };
  writeFileSync(join(overlay, 'kustomization.yaml'), stringify(kustomization));
  return overlay;
}

describe('deploying Shipshape (config/)', function () {
  const kubectl = findKubectl();
  let work: string;
  let defaultObjects: KubernetesObject[] = [];
  let allObjects: KubernetesObject[] = [];
  let namespace = '';
  let createdNamespace = false;

  const k = (args: string[], input?: string) =>
    run(kubectl ?? 'kubectl', [`--kubeconfig=${kubeconfigPath()}`, ...args], input);

  before(async function () {
    if (!kubectl) {
      console.error('e2e deploy: kubectl not found on PATH (or $KUBECTL); skipping');
      this.skip();
    }
    work = mkdtempSync(join(tmpdir(), 'shipshape-deploy-'));
  });

  after(async () => {
    if (createdNamespace) await k(['delete', 'namespace', namespace, '--wait=false']);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('renders config/default, and config/default with every optional component', async () => {
    const rendered = await run(kubectl!, ['kustomize', join(repoConfig, 'default')]);
    assert.equal(rendered.code, 0, rendered.stderr);
    defaultObjects = objectsOf(rendered.stdout);
    const kinds = new Set(defaultObjects.map((o) => o.kind));
    for (const kind of [
      'Namespace',
      'CustomResourceDefinition',
      'ClusterRole',
      'Role',
      'Deployment',
      'Service',
    ]) {
      assert.ok(kinds.has(kind), `config/default renders no ${kind}`);
    }
    const ns = defaultObjects.find((o) => o.kind === 'Namespace');
    namespace = ns?.metadata?.name ?? '';
    assert.equal(namespace, 'shipshape-system');
    for (const o of defaultObjects) {
      if (o.metadata?.namespace) assert.equal(o.metadata.namespace, namespace, describeObject(o));
    }

    const defaults = parse(readFileSync(join(repoConfig, 'default', 'kustomization.yaml'), 'utf8')) as {
      resources?: string[];
    };
    const full = await run(kubectl!, ['kustomize', allComponentsOverlay(work, defaults)]);
    assert.equal(full.code, 0, full.stderr);
    allObjects = objectsOf(full.stdout);
    const names = allObjects.map(describeObject);
    for (const expected of [
      'ValidatingWebhookConfiguration/shipshape-validating-webhook-configuration',
      'Service/shipshape-webhook-service',
      'Certificate/shipshape-serving-cert',
      'ServiceMonitor/shipshape-controller-manager-metrics-monitor',
      'PrometheusRule/shipshape-alert-rules',
      'ConfigMap/shipshape-grafana-dashboard',
      'PriorityClass/shipshape-operator-critical',
    ]) {
      assert.ok(names.includes(expected), `missing ${expected}`);
    }
  });

  it('passes a server-side dry run of every object whose API the cluster serves', async function () {
    if (allObjects.length === 0) this.skip();
    // Namespaced objects need their namespace to exist for real; everything else stays a dry run.
    const existing = await k(['get', 'namespace', namespace, '-o', 'name']);
    if (existing.code !== 0) {
      const ns = defaultObjects.find((o) => o.kind === 'Namespace');
      const created = await k(
        ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'],
        stringify(ns),
      );
      assert.equal(created.code, 0, created.stderr);
      createdNamespace = true;
    }
    const served = new Set((await k(['api-versions'])).stdout.split('\n').filter(Boolean));
    const [checked, skipped] = [
      allObjects.filter((o) => served.has(o.apiVersion ?? '')),
      allObjects.filter((o) => !served.has(o.apiVersion ?? '')),
    ];
    for (const o of skipped) {
      // Prometheus Operator and cert-manager objects: their CRDs are not part of this cluster.
      assert.match(o.apiVersion ?? '', /^(monitoring\.coreos\.com|cert-manager\.io)\//, describeObject(o));
    }
    const applied = await k(
      [
        'apply',
        '--server-side',
        '--dry-run=server',
        '--force-conflicts',
        `--field-manager=${FIELD_MANAGER}`,
        '-o',
        'name',
        '-f',
        '-',
      ],
      checked.map((o) => `---\n${stringify(o)}`).join(''),
    );
    assert.equal(applied.code, 0, applied.stderr);
    assert.doesNotMatch(applied.stderr, /would violate PodSecurity/);
    assert.equal(applied.stdout.trim().split('\n').length, checked.length, applied.stdout);
  });

  it('admits the manager pod under Pod Security restricted, and refuses a weakened copy', async function () {
    if (!namespace || defaultObjects.length === 0) this.skip();
    const deployment = defaultObjects.find((o) => o.kind === 'Deployment') as V1Deployment;
    const template = deployment.spec!.template;
    // A namespace of this test's own with the shipped Namespace's labels: the real one may
    // exist already without them (other tests create it), and the apply above was a dry run.
    const shipped = defaultObjects.find((o) => o.kind === 'Namespace');
    const checkNamespace = `pss-check-${Date.now().toString(36)}`;
    const created = await k(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: checkNamespace, labels: shipped?.metadata?.labels ?? {} },
      }),
    );
    assert.equal(created.code, 0, created.stderr);
    try {
      // The service account exists only in the dry run above; the pod keeps every security setting.
      const pod = (weaken: boolean): string => {
        const spec = structuredClone(template.spec!);
        delete spec.serviceAccountName;
        if (weaken) spec.containers[0]!.securityContext!.allowPrivilegeEscalation = true;
        const metadata = {
          name: 'shipshape-pss-check',
          namespace: checkNamespace,
          labels: template.metadata?.labels,
        };
        return JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata, spec });
      };
      const admitted = await eventually(
        'the pod to be admitted (namespace and its default service account must exist)',
        async () => {
          const result = await k(['create', '--dry-run=server', '-o', 'name', '-f', '-'], pod(false));
          if (result.code !== 0 && /serviceaccount|not found/i.test(result.stderr)) return undefined;
          return result;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      assert.equal(admitted.code, 0, admitted.stderr);

      const weakened = await k(['create', '--dry-run=server', '-o', 'name', '-f', '-'], pod(true));
      assert.notEqual(weakened.code, 0, 'a pod allowing privilege escalation was admitted');
      assert.match(weakened.stderr, /violates PodSecurity "restricted/);
    } finally {
      await k(['delete', 'namespace', checkNamespace, '--wait=false']);
    }
  });
});
