// An in-memory SignatureRegistry for unit tests of discovery and verdicts: manifests by tag and
// digest, blobs by digest, an optional referrers API computed from the stored manifests' subjects,
// and a count of calls (the registry-level behaviour is proven in test/e2e/signatures.test.ts).
import { createHash } from 'node:crypto';

import type { CallOptions, FetchedManifest } from '../../../src/registry/client.js';
import { RegistryError } from '../../../src/registry/errors.js';
import { parseManifest, type Descriptor, type ImageIndex } from '../../../src/registry/manifest.js';
import type { ImageReference } from '../../../src/registry/reference.js';
import type { SignatureRegistry } from '../../../src/signature/discovery.js';

export const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export class MemoryRegistry implements SignatureRegistry {
  readonly manifests = new Map<string, Buffer>();
  readonly blobs = new Map<string, Buffer>();
  calls = 0;
  referrersCalls = 0;
  /** When set, getReferrers throws this (an unreachable registry). */
  failWith: RegistryError | undefined;
  /** When set, manifest and blob reads throw these (a registry failing after it listed the referrers). */
  failManifestsWith: RegistryError | undefined;
  failBlobsWith: RegistryError | undefined;
  /** When set, rewrites the referrers API's answer (an index that lies, or lists an entry twice). */
  editReferrers: ((manifests: Descriptor[]) => Descriptor[]) | undefined;

  constructor(private readonly referrersApi: boolean) {}

  putBlob(data: Buffer): Descriptor & { digest: string } {
    const digest = digestOf(data);
    this.blobs.set(digest, data);
    return { mediaType: 'application/octet-stream', digest, size: data.length };
  }

  putManifest(doc: unknown, tag?: string): { digest: string; size: number; bytes: Buffer } {
    const bytes = Buffer.from(JSON.stringify(doc));
    const digest = digestOf(bytes);
    this.manifests.set(digest, bytes);
    if (tag !== undefined) this.manifests.set(tag, bytes);
    return { digest, size: bytes.length, bytes };
  }

  getReferrers(
    _ref: ImageReference,
    digest: string,
    _options?: CallOptions,
  ): Promise<ImageIndex | undefined> {
    this.calls++;
    this.referrersCalls++;
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    if (!this.referrersApi) return Promise.resolve(undefined);
    const manifests: Descriptor[] = [];
    for (const [key, bytes] of this.manifests) {
      if (!key.startsWith('sha256:')) continue;
      const doc = JSON.parse(bytes.toString()) as { subject?: { digest: string }; artifactType?: string };
      if (doc.subject?.digest !== digest) continue;
      manifests.push({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: key,
        size: bytes.length,
        ...(doc.artifactType === undefined ? {} : { artifactType: doc.artifactType }),
      });
    }
    return Promise.resolve({
      kind: 'index',
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: this.editReferrers === undefined ? manifests : this.editReferrers(manifests),
    });
  }

  getManifest(ref: ImageReference, _options?: CallOptions): Promise<FetchedManifest> {
    this.calls++;
    if (this.failManifestsWith !== undefined) return Promise.reject(this.failManifestsWith);
    const key = ref.digest ?? ref.tag ?? '';
    const bytes = this.manifests.get(key);
    if (bytes === undefined) {
      return Promise.reject(new RegistryError('NotFound', `manifest ${key} not found`, { status: 404 }));
    }
    const parsed = parseManifest(bytes);
    if (!parsed.ok) return Promise.reject(new RegistryError('InvalidManifest', parsed.error));
    return Promise.resolve({
      digest: digestOf(bytes),
      mediaType: parsed.manifest.mediaType,
      bytes,
      manifest: parsed.manifest,
    });
  }

  fetchBlobBytes(
    _ref: ImageReference,
    descriptor: Descriptor,
    options?: CallOptions & { maxBytes?: number },
  ): Promise<Buffer> {
    this.calls++;
    if (this.failBlobsWith !== undefined) return Promise.reject(this.failBlobsWith);
    if (options?.maxBytes !== undefined && descriptor.size > options.maxBytes) {
      return Promise.reject(
        new RegistryError('BlobTooLarge', `blob ${descriptor.digest} is over ${options.maxBytes} bytes`),
      );
    }
    const data = this.blobs.get(descriptor.digest);
    if (data === undefined)
      return Promise.reject(new RegistryError('NotFound', `blob ${descriptor.digest} not found`));
    if (digestOf(data) !== descriptor.digest)
      return Promise.reject(new RegistryError('DigestMismatch', 'digest mismatch'));
    return Promise.resolve(data);
  }

  // ---- cosign layouts --------------------------------------------------------------------

  /** Stores an image manifest and returns its digest. */
  putImage(name: string): { digest: string; size: number } {
    const config = this.putBlob(Buffer.from(JSON.stringify({ name })));
    return this.putManifest({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { ...config, mediaType: 'application/vnd.oci.image.config.v1+json' },
      layers: [],
    });
  }

  putClassic(
    digest: string,
    layers: readonly { payload: Buffer; annotations: Record<string, string> }[],
  ): void {
    const config = this.putBlob(Buffer.from('{}'));
    this.putManifest(
      {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { ...config, mediaType: 'application/vnd.oci.image.config.v1+json' },
        layers: layers.map((l) => ({
          ...this.putBlob(l.payload),
          mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
          annotations: l.annotations,
        })),
      },
      `${digest.replace(':', '-')}.sig`,
    );
  }

  putBundle(subject: { digest: string; size: number }, bundle: unknown): string {
    const config = this.putBlob(Buffer.from('{}'));
    const layer = this.putBlob(Buffer.from(JSON.stringify(bundle)));
    const { digest, size } = this.putManifest({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      config: { ...config, mediaType: 'application/vnd.oci.empty.v1+json' },
      layers: [{ ...layer, mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' }],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...subject },
    });
    if (!this.referrersApi) {
      const tag = subject.digest.replace(':', '-');
      const existing = this.manifests.get(tag);
      const manifests =
        existing === undefined ? [] : (JSON.parse(existing.toString()) as { manifests: unknown[] }).manifests;
      manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size });
      this.putManifest(
        { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests },
        tag,
      );
    }
    return digest;
  }
}
