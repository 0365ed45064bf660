// `make cluster-up` / `make cluster-down`: start the local cluster detached
// (it outlives this command) and stop it again. The running cluster's
// directory is remembered in <cache>/clusters/current.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clustersRoot, startLocalCluster } from './local-cluster.js';
import { stopRecorded } from './processes.js';

const currentFile = () => join(clustersRoot(), 'current');

async function up(): Promise<void> {
  if (existsSync(currentFile())) {
    const dir = readFileSync(currentFile(), 'utf8').trim();
    if (existsSync(join(dir, 'cluster.json'))) {
      console.error(`a local cluster is already up (${dir}); run 'make cluster-down' first`);
      process.exitCode = 1;
      return;
    }
  }
  const nodes = Number.parseInt(process.env.SHIPSHAPE_NODES ?? '2', 10);
  const cluster = await startLocalCluster({ detached: true, nodes, log: (line) => console.error(line) });
  writeFileSync(currentFile(), cluster.dir);
  console.log(`export KUBECONFIG=${cluster.kubeconfigPath}`);
  console.log(`# registry: ${cluster.registryHost}`);
}

async function down(): Promise<void> {
  if (!existsSync(currentFile())) {
    console.error('no local cluster is up');
    return;
  }
  const dir = readFileSync(currentFile(), 'utf8').trim();
  await stopRecorded(dir);
  rmSync(dir, { recursive: true, force: true });
  rmSync(currentFile(), { force: true });
  console.error(`stopped local cluster ${dir}`);
}

const command = process.argv[2];
if (command === 'up') await up();
else if (command === 'down') await down();
else {
  console.error('usage: cli.js up|down');
  process.exitCode = 2;
}
