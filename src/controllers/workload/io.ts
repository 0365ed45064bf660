// The SecurityReport controller's I/O: the API calls that create and update
// reports, and the writer that makes them only when the content changed.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION } from '../../api/policy-types.js';
import type { SecurityReport } from '../../api/report-types.js';
import { securityReportSpecSchema, securityReportStatusSchema } from '../../api/report-schema.js';
import { statusObjectProblems } from '../../api/validate.js';
import { sameSpec, sameStatus } from '../../report/security-report.js';
import {
  StatusObjectWriter,
  type StatusObjectClient,
  type WriteOutcome,
  type WriteResult,
} from '../../runtime/status-writer.js';

/** The calls the writer makes; CustomObjectsApi fits, tests pass a fake. */
export type ReportClient = StatusObjectClient<SecurityReport>;

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

export type ReportWriteOutcome = WriteOutcome<SecurityReport>;

/** SecurityReports: changed labels, owner or spec mean a replace; changed status a status write. */
export class ReportWriter extends StatusObjectWriter<SecurityReport> {
  constructor(client: ReportClient, onWrite?: (result: WriteResult) => void) {
    super(client, sameSpec, sameStatus, onWrite, securityReportProblems);
  }
}

/** What Shipshape's own CRD schema refuses in a SecurityReport, as the API server would name it. */
export function securityReportProblems(report: SecurityReport): string[] {
  return statusObjectProblems(securityReportSpecSchema, securityReportStatusSchema, report);
}
