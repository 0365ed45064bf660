// Matches an image inventory against the vulnerability database: each package
// is mapped to its OSV ecosystem and name (the distro release from the
// inventory's OS, Debian/Ubuntu source packages, Alpine origins, Go `stdlib`),
// evaluated against every indexed affected entry, and the advisories that name
// one another through aliases (or a single upstream id) become one finding.
import type { ImageInventory, InventoryPackage, OsInfo } from '../sbom/types.js';
import type { VulnerabilityDatabase } from './database.js';
import { fixedVersions, isAffected } from './evaluate.js';
import { severityOf, severityRank } from './severity.js';
import type { Severity } from './severity.js';

export interface VulnerabilityFinding {
  /** The preferred id of the flaw (a CVE when one names it, else the first advisory id). */
  id: string;
  /** Every other id of the same flaw: advisory ids, aliases, upstream ids. */
  aliases: string[];
  package: { name: string; ecosystem: string; purl: string };
  installedVersion: string;
  fixedVersions: string[];
  severity: Severity;
  summary?: string;
}

/** The OSV ecosystems an inventory package may appear under, most specific first. */
export function osvEcosystemsOf(pkg: InventoryPackage, os: OsInfo | undefined): string[] {
  switch (pkg.ecosystem) {
    case 'deb': {
      if (os?.versionId === undefined) return [];
      if (os.id === 'debian') return [`Debian:${os.versionId.split('.')[0]}`];
      if (os.id === 'ubuntu') return [`Ubuntu:${os.versionId}:LTS`, `Ubuntu:${os.versionId}`];
      return [];
    }
    case 'apk': {
      const m = /^(\d+)\.(\d+)/.exec(os?.versionId ?? '');
      if (os?.id !== 'alpine' || m === null) return [];
      return [`Alpine:v${m[1]}.${m[2]}`];
    }
    case 'npm':
      return ['npm'];
    case 'pypi':
      return ['PyPI'];
    case 'golang':
      return ['Go'];
    case 'maven':
      return ['Maven'];
    default:
      return [];
  }
}

/** The name and version OSV records for a package: distro advisories name source packages. */
function osvCoordinates(pkg: InventoryPackage): { name: string; version: string } {
  if (pkg.ecosystem === 'deb' || pkg.ecosystem === 'apk') {
    return { name: pkg.sourceName ?? pkg.name, version: pkg.sourceVersion ?? pkg.version };
  }
  if (pkg.ecosystem === 'maven' && !pkg.name.includes(':')) {
    const m = /^pkg:maven\/([^/]+)\/([^@?]+)/.exec(pkg.purl);
    if (m !== null)
      return { name: `${decodeURIComponent(m[1]!)}:${decodeURIComponent(m[2]!)}`, version: pkg.version };
  }
  return { name: pkg.name, version: pkg.version };
}

interface Hit {
  ids: Set<string>;
  fixed: Set<string>;
  severity: Severity;
  summary?: string;
}

function preferredId(ids: Set<string>): string {
  const sorted = [...ids].sort();
  return sorted.find((id) => id.startsWith('CVE-')) ?? sorted[0]!;
}

/** The vulnerabilities of an inventory: one finding per flaw per package version. */
export function matchInventory(inventory: ImageInventory, db: VulnerabilityDatabase): VulnerabilityFinding[] {
  const findings: VulnerabilityFinding[] = [];
  const seenPackages = new Set<string>();
  for (const pkg of inventory.packages) {
    const { name, version } = osvCoordinates(pkg);
    const key = `${pkg.ecosystem}\u0000${name}\u0000${version}`;
    if (seenPackages.has(key)) continue;
    seenPackages.add(key);
    const hits: Hit[] = [];
    const byId = new Map<string, Hit>();
    for (const ecosystem of osvEcosystemsOf(pkg, inventory.os)) {
      for (const entry of db.lookup(ecosystem, name)) {
        if (!isAffected(version, entry.affected, entry.compare)) continue;
        const { advisory } = entry;
        // A bundle advisory (a DSA over ten CVEs) is not one flaw: merge on upstream only when it names one.
        const names = [
          advisory.id,
          ...advisory.aliases,
          ...(advisory.upstream.length === 1 ? advisory.upstream : []),
        ];
        const related = [...new Set(names.map((n) => byId.get(n)).filter((h): h is Hit => h !== undefined))];
        const severity = severityOf(advisory, entry.affected.severity);
        const hit: Hit = related[0] ?? { ids: new Set(), fixed: new Set(), severity };
        if (related.length === 0) hits.push(hit);
        for (const other of related.slice(1)) {
          for (const id of other.ids) hit.ids.add(id);
          for (const f of other.fixed) hit.fixed.add(f);
          if (severityRank(other.severity.level) > severityRank(hit.severity.level))
            hit.severity = other.severity;
          hit.summary ??= other.summary;
          hits.splice(hits.indexOf(other), 1);
        }
        for (const n of names) hit.ids.add(n);
        for (const f of fixedVersions(entry.affected)) hit.fixed.add(f);
        if (severityRank(severity.level) > severityRank(hit.severity.level)) hit.severity = severity;
        hit.summary ??= advisory.summary;
        for (const id of hit.ids) byId.set(id, hit);
      }
    }
    for (const hit of hits) {
      const id = preferredId(hit.ids);
      findings.push({
        id,
        aliases: [...hit.ids].filter((x) => x !== id).sort(),
        package: { name, ecosystem: pkg.ecosystem, purl: pkg.purl },
        installedVersion: version,
        fixedVersions: [...hit.fixed].sort(),
        severity: hit.severity,
        ...(hit.summary !== undefined ? { summary: hit.summary } : {}),
      });
    }
  }
  return findings;
}
