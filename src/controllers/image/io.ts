// The ImageReport controller's I/O: the API calls for cluster-scoped
// ImageReports and the writer that changes them only when their content did.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION } from '../../api/policy-types.js';
import { imageReportSpecSchema, imageReportStatusSchema } from '../../api/report-schema.js';
import type { ImageReport } from '../../api/report-types.js';
import { statusObjectProblems } from '../../api/validate.js';
import {
  buildImageReport,
  imageReportName,
  sameImageReportSpec,
  sameImageReportStatus,
  type ImageReportInput,
} from '../../report/image-report.js';
import {
  StatusObjectWriter,
  statusOf,
  type WriteOutcome,
  type WriteResult,
} from '../../runtime/status-writer.js';
import { TerminalError } from '../../runtime/workqueue.js';
import { LRUCache } from 'lru-cache';

/** The calls the writer makes; CustomObjectsApi fits, tests pass a fake. */
export interface ImageReportClient {
  /** The stored report, or undefined when there is none (404). */
  get(name: string): Promise<ImageReport | undefined>;
  create(report: ImageReport): Promise<ImageReport>;
  replace(report: ImageReport): Promise<ImageReport>;
  replaceStatus(report: ImageReport): Promise<ImageReport>;
}

export function customObjectsImageReportClient(
  kc: KubeConfig,
  fieldManager = 'shipshape',
): ImageReportClient {
  const api = kc.makeApiClient(CustomObjectsApi);
  const target = { group: API_GROUP, version: API_VERSION, plural: 'imagereports' };
  return {
    get: async (name) => {
      try {
        return (await api.getClusterCustomObject({ ...target, name })) as ImageReport;
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    },
    create: async (r) =>
      (await api.createClusterCustomObject({ ...target, body: r, fieldManager })) as ImageReport,
    replace: async (r) =>
      (await api.replaceClusterCustomObject({
        ...target,
        name: r.metadata.name ?? '',
        body: r,
        fieldManager,
      })) as ImageReport,
    replaceStatus: async (r) =>
      (await api.replaceClusterCustomObjectStatus({
        ...target,
        name: r.metadata.name ?? '',
        body: r,
        fieldManager,
      })) as ImageReport,
  };
}

export type ImageReportWriteOutcome = WriteOutcome<ImageReport>;

export class ImageReportWriter {
  private readonly writer: StatusObjectWriter<ImageReport>;
  /**
   * Names this writer has read or written. A digest seen for the first time is most
   * likely new (images roll out by the hundred), so its report is created without a
   * read first; a 409 says it exists after all (a restart), and the read follows.
   */
  private readonly seen = new LRUCache<string, true>({ max: 8192 });

  constructor(
    private readonly client: ImageReportClient,
    private readonly onWrite: (result: WriteResult) => void = () => undefined,
  ) {
    this.writer = new StatusObjectWriter(
      client,
      sameImageReportSpec,
      sameImageReportStatus,
      onWrite,
      imageReportProblems,
    );
  }

  /** Reads the stored report, builds the desired one from it, and writes the difference. */
  async publish(input: Omit<ImageReportInput, 'existing'>): Promise<ImageReportWriteOutcome> {
    const name = imageReportName(input.digest);
    if (name === undefined) {
      this.onWrite('error');
      throw new TerminalError(`image digest ${input.digest.slice(0, 140)} cannot name an ImageReport`);
    }
    if (!this.seen.has(name)) {
      this.seen.set(name, true);
      try {
        return await this.write(buildImageReport(input), undefined);
      } catch (error) {
        if (statusOf(error) !== 409) throw error;
      }
    }
    let existing: ImageReport | undefined;
    try {
      existing = await this.client.get(name);
    } catch (error) {
      this.onWrite('error');
      throw error;
    }
    return this.write(
      buildImageReport({ ...input, ...(existing === undefined ? {} : { existing }) }),
      existing,
    );
  }

  /**
   * Makes the stored report say what `desired` says; `existing` is the stored copy, or
   * undefined when there is none. Failures (409 included) are rethrown for the caller's retry.
   */
  write(desired: ImageReport, existing: ImageReport | undefined): Promise<ImageReportWriteOutcome> {
    return this.writer.write(desired, existing);
  }
}

/** What Shipshape's own CRD schema refuses in an ImageReport, as the API server would name it. */
export function imageReportProblems(report: ImageReport): string[] {
  return statusObjectProblems(imageReportSpecSchema, imageReportStatusSchema, report);
}
