// A real, local Kubernetes control plane for tests and the demo, without a
// container runtime: etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler from the pinned builds under hack/tools, kwok to play the
// kubelet on fake nodes, and a CNCF distribution registry. Everything listens
// on loopback on free ports and lives in one temp directory.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import {
  startProcess,
  stopRecorded,
  killRecordedSync,
  reapOrphanedClusters,
  type ManagedProcess,
} from './processes.js';

export interface LocalClusterOptions {
  /** Number of kwok fake nodes (default 1). */
  nodes?: number;
  /** Whether the cluster outlives this process (`cluster up`). */
  detached?: boolean;
  /** Overall start-up budget in ms (default 120 s). */
  timeoutMs?: number;
  log?: (line: string) => void;
  /** Record the operator user's API requests in an audit log (benchmarks count them). */
  auditLog?: boolean;
}

export interface LocalCluster {
  readonly dir: string;
  readonly kubeconfigPath: string;
  /** A kubeconfig for the user "shipshape-operator", whose requests the audit log records. */
  readonly operatorKubeconfigPath: string;
  /** JSON-lines audit log of the operator user's requests, when `auditLog` was set. */
  readonly auditLogPath: string | undefined;
  readonly apiServerUrl: string;
  /** host:port of the local OCI registry (plain HTTP, loopback only). */
  readonly registryHost: string;
  readonly processes: ReadonlyMap<string, ManagedProcess>;
  /** Restart one component (used by failure tests, e.g. kill the API server and bring it back). */
  stopComponent(name: ComponentName): Promise<void>;
  startComponent(name: ComponentName): Promise<void>;
  stop(): Promise<void>;
}

export type ComponentName =
  'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok' | 'registry';

export const cacheRoot = (): string => process.env.SHIPSHAPE_CACHE ?? join(homedir(), '.cache', 'shipshape');
export const binDir = (): string => process.env.SHIPSHAPE_BIN ?? join(cacheRoot(), 'bin');
export const clustersRoot = (): string => join(cacheRoot(), 'clusters');

export function toolPath(name: string): string {
  const path = join(binDir(), name);
  if (!existsSync(path)) {
    throw new Error(`${name} not found at ${path}: run hack/build-tools.sh (or make tools) first`);
  }
  return path;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiServer: number;
  controllerManager: number;
  scheduler: number;
  registry: number;
}

export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const log = options.log ?? (() => undefined);
  const timeoutMs = options.timeoutMs ?? 120_000;
  mkdirSync(clustersRoot(), { recursive: true });
  for (const dir of await reapOrphanedClusters(clustersRoot())) log(`reaped orphaned cluster ${dir}`);
  const dir = mkdtempSync(join(clustersRoot(), 'c-'));
  if (!options.detached) writeFileSync(join(dir, 'owner.pid'), String(process.pid));

  const ports: Ports = {
    etcdClient: await freePort(),
    etcdPeer: await freePort(),
    apiServer: await freePort(),
    controllerManager: await freePort(),
    scheduler: await freePort(),
    registry: await freePort(),
  };
  const token = randomBytes(24).toString('hex');
  const operatorToken = randomBytes(24).toString('hex');
  writeFileSync(
    join(dir, 'tokens.csv'),
    `${token},shipshape-admin,shipshape-admin,"system:masters"\n` +
      `${operatorToken},shipshape-operator,shipshape-operator,"system:masters"\n`,
    { mode: 0o600 },
  );
  const auditLogPath = options.auditLog ? join(dir, 'audit.log') : undefined;
  if (auditLogPath) {
    writeFileSync(
      join(dir, 'audit-policy.yaml'),
      [
        'apiVersion: audit.k8s.io/v1',
        'kind: Policy',
        'omitStages: [RequestReceived]',
        'rules:',
        '  - level: Metadata',
        '    users: [shipshape-operator]',
        '  - level: None',
        '',
      ].join('\n'),
    );
  }
  const serviceAccountKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.key'), serviceAccountKey.privateKey.export({ type: 'pkcs1', format: 'pem' }), {
    mode: 0o600,
  });
  writeFileSync(join(dir, 'sa.pub'), serviceAccountKey.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'registry.yaml'), registryConfig(dir, ports.registry));
  mkdirSync(join(dir, 'pki'), { recursive: true });

  const processes = new Map<string, ManagedProcess>();
  const apiServerUrl = `https://127.0.0.1:${ports.apiServer}`;
  const kubeconfigPath = join(dir, 'kubeconfig');
  const caFile = join(dir, 'pki', 'apiserver.crt');

  const commands: Record<ComponentName, () => [string, string[]]> = {
    etcd: () => [
      toolPath('etcd'),
      [
        `--data-dir=${join(dir, 'etcd')}`,
        '--name=default',
        `--listen-client-urls=http://127.0.0.1:${ports.etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${ports.etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${ports.etcdPeer}`,
        '--unsafe-no-fsync',
        '--quota-backend-bytes=4294967296',
        '--log-level=warn',
      ],
    ],
    'kube-apiserver': () => [
      toolPath('kube-apiserver'),
      [
        `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${ports.apiServer}`,
        `--cert-dir=${join(dir, 'pki')}`,
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        '--endpoint-reconciler-type=none',
        '--allow-privileged=true',
        '--v=1',
        ...(auditLogPath
          ? [
              `--audit-policy-file=${join(dir, 'audit-policy.yaml')}`,
              `--audit-log-path=${auditLogPath}`,
              '--audit-log-format=json',
              '--audit-log-maxsize=0',
            ]
          : []),
      ],
    ],
    'kube-controller-manager': () => [
      toolPath('kube-controller-manager'),
      [
        `--kubeconfig=${kubeconfigPath}`,
        `--authentication-kubeconfig=${kubeconfigPath}`,
        `--authorization-kubeconfig=${kubeconfigPath}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.controllerManager}`,
        '--leader-elect=false',
        `--service-account-private-key-file=${join(dir, 'sa.key')}`,
        `--root-ca-file=${caFile}`,
        '--use-service-account-credentials=false',
        '--concurrent-deployment-syncs=10',
        '--concurrent-replicaset-syncs=10',
        '--concurrent-gc-syncs=20',
        '--kube-api-qps=300',
        '--kube-api-burst=600',
        '--v=1',
      ],
    ],
    'kube-scheduler': () => [
      toolPath('kube-scheduler'),
      [
        `--kubeconfig=${kubeconfigPath}`,
        `--authentication-kubeconfig=${kubeconfigPath}`,
        `--authorization-kubeconfig=${kubeconfigPath}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.scheduler}`,
        '--leader-elect=false',
        '--kube-api-qps=300',
        '--kube-api-burst=600',
        '--v=1',
      ],
    ],
    kwok: () => [toolPath('kwok'), kwokArgs(kubeconfigPath)],
    registry: () => [toolPath('registry'), ['serve', join(dir, 'registry.yaml')]],
  };

  const start = (name: ComponentName): void => {
    const [command, args] = commands[name]();
    processes.set(name, startProcess(name, command, args, dir));
  };
  const failIfExited = (name: ComponentName): void => {
    const proc = processes.get(name);
    if (proc && !isRunning(proc)) throw new Error(`${name} exited during start-up; see ${proc.logFile}`);
  };

  const readiness: Record<ComponentName, () => Promise<boolean>> = {
    etcd: async () =>
      (await httpGet(`http://127.0.0.1:${ports.etcdClient}/health`)).includes('"health":"true"'),
    'kube-apiserver': async () =>
      existsSync(caFile) &&
      (await httpsGet(`${apiServerUrl}/readyz`, { ca: readFileSync(caFile), token })) === 'ok',
    'kube-controller-manager': async () =>
      (await httpsGet(`https://127.0.0.1:${ports.controllerManager}/healthz`, {})) === 'ok',
    'kube-scheduler': async () =>
      (await httpsGet(`https://127.0.0.1:${ports.scheduler}/healthz`, {})) === 'ok',
    kwok: async () => true,
    registry: async () => (await httpGet(`http://127.0.0.1:${ports.registry}/v2/`)) !== '',
  };

  const waitReady = async (name: ComponentName, budgetMs: number): Promise<void> => {
    const deadline = Date.now() + budgetMs;
    for (;;) {
      failIfExited(name);
      try {
        if (await readiness[name]()) return;
      } catch {
        // Not up yet.
      }
      if (Date.now() > deadline) {
        throw new Error(`${name} not ready within ${budgetMs / 1000}s; see ${processes.get(name)?.logFile}`);
      }
      await sleep(250);
    }
  };

  const onExit = (): void => killRecordedSync(dir);
  if (!options.detached) process.once('exit', onExit);

  const cluster: LocalCluster = {
    dir,
    kubeconfigPath,
    operatorKubeconfigPath: join(dir, 'operator.kubeconfig'),
    auditLogPath,
    apiServerUrl,
    registryHost: `127.0.0.1:${ports.registry}`,
    processes,
    async stopComponent(name) {
      const proc = processes.get(name);
      if (!proc) return;
      try {
        process.kill(-proc.pid, 'SIGTERM');
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-proc.pid, 'SIGKILL');
        } catch {
          // Gone.
        }
      }, 5000);
      await proc.exited;
      clearTimeout(timer);
    },
    async startComponent(name) {
      start(name);
      await waitReady(name, timeoutMs);
    },
    async stop() {
      process.removeListener('exit', onExit);
      await stopRecorded(dir);
      if (!options.detached && !process.env.SHIPSHAPE_KEEP_CLUSTER_DIR) {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };

  try {
    const began = Date.now();
    start('etcd');
    start('registry');
    await waitReady('etcd', timeoutMs);
    start('kube-apiserver');
    await waitReady('kube-apiserver', timeoutMs);
    writeFileSync(kubeconfigPath, kubeconfig(apiServerUrl, readFileSync(caFile), token), { mode: 0o600 });
    writeFileSync(
      join(dir, 'operator.kubeconfig'),
      kubeconfig(apiServerUrl, readFileSync(caFile), operatorToken),
      {
        mode: 0o600,
      },
    );
    start('kube-controller-manager');
    start('kube-scheduler');
    start('kwok');
    await waitReady('kube-controller-manager', timeoutMs);
    await waitReady('kube-scheduler', timeoutMs);
    await waitReady('registry', timeoutMs);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    await createFakeNodes(kc, options.nodes ?? 1, timeoutMs);
    log(`local cluster ready in ${((Date.now() - began) / 1000).toFixed(1)}s: ${kubeconfigPath}`);
    writeFileSync(
      join(dir, 'cluster.json'),
      JSON.stringify(
        { kubeconfig: kubeconfigPath, apiServerUrl, registryHost: cluster.registryHost },
        null,
        2,
      ),
    );
    return cluster;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

function isRunning(proc: ManagedProcess): boolean {
  try {
    process.kill(proc.pid, 0);
    return true;
  } catch {
    return false;
  }
}

function registryConfig(dir: string, port: number): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'registry')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
    '',
  ].join('\n');
}

function kubeconfig(server: string, ca: Buffer, token: string): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'shipshape-local', cluster: { server, 'certificate-authority-data': ca.toString('base64') } },
      ],
      users: [{ name: 'shipshape-admin', user: { token } }],
      contexts: [
        { name: 'shipshape-local', context: { cluster: 'shipshape-local', user: 'shipshape-admin' } },
      ],
      'current-context': 'shipshape-local',
    },
    null,
    2,
  );
}

/** Register `count` fake nodes that kwok (started with the matching annotation selector) keeps Ready. */
export async function createFakeNodes(kc: KubeConfig, count: number, timeoutMs: number): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  for (let i = 0; i < count; i++) {
    const name = `kwok-node-${i}`;
    const node: V1Node = {
      metadata: {
        name,
        annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          type: 'kwok',
        },
      },
      status: {
        allocatable: { cpu: '64', memory: '256Gi', pods: '1000' },
        capacity: { cpu: '64', memory: '256Gi', pods: '1000' },
      },
    };
    try {
      await core.createNode({ body: node });
    } catch (error) {
      if ((error as { code?: number }).code !== 409) throw error;
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const nodes = (await core.listNode({ labelSelector: 'type=kwok' })).items;
    const ready = nodes.filter((n) =>
      n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    if (ready.length >= count) return;
    if (Date.now() > deadline) throw new Error(`kwok nodes not Ready within ${timeoutMs / 1000}s`);
    await sleep(250);
  }
}

/** kwok's default stages (kwok 0.8 loads none unless given); the file sits beside this module's source. */
export const KWOK_STAGES = fileURLToPath(new URL('../../../test/cluster/kwok-stages.yaml', import.meta.url));

/** kwok's command line: it plays the kubelet for nodes annotated kwok.x-k8s.io/node=fake. */
export function kwokArgs(kubeconfigPath: string): string[] {
  return [
    `--kubeconfig=${kubeconfigPath}`,
    `--config=${KWOK_STAGES}`,
    '--manage-all-nodes=false',
    '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
    '--node-lease-duration-seconds=40',
    '--cidr=10.244.0.1/16',
    '--node-ip=10.244.0.1',
  ];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function httpsGet(url: string, auth: { ca?: Buffer; token?: string }): Promise<string> {
  return httpsSend('GET', url, auth);
}

function httpsSend(
  method: string,
  url: string,
  auth: { ca?: Buffer; token?: string },
  body?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
    if (body) headers['Content-Type'] = 'application/json';
    const req = httpsRequest(
      url,
      // Component health ports serve self-signed certificates we did not issue.
      { method, headers, timeout: 5000, ...(auth.ca ? { ca: auth.ca } : { rejectUnauthorized: false }) },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          (res.statusCode ?? 500) < 300
            ? resolve(text)
            : reject(new Error(`${method} ${url}: ${res.statusCode} ${text}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}
