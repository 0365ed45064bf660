// Reading the repository's deployment files (Dockerfile, config/, crds/) from
// tests, independent of the directory mocha runs in.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

// dist/test/unit/deploy/<file>.js -> repository root
const root = fileURLToPath(new URL('../../../../', import.meta.url));

export function repoPath(relative: string): string {
  return `${root}${relative}`;
}

export function readRepoFile(relative: string): string {
  return readFileSync(repoPath(relative), 'utf8');
}

export function readYaml<T = unknown>(relative: string): T {
  return parse(readRepoFile(relative)) as T;
}

/** Every non-empty document of a multi-document YAML file. */
export function readYamlDocuments<T = unknown>(relative: string): T[] {
  return parseAllDocuments(readRepoFile(relative))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${relative}: ${doc.errors[0]?.message}`);
      return doc.toJS() as T | null;
    })
    .filter((doc): doc is T => doc !== null && doc !== undefined);
}
