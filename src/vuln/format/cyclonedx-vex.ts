// The findings of `shipshape scan` as a CycloneDX 1.6 BOM with vulnerabilities
// (VEX): the image's components as `shipshape sbom` writes them, plus one
// vulnerability per flaw that `affects` the components it was matched in, its
// rating, fixed versions as the recommendation and analysis state `in_triage`
// (matched, not yet assessed by a person). Built as @cyclonedx/cyclonedx-library
// models and normalised by it, as the SBOM output is.
import { Enums, Models, Serialize, Spec } from '@cyclonedx/cyclonedx-library';

import { cycloneDxModelOf } from '../../sbom/format/cyclonedx.js';
import type { CycloneDxBom } from '../../sbom/format/cyclonedx.js';
import type { VulnerabilityFinding } from '../match.js';
import type { SeverityLevel } from '../severity.js';
import type { ScanReport } from './scan-report.js';
import { sortFindings } from './scan-report.js';

const SEVERITY: Record<SeverityLevel, Enums.Vulnerability.Severity> = {
  CRITICAL: Enums.Vulnerability.Severity.Critical,
  HIGH: Enums.Vulnerability.Severity.High,
  MEDIUM: Enums.Vulnerability.Severity.Medium,
  LOW: Enums.Vulnerability.Severity.Low,
  NONE: Enums.Vulnerability.Severity.None,
  UNKNOWN: Enums.Vulnerability.Severity.Unknown,
};

const METHOD: Record<string, Enums.Vulnerability.RatingMethod> = {
  CVSS_V2: Enums.Vulnerability.RatingMethod.CVSSv2,
  CVSS_V3: Enums.Vulnerability.RatingMethod.CVSSv31,
  CVSS_V4: Enums.Vulnerability.RatingMethod.CVSSv4,
};

export interface VexOptions {
  timestamp?: Date;
  serialNumber?: string;
}

function sourceOf(id: string): Models.Vulnerability.Source {
  if (id.startsWith('CVE-')) return new Models.Vulnerability.Source({ name: 'NVD' });
  if (id.startsWith('GHSA-')) return new Models.Vulnerability.Source({ name: 'GitHub' });
  return new Models.Vulnerability.Source({ name: 'OSV' });
}

export function scanCycloneDxVex(report: ScanReport, options: VexOptions = {}): CycloneDxBom {
  const bom = cycloneDxModelOf(report.inventory, {
    imageName: report.image,
    imageDigest: report.digest,
    toolVersion: report.toolVersion,
    ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
    ...(options.serialNumber === undefined ? {} : { serialNumber: options.serialNumber }),
  });
  const components = new Map([...bom.components].map((c) => [c.bomRef.value, c]));
  // One vulnerability per id; a flaw in several packages affects each of them.
  const byId = new Map<string, VulnerabilityFinding[]>();
  for (const f of sortFindings(report.findings)) {
    const list = byId.get(f.id);
    if (list === undefined) byId.set(f.id, [f]);
    else list.push(f);
  }
  for (const [id, findings] of byId) {
    const first = findings[0]!;
    const affects = new Models.Vulnerability.AffectRepository();
    for (const f of findings) {
      const component = components.get(f.package.purl);
      if (component === undefined) continue;
      affects.add(
        new Models.Vulnerability.Affect(component.bomRef, {
          versions: new Models.Vulnerability.AffectedVersionRepository([
            new Models.Vulnerability.AffectedSingleVersion(f.installedVersion, {
              status: Enums.Vulnerability.AffectStatus.Affected,
            }),
          ]),
        }),
      );
    }
    const fixes = [...new Set(findings.flatMap((f) => f.fixedVersions))];
    const method = first.severity.source === undefined ? undefined : METHOD[first.severity.source];
    bom.vulnerabilities.add(
      new Models.Vulnerability.Vulnerability({
        bomRef: `vuln:${id}`,
        id,
        source: sourceOf(id),
        ratings: new Models.Vulnerability.RatingRepository([
          new Models.Vulnerability.Rating({
            severity: SEVERITY[first.severity.level],
            ...(first.severity.score === undefined ? {} : { score: first.severity.score }),
            method: method ?? Enums.Vulnerability.RatingMethod.Other,
          }),
        ]),
        ...(first.summary === undefined ? {} : { description: first.summary }),
        recommendation:
          fixes.length === 0 ? 'No fixed version is known.' : `Upgrade to ${fixes.join(' or ')}.`,
        analysis: new Models.Vulnerability.Analysis({ state: Enums.Vulnerability.AnalysisState.InTriage }),
        affects,
        properties: new Models.PropertyRepository(
          first.aliases.map((alias) => new Models.Property('shipshape:alias', alias)),
        ),
      }),
    );
  }
  const normalized = new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6)
    .makeForBom()
    .normalize(bom, { sortLists: false });
  // As in the SBOM output: only the image's own edge of the dependency graph is known.
  const subjectRef = normalized.metadata?.component?.['bom-ref'];
  if (normalized.dependencies !== undefined) {
    normalized.dependencies = normalized.dependencies.filter((d) => d.ref === subjectRef);
  }
  return normalized;
}
