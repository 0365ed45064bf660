// ImageReportWriter's calls: a digest it has not seen is created without a read
// first; a 409 (the report exists, e.g. after a restart) falls back to read-then-write;
// a digest it has seen is read first so its resourceVersion and content are current.
import { strict as assert } from 'node:assert';
import type { ImageReport } from '../../../../src/api/report-types.js';
import { ImageReportWriter, type ImageReportClient } from '../../../../src/controllers/image/io.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

function conflict(): Error {
  return Object.assign(new Error('AlreadyExists'), { code: 409 });
}

class FakeClient implements ImageReportClient {
  readonly calls: string[] = [];
  readonly stored = new Map<string, ImageReport>();
  private version = 0;

  async get(name: string): Promise<ImageReport | undefined> {
    this.calls.push(`get ${name}`);
    return this.stored.get(name);
  }
  async create(r: ImageReport): Promise<ImageReport> {
    this.calls.push(`create ${r.metadata.name}`);
    if (this.stored.has(r.metadata.name ?? '')) throw conflict();
    return this.put({ ...r, status: undefined });
  }
  async replace(r: ImageReport): Promise<ImageReport> {
    this.calls.push(`replace ${r.metadata.name}`);
    return this.put(r);
  }
  async replaceStatus(r: ImageReport): Promise<ImageReport> {
    this.calls.push(`replaceStatus ${r.metadata.name}`);
    return this.put(r);
  }
  private put(r: ImageReport): ImageReport {
    const stored = { ...r, metadata: { ...r.metadata, resourceVersion: String(++this.version) } };
    this.stored.set(r.metadata.name ?? '', stored);
    return stored;
  }
}

const input = (packages: number) => ({
  digest: DIGEST,
  references: ['127.0.0.1:5000/app:1'],
  summary: { packages },
  now: new Date('2026-12-02T00:00:00Z'),
});

describe('ImageReportWriter', () => {
  const name = `sha256-${'a'.repeat(64)}`;

  it('creates the report of a digest it has not seen without reading first', async () => {
    const client = new FakeClient();
    const outcome = await new ImageReportWriter(client).publish(input(3));
    assert.equal(outcome.result, 'created');
    assert.deepEqual(client.calls, [`create ${name}`, `replaceStatus ${name}`]);
  });

  it('reads and rewrites a report that already exists when the create is refused with 409', async () => {
    const client = new FakeClient();
    await new ImageReportWriter(client).publish(input(3));
    client.calls.length = 0;
    // A new writer: the operator restarted and has seen nothing yet.
    const results: string[] = [];
    const outcome = await new ImageReportWriter(client, (r) => results.push(r)).publish(input(4));
    assert.equal(outcome.result, 'updated');
    assert.deepEqual(client.calls, [`create ${name}`, `get ${name}`, `replaceStatus ${name}`]);
    assert.deepEqual(results, ['conflict', 'updated']);
    assert.equal(client.stored.get(name)?.status?.packageCount, 4);
  });

  it('reads a report it has seen before writing, so the write carries the stored resourceVersion', async () => {
    const client = new FakeClient();
    const writer = new ImageReportWriter(client);
    await writer.publish(input(3));
    client.calls.length = 0;
    await writer.publish(input(5));
    assert.deepEqual(client.calls, [`get ${name}`, `replaceStatus ${name}`]);
    assert.equal(client.stored.get(name)?.status?.packageCount, 5);
  });

  it('refuses a digest that cannot name an ImageReport before any call', async () => {
    const client = new FakeClient();
    await assert.rejects(
      new ImageReportWriter(client).publish({ ...input(1), digest: 'md5:00' }),
      /cannot name an ImageReport/,
    );
    assert.deepEqual(client.calls, []);
  });
});
