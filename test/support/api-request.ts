// Raw requests to the API server with the kubeconfig's credentials, for tests
// and benchmarks that need what the typed client hides: the status code, the
// Warning headers admission webhooks add, and dry-run on any path.
import { Agent, request, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface ApiResponse {
  status: number;
  body: { message?: string; metadata?: { name?: string } } & Record<string, unknown>;
  /** The text of each Warning header (RFC 7234 warn-text, unquoted). */
  warnings: string[];
}

function warningText(value: string): string {
  const match = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(value);
  return match ? match[1]!.replace(/\\(.)/g, '$1') : value;
}

export class ApiClient {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly server: URL;

  constructor(private readonly kc: KubeConfig) {
    this.server = new URL(kc.getCurrentCluster()?.server ?? '');
  }

  async send(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const options: RequestOptions = {
      host: this.server.hostname,
      port: this.server.port,
      method,
      path,
      agent: this.agent,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    };
    await this.kc.applyToHTTPSOptions(options);
    return new Promise((resolve, reject) => {
      const req = request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const warnings: string[] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2)
            if (res.rawHeaders[i]!.toLowerCase() === 'warning')
              warnings.push(warningText(res.rawHeaders[i + 1]!));
          const text = Buffer.concat(chunks).toString();
          let parsed: ApiResponse['body'];
          try {
            parsed = JSON.parse(text) as ApiResponse['body'];
          } catch {
            parsed = { message: text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, warnings });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /** POST an object to its collection, e.g. create('/apis/apps/v1/namespaces/x/deployments', d, { dryRun: true }). */
  create(collection: string, object: unknown, options: { dryRun?: boolean } = {}): Promise<ApiResponse> {
    return this.send('POST', `${collection}${options.dryRun ? '?dryRun=All' : ''}`, object);
  }

  close(): void {
    this.agent.destroy();
  }
}
