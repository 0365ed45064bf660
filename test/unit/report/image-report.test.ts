import assert from 'node:assert/strict';

import type { KubeConfig } from '@kubernetes/client-node';

import { imageReportStatusSchema, imageReportSpecSchema } from '../../../src/api/report-schema.js';
import type { ImageReport } from '../../../src/api/report-types.js';
import { validateAgainstSchema } from '../../../src/api/validate.js';
import type { ReportWriteResult } from '../../../src/metrics/registry.js';
import {
  buildImageReport,
  imageReportName,
  MAX_IMAGE_REFERENCES,
  sameImageReport,
  type ImageReportInput,
} from '../../../src/report/image-report.js';
import {
  customObjectsImageReportClient,
  ImageReportWriter,
  type ImageReportClient,
} from '../../../src/controllers/image/io.js';
import { osLabel } from '../../../src/sbom/analyzers/os-release.js';
import type { OsInfo } from '../../../src/sbom/types.js';

const HEX = 'c'.repeat(64);
const DIGEST = `sha256:${HEX}`;
const T0 = new Date('2025-03-01T10:00:00.000Z');
const T1 = new Date('2025-03-01T16:00:00.000Z');
const DEBIAN: OsInfo = {
  id: 'debian',
  versionId: '12',
  prettyName: 'Debian GNU/Linux 12 (bookworm)',
  source: '/etc/os-release',
};

// Compile-time proof that the production client is an ImageReportClient.
const _productionClientFits: (kc: KubeConfig) => ImageReportClient = customObjectsImageReportClient;
void _productionClientFits;

function input(overrides: Partial<ImageReportInput> = {}): ImageReportInput {
  return {
    digest: DIGEST,
    references: ['nginx:1.27'],
    summary: { os: DEBIAN, packages: 120 },
    now: T0,
    scannerVersion: '0.1.0',
    ...overrides,
  };
}

describe('ImageReport construction', () => {
  it('names the report after the digest and records OS, package count, scanner and scan time', () => {
    const report = buildImageReport(input());
    assert.equal(report.metadata.name, `sha256-${HEX}`);
    assert.equal(report.metadata.namespace, undefined, 'ImageReports are cluster-scoped');
    assert.deepEqual(report.spec, { digest: DIGEST, references: ['nginx:1.27'] });
    assert.deepEqual(report.status?.os, {
      family: 'debian',
      name: 'Debian GNU/Linux 12 (bookworm)',
      version: '12',
    });
    assert.equal(report.status?.packageCount, 120);
    assert.deepEqual(report.status?.scanner, { name: 'shipshape', version: '0.1.0' });
    assert.equal(report.status?.scannedAt, T0.toISOString());
    assert.equal(report.status?.vulnerabilities, undefined);
    assert.deepEqual(report.status?.conditions, [
      {
        type: 'Analyzed',
        status: 'True',
        reason: 'Analyzed',
        message: 'Found 120 packages in debian 12.',
        lastTransitionTime: T0.toISOString(),
      },
    ]);
  });

  it('produces objects the CRD schema accepts', () => {
    const report = buildImageReport(input());
    assert.deepEqual(validateAgainstSchema(imageReportSpecSchema, report.spec), []);
    assert.deepEqual(validateAgainstSchema(imageReportStatusSchema, report.status), []);
  });

  it('names sha256, sha384 and sha512 digests and no other string', () => {
    assert.equal(imageReportName(`sha512:${'e'.repeat(128)}`), `sha512-${'e'.repeat(128)}`);
    assert.equal(imageReportName(`sha384:${'e'.repeat(96)}`), `sha384-${'e'.repeat(96)}`);
    assert.equal(imageReportName('sha512:abc'), undefined);
    assert.equal(imageReportName('nginx:latest'), undefined);
    const report = buildImageReport(input({ digest: `sha512:${'e'.repeat(128)}` }));
    assert.deepEqual(validateAgainstSchema(imageReportSpecSchema, report.spec), []);
  });

  it('keeps the scan time and condition time when a rescan finds the same content', () => {
    const first = buildImageReport(input());
    const again = buildImageReport(input({ now: T1, existing: first }));
    assert.equal(again.status?.scannedAt, T0.toISOString());
    assert.equal(again.status?.conditions?.[0]?.lastTransitionTime, T0.toISOString());
    assert.ok(sameImageReport(first, again));
  });

  it('moves the scan time when the content changed', () => {
    const first = buildImageReport(input());
    const changed = buildImageReport(
      input({ now: T1, existing: first, summary: { os: DEBIAN, packages: 121 } }),
    );
    assert.equal(changed.status?.scannedAt, T1.toISOString());
    assert.equal(changed.status?.packageCount, 121);
    assert.equal(sameImageReport(first, changed), false);
  });

  it('merges references with those already reported, bounded and sorted', () => {
    const earlier = buildImageReport(input({ references: ['b/app:1', 'a/app:1'] }));
    const merged = buildImageReport(input({ references: ['c/app:1', 'a/app:1'], existing: earlier }));
    assert.deepEqual(merged.spec.references, ['a/app:1', 'b/app:1', 'c/app:1']);

    const many = Array.from({ length: 40 }, (_, i) => `old/app:${String(i).padStart(2, '0')}`);
    const crowded = buildImageReport(input({ references: many }));
    assert.equal(crowded.spec.references?.length, MAX_IMAGE_REFERENCES);
    const withNew = buildImageReport(input({ references: ['zz/new:1'], existing: crowded }));
    assert.ok(withNew.spec.references?.includes('zz/new:1'), 'a current reference always gets a place');
    assert.equal(withNew.spec.references?.length, MAX_IMAGE_REFERENCES);
  });

  it('reports an image without a known distribution', () => {
    const report = buildImageReport(input({ summary: { packages: 0 } }));
    assert.equal(report.status?.os, undefined);
    assert.equal(report.status?.conditions?.[0]?.message, 'Found 0 packages.');
  });

  it('states the files the analysis could not read, so 0 packages is not read as a clean image', () => {
    const elf = 'go-binary: /usr/bin/tool: ELF has 65535 sections, over the limit of 4096 (MAX_ELF_SECTIONS)';
    const one = buildImageReport(input({ summary: { packages: 0, warnings: { count: 1, shown: [elf] } } }));
    assert.equal(
      one.status?.conditions?.[0]?.message,
      `Found 0 packages. 1 file was not read, so packages in them are not counted: ${elf}.`,
    );
    const many = buildImageReport(
      input({ summary: { packages: 2, warnings: { count: 5, shown: ['a: /x: bad', 'b: /y: bad'] } } }),
    );
    assert.match(
      many.status?.conditions?.[0]?.message ?? '',
      /5 files were not read.*: a: \/x: bad; b: \/y: bad; and 3 more\.$/,
    );
  });

  it('labels distributions briefly', () => {
    assert.equal(osLabel(DEBIAN), 'debian 12');
    assert.equal(osLabel({ id: 'alpine', source: '/etc/alpine-release' }), 'alpine');
    assert.equal(osLabel(undefined), undefined);
  });

  it('treats a report as different when its references change', () => {
    const first = buildImageReport(input());
    const other = buildImageReport(input({ references: ['nginx:stable'], existing: first }));
    assert.equal(sameImageReport(first, other), false);
    assert.equal(sameImageReport(undefined, first), false);
  });
});

/** An API server for ImageReports in memory: resourceVersions, 404 and 409. */
class FakeImageReportApi implements ImageReportClient {
  readonly stored = new Map<string, ImageReport>();
  readonly calls: { call: string; name: string }[] = [];
  private version = 1;

  private keep(report: ImageReport): ImageReport {
    const copy = structuredClone({
      ...report,
      metadata: { ...report.metadata, resourceVersion: String(++this.version) },
    });
    this.stored.set(report.metadata.name ?? '', copy);
    return structuredClone(copy);
  }

  get(name: string): Promise<ImageReport | undefined> {
    this.calls.push({ call: 'get', name });
    const found = this.stored.get(name);
    return Promise.resolve(found === undefined ? undefined : structuredClone(found));
  }

  create(report: ImageReport): Promise<ImageReport> {
    const name = report.metadata.name ?? '';
    this.calls.push({ call: 'create', name });
    if (this.stored.has(name)) return Promise.reject(Object.assign(new Error('exists'), { code: 409 }));
    // The API server ignores status on create when the status subresource is enabled.
    return Promise.resolve(this.keep({ ...report, status: undefined }));
  }

  replace(report: ImageReport): Promise<ImageReport> {
    const name = report.metadata.name ?? '';
    this.calls.push({ call: 'replace', name });
    const current = this.stored.get(name);
    if (current?.metadata.resourceVersion !== report.metadata.resourceVersion) {
      return Promise.reject(Object.assign(new Error('conflict'), { code: 409 }));
    }
    return Promise.resolve(this.keep({ ...report, status: current?.status }));
  }

  replaceStatus(report: ImageReport): Promise<ImageReport> {
    const name = report.metadata.name ?? '';
    this.calls.push({ call: 'replaceStatus', name });
    const current = this.stored.get(name);
    if (current === undefined || current.metadata.resourceVersion !== report.metadata.resourceVersion) {
      return Promise.reject(Object.assign(new Error('conflict'), { code: 409 }));
    }
    return Promise.resolve(this.keep({ ...current, status: report.status }));
  }
}

describe('ImageReportWriter', () => {
  let api: FakeImageReportApi;
  let results: ReportWriteResult[];
  let writer: ImageReportWriter;

  beforeEach(() => {
    api = new FakeImageReportApi();
    results = [];
    writer = new ImageReportWriter(api, (result) => results.push(result));
  });

  it('creates a new report, then writes its status through the status subresource', async () => {
    const { result, stored } = await writer.write(buildImageReport(input()), undefined);
    assert.equal(result, 'created');
    assert.deepEqual(
      api.calls.map((c) => c.call),
      ['create', 'replaceStatus'],
    );
    assert.equal(stored.status?.packageCount, 120);
    assert.deepEqual(results, ['created']);
  });

  it('writes nothing when the report already says the same', async () => {
    const { stored } = await writer.write(buildImageReport(input()), undefined);
    api.calls.length = 0;
    const { result } = await writer.write(buildImageReport(input({ now: T1, existing: stored })), stored);
    assert.equal(result, 'unchanged');
    assert.deepEqual(api.calls, []);
  });

  it('replaces only the status when only the scan result changed', async () => {
    const { stored } = await writer.write(buildImageReport(input()), undefined);
    api.calls.length = 0;
    const desired = buildImageReport(
      input({ now: T1, existing: stored, summary: { os: DEBIAN, packages: 3 } }),
    );
    const { result, stored: after } = await writer.write(desired, stored);
    assert.equal(result, 'updated');
    assert.deepEqual(
      api.calls.map((c) => c.call),
      ['replaceStatus'],
    );
    assert.equal(after.status?.packageCount, 3);
  });

  it('replaces the spec when references change, keeping the status write separate', async () => {
    const { stored } = await writer.write(buildImageReport(input()), undefined);
    api.calls.length = 0;
    const desired = buildImageReport(input({ references: ['mirror/nginx:1.27'], existing: stored }));
    const { result, stored: after } = await writer.write(desired, stored);
    assert.equal(result, 'updated');
    assert.deepEqual(
      api.calls.map((c) => c.call),
      ['replace'],
    );
    assert.deepEqual(after.spec.references, ['mirror/nginx:1.27', 'nginx:1.27']);
    assert.equal(after.status?.packageCount, 120, 'the status survives the spec replace');
  });

  it('publishes from the stored report: first a create, then nothing for an unchanged rescan', async () => {
    const first = await writer.publish(input());
    assert.equal(first.result, 'created');
    api.calls.length = 0;
    const second = await writer.publish(input({ now: T1 }));
    assert.equal(second.result, 'unchanged');
    assert.deepEqual(
      api.calls.map((c) => c.call),
      ['get'],
    );
    assert.equal(second.stored.status?.scannedAt, T0.toISOString());
  });

  it('counts a conflict and rethrows it for the caller to retry', async () => {
    await writer.write(buildImageReport(input()), undefined);
    results.length = 0;
    await assert.rejects(writer.write(buildImageReport(input()), undefined), { code: 409 });
    assert.deepEqual(results, ['conflict']);
  });
});
