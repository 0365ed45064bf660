// Loading a kubeconfig (flag, KUBECONFIG, ~/.kube/config or in-cluster) and
// proving the API server answers before the operator says it is ready.
import { KubeConfig, VersionApi, type RequestContext } from '@kubernetes/client-node';

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
  reuseConnections(kc);
  return kc;
}

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/**
 * @kubernetes/client-node 2.x builds a new undici Agent in every request's
 * applySecurityAuthentication, so no connection is ever reused: each API call pays a
 * TLS handshake and a SecureContext built from the CA bundle, on the operator's event
 * loop (a CPU profile of the hostile-operator e2e showed them as its longest tasks).
 * One Agent per TLS identity (server, CA, client certificate) keeps connections alive
 * across calls. Identities the library computes per request (exec and auth-provider
 * plugins may hand out client certificates) keep the library's per-request Agent.
 */
export function reuseConnections(kc: KubeConfig): void {
  const apply = kc.applySecurityAuthentication.bind(kc);
  const agents = new Map<string, Dispatcher>();
  kc.applySecurityAuthentication = async (context: RequestContext): Promise<void> => {
    await apply(context);
    const fresh = context.getDispatcher();
    const cluster = kc.getCurrentCluster();
    const user = kc.getCurrentUser();
    if (
      fresh === undefined ||
      cluster === null ||
      user?.exec !== undefined ||
      user?.authProvider !== undefined
    )
      return;
    const key = JSON.stringify([
      cluster.server,
      cluster.caData ?? cluster.caFile,
      cluster.skipTLSVerify,
      cluster.tlsServerName,
      cluster.proxyUrl,
      user?.certData ?? user?.certFile,
      user?.keyData ?? user?.keyFile,
    ]);
    const shared = agents.get(key);
    if (shared === undefined) agents.set(key, fresh);
    else {
      context.setDispatcher(shared);
      void fresh.close();
    }
  };
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
