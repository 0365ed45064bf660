// Writes SecurityReports only when their content changed: create, then the
// status subresource; an existing report gets a replace of whatever part
// (metadata/spec or status) differs. Every write is counted by result.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION } from '../api/policy-types.js';
import type { SecurityReport } from '../api/report-types.js';
import type { ReportWriteResult } from '../metrics/registry.js';
import { sameSpec, sameStatus } from './security-report.js';

/** The calls the writer makes; CustomObjectsApi fits, tests pass a fake. */
export interface ReportClient {
  create(report: SecurityReport): Promise<SecurityReport>;
  replace(report: SecurityReport): Promise<SecurityReport>;
  replaceStatus(report: SecurityReport): Promise<SecurityReport>;
}

export function customObjectsReportClient(kc: KubeConfig, fieldManager = 'shipshape'): ReportClient {
  const api = kc.makeApiClient(CustomObjectsApi);
  const target = (r: SecurityReport) => ({
    group: API_GROUP,
    version: API_VERSION,
    plural: 'securityreports',
    namespace: r.metadata.namespace ?? '',
  });
  return {
    create: async (r) =>
      (await api.createNamespacedCustomObject({ ...target(r), body: r, fieldManager })) as SecurityReport,
    replace: async (r) =>
      (await api.replaceNamespacedCustomObject({
        ...target(r),
        name: r.metadata.name ?? '',
        body: r,
        fieldManager,
      })) as SecurityReport,
    replaceStatus: async (r) =>
      (await api.replaceNamespacedCustomObjectStatus({
        ...target(r),
        name: r.metadata.name ?? '',
        body: r,
        fieldManager,
      })) as SecurityReport,
  };
}

export interface WriteOutcome {
  result: ReportWriteResult;
  /** The report as the API server stored it (with its new resourceVersion). */
  stored: SecurityReport;
}

export class ReportWriter {
  constructor(
    private readonly client: ReportClient,
    private readonly onWrite: (result: ReportWriteResult) => void = () => undefined,
  ) {}

  /**
   * Makes the stored report say what `desired` says. `existing` is the cached
   * copy; a 409 (someone else wrote meanwhile) is rethrown for the caller's
   * retry with backoff, after the informer has caught up.
   */
  async write(desired: SecurityReport, existing: SecurityReport | undefined): Promise<WriteOutcome> {
    try {
      const outcome = await this.apply(desired, existing);
      this.onWrite(outcome.result);
      return outcome;
    } catch (error) {
      this.onWrite(statusOf(error) === 409 ? 'conflict' : 'error');
      throw error;
    }
  }

  private async apply(desired: SecurityReport, existing: SecurityReport | undefined): Promise<WriteOutcome> {
    if (!existing) {
      // A 409 here means our cache is behind; the caller's retry will see the report.
      const created = await this.client.create(desired);
      const stored = await this.client.replaceStatus({ ...created, status: desired.status });
      return { result: 'created', stored };
    }
    let current = existing;
    let changed = false;
    if (!sameSpec(existing, desired)) {
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
    if (!sameStatus(current, desired)) {
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
