// Loading a kubeconfig (flag, KUBECONFIG, ~/.kube/config or in-cluster) and
// proving the API server answers before the operator says it is ready.
import { KubeConfig, VersionApi } from '@kubernetes/client-node';

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
