// ImageReports: one cluster-scoped object per image digest, holding what analysis found
// (OS, package count, vulnerabilities, scanner and database) for every workload that runs
// the image. Construction and comparison are pure; controllers/image/io.ts writes them.
// The objects stay small: no package list (the inventory lives in the operator's cache),
// at most MAX_IMAGE_REFERENCES references, and the vulnerability list capped at
// MAX_IMAGE_VULNERABILITIES (most severe, then fixable, first; the cap is stated in
// the object) while the counts by severity stay exact. Findings that are not known
// (no database yet, an inventory too large to match) are a condition that says so,
// never zero counts.
import { GROUP_VERSION } from '../api/policy-types.js';
import { IMAGE_DIGEST_PATTERN } from '../api/report-schema.js';
import type { ImageReport, ImageReportStatus, SignatureResult } from '../api/report-types.js';
import type { OsInfo } from '../sbom/types.js';
import { osLabel } from '../sbom/analyzers/os-release.js';
import { VERSION } from '../version.js';
import { canonical, MANAGED_BY_LABEL } from './security-report.js';
import { withTransition } from '../api/conditions.js';
import { MAX_IMAGE_VULNERABILITIES } from '../api/report-schema.js';
import type { Condition } from '../api/policy-types.js';
import type { ImageVulnerability } from '../api/report-types.js';
import type { ImageVulnerabilities } from '../image/vulnerability-scan.js';
import { reportSeverityOf } from '../image/vulnerability-scan.js';
import type { DatabaseStatus } from '../image/vulnerability-scan.js';

/** References kept per ImageReport; the most recently seen win a place. */
export const MAX_IMAGE_REFERENCES = 16;
const MAX_REFERENCE_LENGTH = 512;
export const SCANNER_NAME = 'shipshape';
/** The ImageReport schema's bound on status.signatures. */
export const MAX_IMAGE_SIGNATURES = 32;

const DIGEST = new RegExp(IMAGE_DIGEST_PATTERN);

export interface ImageReportInput {
  /** The image digest (sha256:<64 hex>, or sha384/sha512) the report is about. */
  readonly digest: string;
  /** References that resolved to this digest; merged with the existing report's. */
  readonly references: readonly string[];
  /** What the analysis found (the image service's ImageSummary fits). */
  readonly summary: {
    readonly os?: OsInfo;
    readonly packages: number;
    /** Files the analysis could not read: stated in the Analyzed condition, never dropped. */
    readonly warnings?: { readonly count: number; readonly shown: readonly string[] };
  };
  /** Signature verdicts per policy attestor (the signature service's resultsFor). */
  readonly signatures?: readonly SignatureResult[];
  readonly now: Date;
  readonly existing?: ImageReport;
  /** Defaults to the product version. */
  readonly scannerVersion?: string;
  /** What matching found; absent when vulnerability matching is off. */
  readonly vulnerabilities?: ImageVulnerabilities;
  /** The database provider's status, when matching is on. */
  readonly database?: DatabaseStatus;
}

/** " 1 file was not read: go-binary: /usr/bin/tool: …": what the package count leaves out. */
function notReadNote(warnings: ImageReportInput['summary']['warnings']): string {
  if (warnings === undefined || warnings.count === 0) return '';
  const files = warnings.count === 1 ? '1 file was' : `${warnings.count} files were`;
  const more =
    warnings.count > warnings.shown.length ? `; and ${warnings.count - warnings.shown.length} more` : '';
  return ` ${files} not read, so packages in them are not counted: ${warnings.shown.join('; ')}${more}.`;
}

/** "sha256-<hex>" (or sha384-, sha512-): a valid object name for a digest; undefined when it is none. */
export function imageReportName(digest: string): string | undefined {
  return DIGEST.test(digest) ? digest.replace(':', '-') : undefined;
}

export function buildImageReport(input: ImageReportInput): ImageReport {
  const { existing, now } = input;
  const nowIso = now.toISOString();
  const os = input.summary.os;
  const label = osLabel(os);
  const packageCount = input.summary.packages;

  const status: ImageReportStatus = {
    ...(os === undefined
      ? {}
      : {
          os: {
            family: os.id.slice(0, 64),
            name: (os.prettyName ?? label ?? os.id).slice(0, 128),
            ...(os.versionId === undefined ? {} : { version: os.versionId.slice(0, 64) }),
          },
        }),
    packageCount,
    ...(input.signatures === undefined || input.signatures.length === 0
      ? {}
      : { signatures: input.signatures.slice(0, MAX_IMAGE_SIGNATURES) }),
    ...vulnerabilityStatus(input.vulnerabilities),
    scanner: {
      name: SCANNER_NAME,
      version: (input.scannerVersion ?? VERSION).slice(0, 64),
      ...(input.vulnerabilities?.state === 'Matched'
        ? {
            databaseVersion: input.vulnerabilities.databaseVersion.slice(0, 128),
            databaseUpdated: (
              input.vulnerabilities.databaseUpdatedAt ?? input.vulnerabilities.databaseLoadedAt
            ).toISOString(),
          }
        : {}),
    },
    conditions: [
      withTransition(
        existing?.status?.conditions,
        {
          type: 'Analyzed',
          status: 'True',
          reason: 'Analyzed',
          message: `Found ${packageCount} ${packageCount === 1 ? 'package' : 'packages'}${
            label === undefined ? '' : ` in ${label}`
          }.${notReadNote(input.summary.warnings)}`,
        },
        nowIso,
      ),
      ...(input.database === undefined
        ? []
        : [
            withTransition(
              existing?.status?.conditions,
              vulnerabilityCondition(input.vulnerabilities, input.database),
              nowIso,
            ),
          ]),
    ],
  };
  // The scan time moves only when what the scan found moved, so a steady image writes nothing.
  const unchanged =
    existing?.status?.scannedAt !== undefined &&
    canonical(withoutScanTime(existing.status)) === canonical(status);
  status.scannedAt = unchanged ? existing?.status?.scannedAt : nowIso;

  return {
    apiVersion: GROUP_VERSION,
    kind: 'ImageReport',
    metadata: {
      name: imageReportName(input.digest) ?? '',
      labels: { [MANAGED_BY_LABEL]: 'shipshape' },
    },
    spec: {
      digest: input.digest,
      references: mergeReferences(input.references, existing?.spec.references ?? []),
    },
    status,
  };
}

/** Whether two reports say the same thing, ignoring the scan time. */
export function sameImageReport(a: ImageReport | undefined, b: ImageReport): boolean {
  if (a === undefined) return false;
  return sameImageReportSpec(a, b) && sameImageReportStatus(a, b);
}

export function sameImageReportSpec(a: ImageReport, b: ImageReport): boolean {
  return (
    canonical(a.spec) === canonical(b.spec) &&
    canonical(a.metadata.labels ?? {}) === canonical(b.metadata.labels ?? {})
  );
}

export function sameImageReportStatus(a: ImageReport, b: ImageReport): boolean {
  return canonical(withoutScanTime(a.status)) === canonical(withoutScanTime(b.status));
}

function withoutScanTime(status: ImageReportStatus | undefined): ImageReportStatus {
  if (status === undefined) return {};
  const { scannedAt: _ignored, ...rest } = status;
  return rest;
}

/** The given references first (they are current), then earlier ones, deduplicated, bounded, sorted. */
function mergeReferences(current: readonly string[], earlier: readonly string[]): string[] {
  const kept = new Set<string>();
  for (const reference of [...[...current].sort(), ...[...earlier].sort()]) {
    if (kept.size >= MAX_IMAGE_REFERENCES) break;
    if (reference !== '' && reference.length <= MAX_REFERENCE_LENGTH) kept.add(reference);
  }
  return [...kept].sort();
}

/** The ImageReport's vulnerability counts and capped list; nothing while findings are unknown. */
function vulnerabilityStatus(
  vulnerabilities: ImageVulnerabilities | undefined,
): Pick<
  ImageReportStatus,
  'vulnerabilities' | 'topVulnerabilities' | 'topVulnerabilitiesLimit' | 'topVulnerabilitiesTruncated'
> {
  if (vulnerabilities?.state !== 'Matched') return {};
  const { counts, findings } = vulnerabilities;
  const top = findings.slice(0, MAX_IMAGE_VULNERABILITIES).map((f): ImageVulnerability => {
    const entry: ImageVulnerability = {
      id: f.id.slice(0, 64),
      severity: reportSeverityOf(f.severity.level),
      package: f.package.name.slice(0, 256),
      installedVersion: f.installedVersion.slice(0, 128),
    };
    if (f.fixedVersions[0] !== undefined) entry.fixedVersion = f.fixedVersions[0].slice(0, 128);
    if (f.summary !== undefined) entry.title = f.summary.slice(0, 256);
    if (f.aliases.length > 0) entry.aliases = f.aliases.slice(0, 8).map((a) => a.slice(0, 64));
    return entry;
  });
  return {
    vulnerabilities: { ...counts },
    topVulnerabilities: top,
    topVulnerabilitiesLimit: MAX_IMAGE_VULNERABILITIES,
    topVulnerabilitiesTruncated: counts.total > top.length,
  };
}

/** Whether the counts can be trusted: matched against a current database, or why not. */
function vulnerabilityCondition(
  vulnerabilities: ImageVulnerabilities | undefined,
  database: DatabaseStatus,
): Omit<Condition, 'lastTransitionTime'> {
  const type = 'VulnerabilitiesMatched';
  if (vulnerabilities === undefined || vulnerabilities.state === 'Unknown') {
    const reason = vulnerabilities?.state === 'Unknown' ? vulnerabilities.reason : 'DatabaseUnavailable';
    const why =
      vulnerabilities?.state === 'Unknown'
        ? vulnerabilities.message
        : `no vulnerability database has loaded${database.message === undefined ? '' : `: ${database.message}`}`;
    return {
      type,
      status: 'Unknown',
      reason,
      message: `Vulnerabilities are not known: ${why}.`.slice(0, 1024),
    };
  }
  const c = vulnerabilities.counts;
  const found = `${c.total} ${c.total === 1 ? 'vulnerability' : 'vulnerabilities'} (${c.critical} critical, ${c.high} high, ${c.medium} medium, ${c.low} low; ${c.fixable} fixable) in database ${vulnerabilities.databaseVersion}`;
  if (database.state === 'Stale') {
    return {
      type,
      status: 'True',
      reason: 'DatabaseStale',
      message:
        `${found}; the database is stale, newer advisories may be missing: ${database.message ?? database.reason ?? 'the last refresh failed'}.`.slice(
          0,
          1024,
        ),
    };
  }
  return { type, status: 'True', reason: 'Matched', message: `${found}.` };
}
