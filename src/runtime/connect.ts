// Loading a kubeconfig (flag, KUBECONFIG, ~/.kube/config or in-cluster) and
// proving the API server answers before the operator says it is ready.
import { createHash } from 'node:crypto';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (error) {
    throw new Error(
      `cannot load kubeconfig ${path ?? process.env.KUBECONFIG ?? '(default)'}: ${describeCause(error)}`,
      { cause: error },
    );
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${path ?? '(default)'} has no current cluster`);
  return shareConnections(kc);
}

/** What KubeConfig's private createDispatcher is: (cluster, TLS options) → an undici Agent. */
type CreateDispatcher = (cluster: unknown, agentOptions: Record<string, unknown>) => unknown;

/**
 * Makes every API call of this KubeConfig share one connection pool per cluster and
 * TLS material. client-node 2.0.1 builds a new undici Agent, and so a new pool, for
 * each request (applySecurityAuthentication → createDispatcher): every call opened its
 * own TCP and TLS connection, a handshake on both sides per call and TLS contexts
 * allocated and freed at the rate of API calls (a rollout of thousands of pods is
 * thousands of calls). Keyed by the TLS options, so rotated client certificates get a
 * new pool; the evicted pool is closed.
 */
export function shareConnections(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createDispatcher?: CreateDispatcher };
  const create = target.createDispatcher;
  if (typeof create !== 'function') return kc; // another client-node: nothing to share
  const pools = new LRUCache<string, { value: unknown }>({
    max: 8,
    dispose: ({ value }) =>
      void (value as { close?: () => Promise<void> } | undefined)?.close?.().catch(() => undefined),
  });
  target.createDispatcher = function shared(cluster, agentOptions) {
    const key = createHash('sha256')
      .update(JSON.stringify([(cluster as { server?: string } | null)?.server, agentOptions]))
      .digest('hex');
    let pool = pools.get(key);
    if (pool === undefined) {
      pool = { value: create.call(kc, cluster, agentOptions) };
      pools.set(key, pool);
    }
    return pool.value;
  };
  return kc;
}

export function apiServerUrl(kc: KubeConfig): string {
  return kc.getCurrentCluster()?.server ?? '(no current cluster in kubeconfig)';
}

export class ApiServerUnreachable extends Error {
  constructor(
    readonly server: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`cannot reach Kubernetes API server ${server}: ${reason}`, options);
  }
}

/** Returns the server's version, or throws ApiServerUnreachable within `timeoutMs`. */
export async function checkConnection(kc: KubeConfig, timeoutMs = 10_000): Promise<string> {
  const server = apiServerUrl(kc);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ApiServerUnreachable(server, `no answer within ${timeoutMs / 1000}s`)),
      timeoutMs,
    );
  });
  try {
    const version = await Promise.race([kc.makeApiClient(VersionApi).getCode(), timeout]);
    return version.gitVersion;
  } catch (error) {
    if (error instanceof ApiServerUnreachable) throw error;
    throw new ApiServerUnreachable(server, describeCause(error), { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/** The innermost useful message of a fetch/undici error chain, on one line. */
export function describeCause(error: unknown): string {
  let current: unknown = error;
  let message = 'unknown error';
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof Error) {
      const code = (current as NodeJS.ErrnoException).code;
      message = code ? `${code} ${current.message}` : current.message;
      current = current.cause;
    } else {
      message = String(current);
      break;
    }
  }
  return message.replace(/\s+/g, ' ').trim();
}
