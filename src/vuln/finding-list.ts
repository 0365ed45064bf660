// The findings an image keeps between matches, in a compact form: per finding two
// references, one to the flaw's facts (id, aliases, fixed versions, severity,
// summary: one object per database entry, kept on it, or a merged flaw's own) and
// one to the package of the image it is in (one per package). Kept as finding
// objects, a thousand images of a thousand findings each held a million objects of
// seven fields beside the database (~130 B each, measured with bench/vuln-match);
// this form is 16 B per finding. Findings are built when they are read, and are
// short-lived. Pure.
import type { Severity } from './severity.js';

/** One flaw in one package version of an image. */
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

/** What every finding of one flaw shares, whatever image or package it is found in. */
export interface FlawFacts {
  readonly id: string;
  readonly aliases: string[];
  readonly fixedVersions: string[];
  readonly severity: VulnerabilityFinding['severity'];
  readonly summary?: string;
}

/** A package of one image that findings are in: the subject findings name, and its version. */
export interface MatchedPackage {
  readonly subject: VulnerabilityFinding['package'];
  readonly installedVersion: string;
}

export function findingOf(flaw: FlawFacts, pkg: MatchedPackage): VulnerabilityFinding {
  const finding: VulnerabilityFinding = {
    id: flaw.id,
    aliases: flaw.aliases,
    package: pkg.subject,
    installedVersion: pkg.installedVersion,
    fixedVersions: flaw.fixedVersions,
    severity: flaw.severity,
  };
  if (flaw.summary !== undefined) finding.summary = flaw.summary;
  return finding;
}

/** Findings as parallel arrays of flaw and package references, in the order they were added. */
export class FindingList implements Iterable<VulnerabilityFinding> {
  private constructor(
    private readonly flaws: readonly FlawFacts[],
    private readonly packages: readonly MatchedPackage[],
  ) {}

  static readonly EMPTY = new FindingList([], []);

  /** A list of findings given as objects (the CLI, tests): each becomes its own flaw and package. */
  static of(findings: readonly VulnerabilityFinding[]): FindingList {
    const builder = new FindingListBuilder();
    for (const f of findings) {
      builder.add(
        {
          id: f.id,
          aliases: f.aliases,
          fixedVersions: f.fixedVersions,
          severity: f.severity,
          ...(f.summary === undefined ? {} : { summary: f.summary }),
        },
        { subject: f.package, installedVersion: f.installedVersion },
      );
    }
    return builder.build();
  }

  /** @internal the builder's way in */
  static fromParts(flaws: readonly FlawFacts[], packages: readonly MatchedPackage[]): FindingList {
    return flaws.length === 0 ? FindingList.EMPTY : new FindingList(flaws, packages);
  }

  get length(): number {
    return this.flaws.length;
  }

  flawAt(i: number): FlawFacts {
    return this.flaws[i]!;
  }

  packageAt(i: number): MatchedPackage {
    return this.packages[i]!;
  }

  at(i: number): VulnerabilityFinding | undefined {
    return i < 0 || i >= this.flaws.length ? undefined : findingOf(this.flaws[i]!, this.packages[i]!);
  }

  *[Symbol.iterator](): Iterator<VulnerabilityFinding> {
    for (let i = 0; i < this.flaws.length; i++) yield findingOf(this.flaws[i]!, this.packages[i]!);
  }

  /** Findings `start` to `end` (exclusive), as objects. */
  slice(start = 0, end = this.flaws.length): VulnerabilityFinding[] {
    const out: VulnerabilityFinding[] = [];
    for (let i = Math.max(0, start); i < Math.min(end, this.flaws.length); i++)
      out.push(findingOf(this.flaws[i]!, this.packages[i]!));
    return out;
  }

  map<T>(fn: (finding: VulnerabilityFinding, index: number) => T): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.flaws.length; i++) out.push(fn(findingOf(this.flaws[i]!, this.packages[i]!), i));
    return out;
  }

  filter(fn: (finding: VulnerabilityFinding) => boolean): VulnerabilityFinding[] {
    const out: VulnerabilityFinding[] = [];
    for (const finding of this) if (fn(finding)) out.push(finding);
    return out;
  }

  /** A list of the findings at `order`'s indices, in that order. */
  pick(order: readonly number[]): FindingList {
    return FindingList.fromParts(
      order.map((i) => this.flaws[i]!),
      order.map((i) => this.packages[i]!),
    );
  }
}

/** Collects findings by reference; the list it builds shares every flaw and package object. */
export class FindingListBuilder {
  private readonly flaws: FlawFacts[] = [];
  private readonly packages: MatchedPackage[] = [];

  add(flaw: FlawFacts, pkg: MatchedPackage): void {
    this.flaws.push(flaw);
    this.packages.push(pkg);
  }

  get length(): number {
    return this.flaws.length;
  }

  build(): FindingList {
    return FindingList.fromParts(this.flaws, this.packages);
  }
}
