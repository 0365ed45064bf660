// A database pushed to the user's own registry as an OCI artifact: a manifest
// whose layers are OSV bulk zips (`oras push reg/osv:latest Debian.zip:application/zip`)
// or tar layers holding zips or advisory JSON files (`crane append -f osv.tar`).
// It is read through Shipshape's registry client, so the address policy, the
// registry settings and the operator's credentials apply as for images, and every
// blob is verified against its digest. A refresh resolves the tag first: the same
// manifest digest as the last good load is "unchanged" without reading a blob.
import { closeSync, createReadStream, createWriteStream, openSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type { CredentialSource } from '../../registry/auth.js';
import type { CallOptions, RegistryClient } from '../../registry/client.js';
import { isRegistryError } from '../../registry/errors.js';
import type { Descriptor } from '../../registry/manifest.js';
import { formatImageReference, tryParseImageReference } from '../../registry/reference.js';
import type { ImageReference } from '../../registry/reference.js';
import { tarChunks } from '../../sbom/decompress.js';
import { TarLimitError, TarParser } from '../../sbom/tar-parser.js';
import type { TarContentReader, TarEntry } from '../../sbom/tar-parser.js';
import type { DatabaseSource, SourceArtifact, SourceFailure, SourceFetch } from './source.js';
import { sourceFailure } from './source.js';

export interface OciArtifactOptions {
  /** `registry/repository:tag` or `@sha256:...`. */
  reference: string;
  registry: RegistryClient;
  /** Credentials for each pull, read again every refresh (a rotated pull secret is picked up); default the client's own. */
  credentials?: () => Promise<CredentialSource>;
  /** Most bytes of all layers together (default 2 GiB), and of the files unpacked from tar layers. */
  maxBytes?: number;
  /** Most layers read (default 64). */
  maxLayers?: number;
  workDir?: string;
}

const ZIP_MAGIC = [0x50, 0x4b];

class TooLargeError extends Error {}

function capped(maxBytes: number, seen: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen.bytes += chunk.length;
      if (seen.bytes > maxBytes) callback(new TooLargeError(`more than ${maxBytes} bytes`));
      else callback(null, chunk);
    },
  });
}

export function parseOciSource(text: string): ImageReference | string {
  const parsed = tryParseImageReference(text);
  if (!parsed.ok) return `oci:${text}: ${parsed.error}`;
  return parsed.reference;
}

/** The `.zip` and `.json` files of a tar layer, written as numbered files into `dir` (names are untrusted). */
async function unpackTar(
  blob: string,
  mediaType: string,
  dir: string,
  maxBytes: number,
): Promise<number | SourceFailure> {
  await mkdir(dir, { recursive: true });
  let files = 0;
  let written = 0;
  const parser = new TarParser(
    {
      entry(entry: TarEntry): TarContentReader | undefined {
        if (entry.type !== 'file') return undefined;
        const extension = entry.name.endsWith('.zip') ? 'zip' : entry.name.endsWith('.json') ? 'json' : '';
        if (extension === '') return undefined;
        written += entry.size;
        if (written > maxBytes) throw new TarLimitError('bytes', maxBytes, `unpacks past ${maxBytes} bytes`);
        const fd = openSync(join(dir, `${files++}.${extension}`), 'w');
        return {
          data(chunk) {
            writeSync(fd, chunk);
            return true;
          },
          end() {
            closeSync(fd);
          },
        };
      },
    },
    // The whole tar stream is capped too: a gzip bomb in an entry nobody reads still costs inflating.
    { maxEntries: 2_000_000, maxBytes, maxHeaderBytes: 1024 * 1024 },
  );
  try {
    for await (const chunk of tarChunks(createReadStream(blob), mediaType)) parser.write(chunk);
    parser.end();
  } catch (err) {
    if (err instanceof TarLimitError) return sourceFailure('TooLarge', err.message);
    return sourceFailure(
      'Corrupt',
      `tar layer cannot be read: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return files;
}

export class OciArtifactSource implements DatabaseSource {
  readonly kind = 'oci' as const;
  readonly label: string;
  private readonly ref: ImageReference;
  private committed: { artifacts: SourceArtifact[]; version: string; dir: string } | undefined;
  private workDir: string | undefined;

  constructor(private readonly options: OciArtifactOptions) {
    const ref = parseOciSource(options.reference);
    if (typeof ref === 'string') throw new Error(ref);
    this.ref = ref;
    this.label = `oci:${formatImageReference(ref)}`;
  }

  private async directory(): Promise<string> {
    if (this.workDir === undefined) {
      if (this.options.workDir !== undefined) {
        await mkdir(this.options.workDir, { recursive: true });
        this.workDir = await mkdtemp(join(this.options.workDir, 'oci-'));
      } else this.workDir = await mkdtemp(join(tmpdir(), 'shipshape-vulndb-oci-'));
    }
    return this.workDir;
  }

  private failure(err: unknown): SourceFailure {
    if (err instanceof TooLargeError) return sourceFailure('TooLarge', `${this.label}: ${err.message}`);
    if (isRegistryError(err)) {
      const reason =
        err.reason === 'NotFound'
          ? 'SourceNotFound'
          : err.reason === 'RegistryNotAllowed'
            ? 'SourceNotAllowed'
            : err.reason === 'Unauthorized'
              ? 'Unauthorized'
              : err.reason === 'Timeout'
                ? 'Stalled'
                : err.reason === 'DigestMismatch' || err.reason === 'SizeMismatch'
                  ? 'Corrupt'
                  : err.reason === 'ManifestTooLarge' || err.reason === 'BlobTooLarge'
                    ? 'TooLarge'
                    : err.reason === 'InvalidManifest' || err.reason === 'UnsupportedMediaType'
                      ? 'InvalidArtifact'
                      : 'Unreachable';
      return sourceFailure(reason, err.message);
    }
    return sourceFailure('Unreachable', `${this.label}: ${err instanceof Error ? err.message : String(err)}`);
  }

  async fetch(): Promise<SourceFetch> {
    let digest: string;
    let layers: readonly Descriptor[];
    let call: CallOptions;
    try {
      call = this.options.credentials === undefined ? {} : { credentials: await this.options.credentials() };
      digest = await this.options.registry.resolveDigest(this.ref, call);
      if (digest === this.committed?.version) return { outcome: 'unchanged' };
      const fetched = await this.options.registry.getManifest({ ...this.ref, digest }, call);
      if (fetched.manifest.kind !== 'manifest')
        return sourceFailure(
          'InvalidArtifact',
          `${this.label} is an image index; push the OSV zips as the layers of one manifest`,
        );
      layers = fetched.manifest.layers;
    } catch (err) {
      return this.failure(err);
    }
    const maxLayers = this.options.maxLayers ?? 64;
    const maxBytes = this.options.maxBytes ?? 2 * 1024 * 1024 * 1024;
    if (layers.length === 0) return sourceFailure('InvalidArtifact', `${this.label} has no layers`);
    if (layers.length > maxLayers)
      return sourceFailure('TooLarge', `${this.label} has ${layers.length} layers, more than ${maxLayers}`);
    const total = layers.reduce((sum, l) => sum + l.size, 0);
    if (total > maxBytes)
      return sourceFailure(
        'TooLarge',
        `${this.label} layers hold ${total} bytes, over the limit of ${maxBytes}`,
      );
    const dir = join(await this.directory(), digest.replace(':', '-'));
    const discard = (): Promise<void> => rm(dir, { recursive: true, force: true });
    const artifacts: SourceArtifact[] = [];
    try {
      await mkdir(dir, { recursive: true });
      const seen = { bytes: 0 };
      for (const [i, layer] of layers.entries()) {
        const blob = join(dir, `layer-${i}`);
        const stream: Readable = await this.options.registry.openBlob({ ...this.ref, digest }, layer, call);
        await pipeline(stream, capped(maxBytes, seen), createWriteStream(blob));
        const label = `${this.label} layer ${layer.digest}`;
        if (await startsWith(blob, ZIP_MAGIC)) {
          artifacts.push({ kind: 'zip', path: blob, label });
          continue;
        }
        const unpacked = await unpackTar(blob, layer.mediaType, `${blob}.d`, maxBytes);
        await rm(blob, { force: true });
        if (typeof unpacked !== 'number') {
          await discard();
          return { ...unpacked, message: `${label}: ${unpacked.message}` };
        }
        artifacts.push({ kind: 'dir', path: `${blob}.d`, label });
      }
    } catch (err) {
      await discard();
      return this.failure(err);
    }
    return {
      outcome: 'fetched',
      artifacts,
      version: digest,
      commit: async () => {
        const previous = this.committed;
        this.committed = { artifacts, version: digest, dir };
        if (previous !== undefined && previous.dir !== dir)
          await rm(previous.dir, { recursive: true, force: true });
      },
      discard,
    };
  }

  current(): { artifacts: SourceArtifact[]; version: string } | undefined {
    return this.committed === undefined
      ? undefined
      : { artifacts: this.committed.artifacts, version: this.committed.version };
  }

  async close(): Promise<void> {
    if (this.workDir !== undefined) await rm(this.workDir, { recursive: true, force: true });
  }
}

async function startsWith(path: string, magic: readonly number[]): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(magic.length);
    const { bytesRead } = await file.read(head, 0, magic.length, 0);
    return bytesRead === magic.length && magic.every((b, i) => head[i] === b);
  } finally {
    await file.close();
  }
}
