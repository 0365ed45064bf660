// Writes generated files, or with --check compares them and names each file
// that drifted, so CI can fail when a generator's source changed but its
// output was not regenerated.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, whether run from hack/ (tsx) or dist/hack/ (compiled). */
export const REPO_ROOT = fileURLToPath(
  new URL(import.meta.url.includes('/dist/hack/') ? '../../' : '../', import.meta.url),
);

export function syncGeneratedFiles(
  files: ReadonlyMap<string, string>,
  check: boolean,
  generator: string,
): number {
  const drifted: string[] = [];
  for (const [path, content] of files) {
    let current: string | undefined;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === content) continue;
    if (check) {
      drifted.push(relative(REPO_ROOT, path));
    } else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
      console.log(`wrote ${relative(REPO_ROOT, path)}`);
    }
  }
  if (drifted.length > 0) {
    for (const file of drifted) console.error(`${file} is out of date: run ${generator}`);
    return 1;
  }
  return 0;
}
