// Matches an image inventory against the vulnerability database: each package
// is mapped to its OSV ecosystem and name (the distro release from the
// inventory's OS, Debian/Ubuntu source packages, Alpine origins, Go `stdlib`),
// evaluated against every indexed affected entry, and the advisories that name
// one another through aliases (or a single upstream id) become one finding.
import type { ImageInventory, InventoryPackage, OsInfo } from '../sbom/types.js';
import { preferredId } from './database.js';
import type { EntryFacts, IndexedAffected, VulnerabilityDatabase } from './database.js';
import { severityRank } from './severity.js';
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

/** The advisories of one package that name the same flaw. */
interface Hit {
  facts: EntryFacts[];
  severity: Severity;
  summary?: string;
}

function sharesId(hit: Hit, ids: readonly string[]): boolean {
  for (const facts of hit.facts) {
    for (const id of facts.mergeIds) if (ids.includes(id)) return true;
  }
  return false;
}

/** Adds one matching entry to the package's hits, merging every hit it shares an id with. */
function record(hits: Hit[], entry: IndexedAffected, db: VulnerabilityDatabase): void {
  const facts = db.facts(entry);
  let hit: Hit | undefined;
  for (let i = 0; i < hits.length; i++) {
    const other = hits[i]!;
    if (!sharesId(other, facts.mergeIds)) continue;
    if (hit === undefined) {
      hit = other;
      continue;
    }
    // The new entry links two hits: one flaw.
    hit.facts.push(...other.facts);
    if (severityRank(other.severity.level) > severityRank(hit.severity.level)) hit.severity = other.severity;
    hit.summary ??= other.summary;
    hits.splice(i--, 1);
  }
  if (hit === undefined) {
    hits.push({ facts: [facts], severity: facts.severity, summary: entry.advisory.summary });
    return;
  }
  hit.facts.push(facts);
  if (severityRank(facts.severity.level) > severityRank(hit.severity.level)) hit.severity = facts.severity;
  hit.summary ??= entry.advisory.summary;
}

/** The id fields of a finding merged from several advisories. */
function mergedIds(hit: Hit): { id: string; aliases: string[]; fixed: string[] } {
  const ids = new Set<string>();
  const fixed = new Set<string>();
  for (const facts of hit.facts) {
    for (const id of facts.mergeIds) ids.add(id);
    for (const f of facts.fixed) fixed.add(f);
  }
  const id = preferredId(ids);
  ids.delete(id);
  return { id, aliases: [...ids].sort(), fixed: [...fixed].sort() };
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
    for (const ecosystem of osvEcosystemsOf(pkg, inventory.os)) {
      for (const entry of db.affected(ecosystem, name, version)) record(hits, entry, db);
    }
    if (hits.length === 0) continue;
    const subject = { name, ecosystem: pkg.ecosystem, purl: pkg.purl };
    for (const hit of hits) {
      // Shared arrays when one advisory is the whole finding: findings are values, never mutated.
      const single = hit.facts.length === 1 ? hit.facts[0]! : undefined;
      const ids =
        single === undefined
          ? mergedIds(hit)
          : { id: single.id, aliases: single.aliases, fixed: single.fixed };
      const finding: VulnerabilityFinding = {
        id: ids.id,
        aliases: ids.aliases,
        package: subject,
        installedVersion: version,
        fixedVersions: ids.fixed,
        severity: hit.severity,
      };
      if (hit.summary !== undefined) finding.summary = hit.summary;
      findings.push(finding);
    }
  }
  return findings;
}
