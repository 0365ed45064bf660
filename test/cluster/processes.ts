// Child processes of the local cluster: started in their own process group
// with output to a log file, recorded in a pid file so that a later run can
// reap what a crashed run left behind, and stopped with TERM then KILL.
import { spawn } from 'node:child_process';
import { appendFileSync, openSync, closeSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
): ManagedProcess {
  const logFile = join(dir, `${name}.log`);
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out], env });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  child.unref();
  appendFileSync(join(dir, 'pids'), `${child.pid} ${name}\n`);
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.on('error', () => resolve('spawn-error'));
  });
  return { name, pid: child.pid, logFile, exited };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** TERM every recorded process group, then KILL whatever is left after `graceMs`. */
export async function stopRecorded(dir: string, graceMs = 5000): Promise<void> {
  const pids = recordedPids(dir);
  // Stop in reverse start order so clients go before the servers they talk to.
  for (const pid of [...pids].reverse()) signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids) if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
}

/** Synchronous last resort for process 'exit' handlers. */
export function killRecordedSync(dir: string): void {
  for (const pid of recordedPids(dir)) signalGroup(pid, 'SIGKILL');
}

function recordedPids(dir: string): number[] {
  const file = join(dir, 'pids');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => Number.parseInt(line.split(' ')[0] ?? '', 10))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

/**
 * Kill the processes of clusters whose owner died without cleaning up (a test
 * run killed with SIGKILL, say). Clusters started by `cluster up` have no
 * owner file and are left alone.
 */
export async function reapOrphanedClusters(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const reaped: string[] = [];
  for (const entry of readdirSync(root)) {
    const dir = join(root, entry);
    const ownerFile = join(dir, 'owner.pid');
    if (!existsSync(ownerFile)) continue;
    const owner = Number.parseInt(readFileSync(ownerFile, 'utf8'), 10);
    if (owner > 0 && isAlive(owner)) continue;
    if (recordedPids(dir).some(isAlive)) {
      await stopRecorded(dir, 2000);
      reaped.push(dir);
    }
  }
  return reaped;
}
