// Writes any object with a status subresource only when its content changed:
// create, then the status; an existing object gets a replace of whatever part
// (metadata/spec or status) differs. Every write is reported by result, so the
// caller can count it.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { TerminalError } from './workqueue.js';

export type WriteResult = 'created' | 'updated' | 'unchanged' | 'conflict' | 'error';

export interface WriteOutcome<T> {
  result: WriteResult;
  /** The object as the API server stored it (with its new resourceVersion). */
  stored: T;
}

/** An object with a status subresource, as the writers see it. */
export interface StatusObject {
  metadata: V1ObjectMeta;
  status?: unknown;
}

/** The calls a StatusObjectWriter makes. */
export interface StatusObjectClient<T> {
  create(object: T): Promise<T>;
  replace(object: T): Promise<T>;
  replaceStatus(object: T): Promise<T>;
}

/**
 * Writes an object with a status subresource only where it differs from the
 * stored copy: create, then the status (the API server ignores status on
 * create); otherwise replace metadata/spec and/or status as needed.
 */
export class StatusObjectWriter<T extends StatusObject> {
  constructor(
    private readonly client: StatusObjectClient<T>,
    private readonly sameSpec: (existing: T, desired: T) => boolean,
    private readonly sameStatus: (existing: T, desired: T) => boolean,
    private readonly onWrite: (result: WriteResult) => void = () => undefined,
    /** Problems the API server would refuse the object for (its schema), checked before any write. */
    private readonly problemsOf: (object: T) => string[] = () => [],
  ) {}

  /**
   * Makes the stored object say what `desired` says. `existing` is the cached or
   * stored copy; a 409 (someone else wrote meanwhile) is rethrown for the
   * caller's retry with backoff, after the informer has caught up.
   */
  async write(desired: T, existing: T | undefined): Promise<WriteOutcome<T>> {
    const problems = this.problemsOf(desired);
    if (problems.length > 0) {
      // Writing it would be refused on every retry: fail for good, and say what is wrong.
      this.onWrite('error');
      throw new TerminalError(
        `${desired.metadata.name ?? 'the object'} would be refused by the API server: ${problems.slice(0, 3).join('; ')}`,
      );
    }
    try {
      const outcome = await this.apply(desired, existing);
      this.onWrite(outcome.result);
      return outcome;
    } catch (error) {
      this.onWrite(statusOf(error) === 409 ? 'conflict' : 'error');
      throw error;
    }
  }

  private async apply(desired: T, existing: T | undefined): Promise<WriteOutcome<T>> {
    if (!existing) {
      // A 409 here means our cache is behind; the caller's retry will see the object.
      const created = await this.client.create(desired);
      const stored = await this.client.replaceStatus({ ...created, status: desired.status });
      return { result: 'created', stored };
    }
    let current = existing;
    let changed = false;
    if (!this.sameSpec(existing, desired)) {
      current = await this.client.replace({
        ...desired,
        metadata: {
          ...existing.metadata,
          labels: desired.metadata.labels,
          ownerReferences: desired.metadata.ownerReferences,
        },
        status: existing.status,
      });
      changed = true;
    }
    if (!this.sameStatus(current, desired)) {
      current = await this.client.replaceStatus({ ...current, status: desired.status });
      changed = true;
    }
    return { result: changed ? 'updated' : 'unchanged', stored: current };
  }
}

export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}
