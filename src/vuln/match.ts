// Matches an image inventory against the vulnerability database: each package
// is mapped to its OSV ecosystem and name (the distro release from the
// inventory's OS, Debian/Ubuntu source packages, Alpine origins, Go `stdlib`),
// evaluated against every indexed affected entry, and the advisories that name
// one another through aliases (or a single upstream id) become one finding.
import type { ImageInventory, InventoryPackage, OsInfo } from '../sbom/types.js';
import { preferredId } from './database.js';
import type { EntryFacts, IndexedAffected, VulnerabilityDatabase } from './database.js';
import { findingOf } from './finding-list.js';
import type { FlawFacts, MatchedPackage, VulnerabilityFinding } from './finding-list.js';
import { severityRank } from './severity.js';
import type { Severity } from './severity.js';

export type { VulnerabilityFinding } from './finding-list.js';

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
  /** Position among the package's hits: merged hits keep the first one's place. */
  order: number;
  merged: boolean;
}

/** A package's hits, and the hit each id belongs to (merging by id is then a lookup per id). */
interface Hits {
  list: Hit[];
  byId: Map<string, Hit>;
}

function absorb(hit: Hit, facts: EntryFacts, severity: Severity, summary: string | undefined): void {
  hit.facts.push(facts);
  if (severityRank(severity.level) > severityRank(hit.severity.level)) hit.severity = severity;
  hit.summary ??= summary;
}

/** Adds one matching entry to the package's hits, merging every hit it shares an id with. */
function record(hits: Hits, entry: IndexedAffected, db: VulnerabilityDatabase): void {
  const facts = db.facts(entry);
  let sharing: Hit[] | undefined;
  for (const id of facts.mergeIds) {
    const other = hits.byId.get(id);
    if (other !== undefined && !(sharing ??= []).includes(other)) sharing.push(other);
  }
  let hit: Hit;
  if (sharing === undefined) {
    hit = { facts: [], severity: facts.severity, order: hits.list.length, merged: false };
    hits.list.push(hit);
  } else {
    // The new entry may link several hits: one flaw, in the place of the first of them.
    sharing.sort((a, b) => a.order - b.order);
    hit = sharing[0]!;
    for (let i = 1; i < sharing.length; i++) {
      const other = sharing[i]!;
      other.merged = true;
      for (let k = 0; k < other.facts.length; k++) {
        const absorbed = other.facts[k]!;
        absorb(
          hit,
          absorbed,
          k === 0 ? other.severity : absorbed.severity,
          k === 0 ? other.summary : undefined,
        );
        for (const id of absorbed.mergeIds) hits.byId.set(id, hit);
      }
    }
  }
  absorb(hit, facts, facts.severity, entry.advisory.summary);
  for (const id of facts.mergeIds) hits.byId.set(id, hit);
}

/**
 * The flaw of a hit: its one entry's facts, or its entries' merged facts — either way one
 * object shared by every finding of those entries, in whatever image.
 */
function flawOf(hit: Hit, db: VulnerabilityDatabase): FlawFacts {
  const single = hit.facts.length === 1 ? hit.facts[0]! : undefined;
  if (single !== undefined && single.severity === hit.severity && single.summary === hit.summary)
    return single;
  return db.mergedFlaw(hit.facts, () => mergedFlaw(hit));
}

function mergedFlaw(hit: Hit): FlawFacts {
  const ids = new Set<string>();
  const fixed = new Set<string>();
  for (const facts of hit.facts) {
    for (const id of facts.mergeIds) ids.add(id);
    for (const f of facts.fixedVersions) fixed.add(f);
  }
  const id = preferredId(ids);
  ids.delete(id);
  return {
    id,
    aliases: [...ids].sort(),
    fixedVersions: [...fixed].sort(),
    severity: hit.severity,
    ...(hit.summary === undefined ? {} : { summary: hit.summary }),
  };
}

/**
 * Matches every package of an inventory not in `seenPackages` (which it extends: an
 * inventory matched in slices shares one set), handing each finding's flaw and
 * package to `found`: one finding per flaw per package version.
 */
export function matchPackages(
  inventory: ImageInventory,
  db: VulnerabilityDatabase,
  seenPackages: Set<string>,
  found: (flaw: FlawFacts, pkg: MatchedPackage) => void,
): void {
  for (const pkg of inventory.packages) {
    const { name, version } = osvCoordinates(pkg);
    const key = `${pkg.ecosystem}\u0000${name}\u0000${version}`;
    if (seenPackages.has(key)) continue;
    seenPackages.add(key);
    const hits: Hits = { list: [], byId: new Map() };
    for (const ecosystem of osvEcosystemsOf(pkg, inventory.os)) {
      for (const entry of db.affected(ecosystem, name, version)) record(hits, entry, db);
    }
    if (hits.list.length === 0) continue;
    const matched: MatchedPackage = {
      subject: { name, ecosystem: pkg.ecosystem, purl: pkg.purl },
      installedVersion: version,
    };
    for (const hit of hits.list) if (!hit.merged) found(flawOf(hit, db), matched);
  }
}

/** The vulnerabilities of an inventory, as finding objects. */
export function matchInventory(inventory: ImageInventory, db: VulnerabilityDatabase): VulnerabilityFinding[] {
  const findings: VulnerabilityFinding[] = [];
  matchPackages(inventory, db, new Set(), (flaw, pkg) => findings.push(findingOf(flaw, pkg)));
  return findings;
}
