// The kubectl a cluster administrator would run, for e2e tests that judge what
// it prints (admission warnings, refusals) or what it renders (kustomize).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface CommandRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** $KUBECTL, else the first kubectl on PATH; undefined when there is none (the caller skips). */
export function findKubectl(): string | undefined {
  if (process.env.KUBECTL) return process.env.KUBECTL;
  return (process.env.PATH ?? '')
    .split(delimiter)
    .map((dir) => join(dir, 'kubectl'))
    .find((path) => existsSync(path));
}

/** Runs a command to its end with `input` on stdin; a non-zero exit is a result, not an error. */
export function runCommand(command: string, args: string[], input?: string): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}
