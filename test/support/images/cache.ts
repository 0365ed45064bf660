// Where the heavy inputs of test images (rootfs, node_modules, site-packages,
// Go binaries, rpm databases) are built once per machine, and the small
// process and tar helpers the builders share.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheRoot } from '../../cluster/local-cluster.js';

const execFileAsync = promisify(execFile);

export const imagesCacheDir = (): string => join(cacheRoot(), 'images');

/**
 * The cache directory named `key` (which must name every pinned version that
 * goes into it), built by `build` into a scratch directory first so an
 * interrupted build never leaves a half-filled entry behind.
 */
export async function cachedDir(key: string, build: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(imagesCacheDir(), key);
  if (existsSync(dir)) return dir;
  mkdirSync(imagesCacheDir(), { recursive: true });
  const scratch = mkdtempSync(join(imagesCacheDir(), `.${key}-`));
  try {
    await build(scratch);
    renameSync(scratch, dir);
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
  return dir;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Output larger than the default 1 MiB (tar listings, whole files). */
  maxBuffer?: number;
}

/** Run a program; a failure carries its stderr so the test log says why. */
export async function run(command: string, args: string[], options: RunOptions = {}): Promise<string> {
  return (await runBuffer(command, args, options)).toString('utf8');
}

export async function runBuffer(command: string, args: string[], options: RunOptions = {}): Promise<Buffer> {
  try {
    const { stdout } = await execFileAsync(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      maxBuffer: options.maxBuffer ?? 256 * 1024 * 1024,
      encoding: 'buffer',
    });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim().split('\n').slice(-15).join('\n');
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr || (error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * A layer tar of the given paths under `root`, the way image builders write
 * them: relative names, sorted, numeric root owners, PAX only where needed
 * (node_modules paths outgrow ustar's 100 bytes).
 */
export async function layerFromDir(root: string, paths: string[]): Promise<Buffer> {
  return runBuffer('tar', [
    '-C',
    root,
    '--sort=name',
    '--numeric-owner',
    '--owner=0',
    '--group=0',
    '--mtime=2024-01-01 00:00:00Z',
    '--format=pax',
    '--pax-option=delete=atime,delete=ctime,delete=mtime',
    '-cf',
    '-',
    '--',
    ...paths,
  ]);
}
