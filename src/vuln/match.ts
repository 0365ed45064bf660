// Matches an image inventory against the vulnerability database: each package
// is mapped to its OSV ecosystem and name (the distro release from the
// inventory's OS, Debian/Ubuntu source packages, Alpine origins, Go `stdlib`),
// evaluated against every indexed affected entry, and the advisories that name
// one another through aliases (or a single upstream id) become one finding.
import type { ImageInventory, InventoryPackage, OsInfo } from '../sbom/types.js';
import type { EntryFacts, IndexedAffected, VulnerabilityDatabase } from './database.js';
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
      // Testing and sid ("trixie/sid") have no numbered release to look advisories up under.
      const major = /^(\d+)(?:\.|$)/.exec(os.versionId)?.[1];
      if (os.id === 'debian') return major === undefined ? [] : [`Debian:${major}`];
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

/** The smallest CVE id, else the smallest id: stable whatever order the advisories were loaded in. */
function preferredId(ids: Set<string>): string {
  let best: string | undefined;
  let bestIsCve = false;
  for (const id of ids) {
    const isCve = id.startsWith('CVE-');
    if (best === undefined || (isCve && !bestIsCve) || (isCve === bestIsCve && id < best)) {
      best = id;
      bestIsCve = isCve;
    }
  }
  return best!;
}

/** The vulnerabilities of an inventory: one finding per flaw per package version. */
/**
 * The facts a finding takes from an entry. A bundle advisory (a DSA over ten
 * CVEs) is not one flaw: it merges on upstream ids only when it names one.
 */
function factsOf(entry: IndexedAffected): EntryFacts {
  if (entry.facts === undefined) {
    const { advisory } = entry;
    entry.facts = {
      severity: severityOf(advisory, entry.affected.severity),
      fixed: fixedVersions(entry.affected),
      mergeIds: [
        advisory.id,
        ...advisory.aliases,
        ...(advisory.upstream.length === 1 ? advisory.upstream : []),
      ],
    };
  }
  return entry.facts;
}

function absorb(into: Hit, other: Hit): void {
  for (const id of other.ids) into.ids.add(id);
  for (const f of other.fixed) into.fixed.add(f);
  if (severityRank(other.severity.level) > severityRank(into.severity.level)) into.severity = other.severity;
  into.summary ??= other.summary;
}

/** Adds one matching advisory to the package's hits, merging every hit it shares an id with. */
function record(hits: Hit[], byId: Map<string, Hit>, entry: IndexedAffected): void {
  const { advisory } = entry;
  const { mergeIds: ids, severity, fixed } = factsOf(entry);
  let hit: Hit | undefined;
  for (const id of ids) {
    const other = byId.get(id);
    if (other === undefined || other === hit) continue;
    if (hit === undefined) hit = other;
    else {
      absorb(hit, other);
      hits.splice(hits.indexOf(other), 1);
      for (const moved of other.ids) byId.set(moved, hit);
    }
  }
  if (hit === undefined) {
    hit = { ids: new Set(), fixed: new Set(), severity };
    hits.push(hit);
  }
  for (const id of ids) {
    hit.ids.add(id);
    byId.set(id, hit);
  }
  for (const f of fixed) hit.fixed.add(f);
  if (severityRank(severity.level) > severityRank(hit.severity.level)) hit.severity = severity;
  hit.summary ??= advisory.summary;
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
        if (isAffected(version, entry.affected, entry.compare)) record(hits, byId, entry);
      }
    }
    if (hits.length === 0) continue;
    const subject = { name, ecosystem: pkg.ecosystem, purl: pkg.purl };
    for (const hit of hits) {
      const id = preferredId(hit.ids);
      const aliases: string[] = [];
      for (const other of hit.ids) if (other !== id) aliases.push(other);
      const finding: VulnerabilityFinding = {
        id,
        aliases: aliases.length < 2 ? aliases : aliases.sort(),
        package: subject,
        installedVersion: version,
        fixedVersions: hit.fixed.size < 2 ? [...hit.fixed] : [...hit.fixed].sort(),
        severity: hit.severity,
      };
      if (hit.summary !== undefined) finding.summary = hit.summary;
      findings.push(finding);
    }
  }
  return findings;
}
