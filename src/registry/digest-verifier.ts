// A pass-through stream that checks a blob against its descriptor while it flows:
// more bytes than the descriptor's size fail at once (a registry cannot make us read
// an endless stream), and a short stream or a different digest fails at the end,
// before the consumer sees the stream finish successfully.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

import { RegistryError } from './errors.js';

export interface VerifierContext {
  readonly digest: string;
  readonly size: number;
  readonly registry: string;
  readonly repository: string;
}

export class DigestVerifier extends Transform {
  private readonly hash: Hash;
  private seen = 0;

  constructor(private readonly expected: VerifierContext) {
    super();
    const algorithm = expected.digest.slice(0, expected.digest.indexOf(':'));
    this.hash = createHash(algorithm);
  }

  /** Bytes that have passed so far. */
  get bytesSeen(): number {
    return this.seen;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.expected.size) {
      callback(
        this.error('SizeMismatch', `is longer than the ${this.expected.size} bytes its descriptor states`),
      );
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.seen !== this.expected.size) {
      callback(this.error('SizeMismatch', `ended after ${this.seen} of ${this.expected.size} bytes`));
      return;
    }
    const actual = `${this.expected.digest.slice(0, this.expected.digest.indexOf(':'))}:${this.hash.digest('hex')}`;
    if (actual !== this.expected.digest) {
      callback(this.error('DigestMismatch', `has digest ${actual}, not the expected one`));
      return;
    }
    callback();
  }

  private error(reason: 'SizeMismatch' | 'DigestMismatch', what: string): RegistryError {
    const { registry, repository, digest } = this.expected;
    return new RegistryError(
      reason,
      `blob ${digest} from registry ${registry} (repository ${repository}) ${what}`,
      {
        registry,
        repository,
        retryable: true,
      },
    );
  }
}
