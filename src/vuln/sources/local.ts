// A database on a mounted volume (air-gapped clusters): a directory of OSV
// files and bulk zips, or one zip. Nothing is copied; a refresh compares a
// fingerprint of names, sizes and modification times with the last load, so an
// unchanged volume costs a directory walk, not a reload.
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import type { DatabaseSource, SourceArtifact, SourceFetch } from './source.js';
import { sourceFailure } from './source.js';

/** Most files a fingerprint walk visits; a larger tree is refused rather than walked forever. */
const MAX_FINGERPRINT_FILES = 2_000_000;

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : 'unreadable';
}

async function fingerprint(path: string, kind: 'zip' | 'dir'): Promise<string | SourceFetch> {
  const hash = createHash('sha256');
  try {
    const top = await stat(path);
    if (kind === 'zip') {
      if (!top.isFile()) return sourceFailure('SourceNotFound', `${path} is not a file`);
      hash.update(`${top.size}:${top.mtimeMs}`);
      return `sha256:${hash.digest('hex')}`;
    }
    if (!top.isDirectory()) return sourceFailure('SourceNotFound', `${path} is not a directory`);
    let files = 0;
    const pending = [path];
    while (pending.length > 0) {
      const current = pending.pop()!;
      const entries = await readdir(current, { withFileTypes: true });
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        const child = join(current, entry.name);
        if (entry.isDirectory()) pending.push(child);
        else if (entry.isFile() && (entry.name.endsWith('.json') || entry.name.endsWith('.zip'))) {
          if (++files > MAX_FINGERPRINT_FILES)
            return sourceFailure('TooManyEntries', `${path} holds more than ${MAX_FINGERPRINT_FILES} files`);
          const info = await stat(child);
          hash.update(`${child}\0${info.size}\0${info.mtimeMs}\n`);
        }
      }
    }
    return `sha256:${hash.digest('hex')}`;
  } catch (err) {
    return sourceFailure('SourceNotFound', `${path} cannot be read (${errorCode(err)})`);
  }
}

export class LocalSource implements DatabaseSource {
  readonly label: string;
  private committed: { artifacts: SourceArtifact[]; version: string } | undefined;

  constructor(
    readonly kind: 'dir' | 'zip',
    private readonly path: string,
  ) {
    this.label = `${kind}:${path}`;
  }

  async fetch(): Promise<SourceFetch> {
    const version = await fingerprint(this.path, this.kind);
    if (typeof version !== 'string') return version;
    if (version === this.committed?.version) return { outcome: 'unchanged' };
    const artifacts: SourceArtifact[] = [{ kind: this.kind, path: this.path, label: this.label }];
    return {
      outcome: 'fetched',
      artifacts,
      version,
      commit: () => {
        this.committed = { artifacts, version };
        return Promise.resolve();
      },
      discard: () => Promise.resolve(),
    };
  }

  current(): { artifacts: SourceArtifact[]; version: string } | undefined {
    return this.committed;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
