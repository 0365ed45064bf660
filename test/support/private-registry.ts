// A CNCF distribution registry that requires htpasswd basic auth, on loopback,
// for tests of pull secrets.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, toolPath } from '../cluster/local-cluster.js';
import { startProcess, stopRecorded } from '../cluster/processes.js';

export interface PrivateRegistry {
  host: string;
  /** Authorization header value for pushing. */
  auth: string;
  stop(): Promise<void>;
}

export async function startPrivateRegistry(user: string, password: string): Promise<PrivateRegistry> {
  let htpasswd: string;
  try {
    // distribution reads bcrypt entries only; apache2-utils provides htpasswd.
    htpasswd = execFileSync('htpasswd', ['-Bbn', user, password]).toString().trim();
  } catch {
    throw new Error('htpasswd is not installed: apt-get install -y apache2-utils (make system-deps)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-private-registry-'));
  writeFileSync(join(dir, 'htpasswd'), `${htpasswd}\n`);
  const host = `127.0.0.1:${await freePort()}`;
  writeFileSync(
    join(dir, 'config.yaml'),
    [
      'version: 0.1',
      'log: {level: warn, accesslog: {disabled: true}}',
      `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}}`,
      `http: {addr: "${host}", secret: e2e-private-secret}`,
      'auth:',
      '  htpasswd:',
      '    realm: shipshape-private',
      `    path: ${join(dir, 'htpasswd')}`,
      '',
    ].join('\n'),
  );
  startProcess('private-registry', toolPath('registry'), ['serve', join(dir, 'config.yaml')], dir);
  for (let i = 0; i < 100; i++) {
    const status = await fetch(`http://${host}/v2/`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 401) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host,
    auth: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    async stop() {
      await stopRecorded(dir);
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
