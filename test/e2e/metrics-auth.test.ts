// `shipshape operator --metrics-secure=true` on a real control plane, running
// as a ServiceAccount that holds exactly config/rbac/role.yaml: it turns ready
// (its informers work with those verbs), and its HTTPS /metrics refuses a
// scrape without a token (401) or with a token the API server does not know
// (401), refuses a ServiceAccount without the metrics-reader role (403) and
// serves one bound to it (200) — every decision made by the API server's own
// TokenReview and SubjectAccessReview.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoreV1Api,
  RbacAuthorizationV1Api,
  type KubeConfig,
  type V1ClusterRole,
} from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { selfSignedCertificate } from '../../src/runtime/serving-cert.js';
import { installCrds } from '../support/crds.js';
import { createReadyNamespace } from '../support/namespaces.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { kubeConfig } from './harness.js';

const NAMESPACE = 'e2e-metrics-auth';
const MANAGER_ROLE = 'e2e-metrics-auth-manager';
const READER_ROLE = 'e2e-metrics-auth-reader';

function clusterRoleFromRepo(file: string, name: string): V1ClusterRole {
  const role = parse(readFileSync(join(process.cwd(), 'config', 'rbac', file), 'utf8')) as V1ClusterRole;
  return { ...role, metadata: { name } };
}

/** GET /metrics over TLS, trusting exactly the certificate the operator was given. */
function scrape(port: number, ca: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/metrics',
        ca,
        agent: false,
        headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('secure metrics (--metrics-secure=true)', function () {
  // The harness starts in mocha's global setup, after this file is loaded.
  let kc: KubeConfig;
  let core: CoreV1Api;
  let rbac: RbacAuthorizationV1Api;
  const tls = selfSignedCertificate({ hosts: ['127.0.0.1'] });
  const tokens: Record<'operator' | 'scraper' | 'stranger', string> = {
    operator: '',
    scraper: '',
    stranger: '',
  };
  let operator: OperatorProcess | undefined;

  const bind = (name: string, role: string, serviceAccount: string) =>
    rbac.createClusterRoleBinding({
      body: {
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: NAMESPACE }],
      },
    });

  before(async function () {
    this.timeout(120_000);
    kc = kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await installCrds(kc);
    await createReadyNamespace(core, NAMESPACE);
    await rbac.createClusterRole({ body: clusterRoleFromRepo('role.yaml', MANAGER_ROLE) });
    await rbac.createClusterRole({ body: clusterRoleFromRepo('metrics_reader_role.yaml', READER_ROLE) });
    await bind(MANAGER_ROLE, MANAGER_ROLE, 'operator');
    await bind(READER_ROLE, READER_ROLE, 'scraper');
    for (const name of Object.keys(tokens) as (keyof typeof tokens)[]) {
      await core.createNamespacedServiceAccount({ namespace: NAMESPACE, body: { metadata: { name } } });
      const issued = await core.createNamespacedServiceAccountToken({
        name,
        namespace: NAMESPACE,
        body: { spec: { audiences: [], expirationSeconds: 3600 } },
      });
      tokens[name] = issued.status?.token ?? '';
      assert.ok(tokens[name], `no token issued for ${name}`);
    }

    // The operator runs as its ServiceAccount with config/rbac/role.yaml, not as an administrator.
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-metrics-auth-'));
    const cluster = kc.getCurrentCluster();
    assert.ok(cluster);
    writeFileSync(
      join(dir, 'kubeconfig'),
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'e2e', cluster: { server: cluster.server, 'certificate-authority-data': caData() } },
        ],
        users: [{ name: 'operator', user: { token: tokens.operator } }],
        contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'operator' } }],
        'current-context': 'e2e',
      }),
      { mode: 0o600 },
    );
    writeFileSync(join(dir, 'tls.crt'), tls.cert);
    writeFileSync(join(dir, 'tls.key'), tls.key, { mode: 0o600 });
    operator = await startOperatorProcess([
      `--kubeconfig=${join(dir, 'kubeconfig')}`,
      '--metrics-secure=true',
      `--metrics-cert-dir=${dir}`,
      '--leader-elect=false',
      '--image-analysis=false',
    ]);
    await operator.waitReady(60_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${operator?.output() ?? ''}`);
    });
  });

  after(async function () {
    this.timeout(30_000);
    await operator?.stop();
    for (const name of [MANAGER_ROLE, READER_ROLE]) {
      await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
      await rbac.deleteClusterRole({ name }).catch(() => undefined);
    }
    await core.deleteNamespace({ name: NAMESPACE }).catch(() => undefined);
  });

  function caData(): string {
    const cluster = kc.getCurrentCluster();
    if (cluster?.caData) return cluster.caData;
    if (cluster?.caFile) return readFileSync(cluster.caFile).toString('base64');
    throw new Error('the e2e kubeconfig names no cluster CA');
  }

  it('turns ready as a ServiceAccount holding only config/rbac/role.yaml', () => {
    // waitReady in before() passed: the informers listed and watched with these verbs.
    assert.ok(operator);
  });

  it('refuses an unauthenticated scrape with 401', async () => {
    const response = await scrape(operator?.metricsPort ?? 0, tls.cert);
    assert.equal(response.status, 401, response.body);
    assert.doesNotMatch(response.body, /shipshape_/);
  });

  it('refuses a token the API server does not know with 401', async () => {
    const forged = `${tokens.scraper.slice(0, -8)}AAAAAAAA`;
    const response = await scrape(operator?.metricsPort ?? 0, tls.cert, forged);
    assert.equal(response.status, 401, response.body);
  });

  it('refuses a ServiceAccount without the metrics-reader role with 403', async () => {
    const response = await scrape(operator?.metricsPort ?? 0, tls.cert, tokens.stranger);
    assert.equal(response.status, 403, response.body);
    assert.match(response.body, new RegExp(`system:serviceaccount:${NAMESPACE}:stranger`));
    assert.doesNotMatch(response.body, /shipshape_/);
  });

  it('serves Prometheus text to a ServiceAccount bound to the metrics-reader role', async () => {
    const response = await scrape(operator?.metricsPort ?? 0, tls.cert, tokens.scraper);
    assert.equal(response.status, 200, response.body);
    assert.match(response.body, /^shipshape_process_resident_memory_bytes \d+/m);
  });

  it('never writes a token into its log', () => {
    const log = operator?.output() ?? '';
    for (const token of Object.values(tokens))
      assert.ok(!log.includes(token), 'a bearer token is in the log');
  });
});
