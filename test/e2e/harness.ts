// What the e2e suite runs against. By default a fresh local cluster (real
// control plane + kwok + registry, see test/cluster); with KUBECONFIG set, the
// cluster it names (kind, say) and a local registry process beside it.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import {
  createFakeNodes,
  freePort,
  kwokArgs,
  startLocalCluster,
  toolPath,
  type LocalCluster,
} from '../cluster/local-cluster.js';
import { startProcess, stopRecorded } from '../cluster/processes.js';

interface HarnessState {
  kubeconfigPath: string;
  registryHost: string;
  local?: LocalCluster;
  stopRegistry?: () => Promise<void>;
}

let state: HarnessState | undefined;

export async function startHarness(): Promise<void> {
  const existing = process.env.KUBECONFIG;
  if (existing) {
    const registry = await startStandaloneRegistry();
    state = { kubeconfigPath: existing, registryHost: registry.host, stopRegistry: registry.stop };
    // kwok joins the existing cluster with fake nodes, so pods pinned to them reach Running anywhere.
    startProcess('kwok', toolPath('kwok'), kwokArgs(existing), registry.dir);
    await createFakeNodes(kubeConfig(), 2, 60_000);
    console.error(`e2e: using existing cluster from KUBECONFIG=${existing}, registry ${registry.host}`);
    return;
  }
  const local = await startLocalCluster({ nodes: 2, log: (line) => console.error(`e2e: ${line}`) });
  state = { kubeconfigPath: local.kubeconfigPath, registryHost: local.registryHost, local };
  process.env.KUBECONFIG = local.kubeconfigPath;
}

export async function stopHarness(): Promise<void> {
  await state?.local?.stop();
  await state?.stopRegistry?.();
  state = undefined;
}

function current(): HarnessState {
  if (!state) throw new Error('e2e harness not started (run through test/e2e/.mocharc.json)');
  return state;
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(current().kubeconfigPath);
  return kc;
}

export const kubeconfigPath = (): string => current().kubeconfigPath;
export const registryHost = (): string => current().registryHost;
/** The local cluster, when the suite started one (tests that restart components need it). */
export const localCluster = (): LocalCluster | undefined => current().local;

/** A distribution registry process on a free 127.0.0.1 port (also used by bench/inventory.ts). */
export async function startStandaloneRegistry(): Promise<{
  host: string;
  dir: string;
  stop: () => Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-registry-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'config.yaml'),
    `version: 0.1\nlog: {level: warn, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: ${dir}/data}}\nhttp: {addr: 127.0.0.1:${port}}\n`,
  );
  startProcess('registry', toolPath('registry'), ['serve', join(dir, 'config.yaml')], dir);
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://${host}/v2/`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    host,
    dir,
    stop: async () => {
      await stopRecorded(dir);
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
