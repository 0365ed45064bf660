// A registry with the OCI 1.1 referrers API on loopback: hack/tools/referrers-registry (go-containerregistry's
// in-memory pkg/registry with WithReferrersSupport), for the referrers-API path of signature tests.
// The CNCF distribution registry (test/e2e/harness.ts startStandaloneRegistry) covers the tag-fallback path.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { toolPath } from '../cluster/local-cluster.js';
import { startProcess, stopRecorded } from '../cluster/processes.js';

export interface TestRegistry {
  /** host:port (plain HTTP, 127.0.0.1). */
  readonly host: string;
  stop(): Promise<void>;
}

export async function startReferrersRegistry(timeoutMs = 10_000): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-referrers-registry-'));
  const proc = startProcess(
    'referrers-registry',
    toolPath('referrers-registry'),
    ['-addr', '127.0.0.1:0', '-quiet'],
    dir,
  );
  const stop = async (): Promise<void> => {
    await stopRecorded(dir);
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  };
  // It asks the kernel for a free port and prints the address once it listens.
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    const log = existsSync(proc.logFile) ? readFileSync(proc.logFile, 'utf8') : '';
    const host = /^listening on (127\.0\.0\.1:\d+)$/m.exec(log)?.[1];
    if (host !== undefined) return { host, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  const log = existsSync(proc.logFile) ? readFileSync(proc.logFile, 'utf8').slice(-500) : '';
  await stop();
  throw new Error(`referrers-registry did not start within ${timeoutMs} ms: ${log}`);
}
