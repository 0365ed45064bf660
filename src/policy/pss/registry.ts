// Chooses which check revisions run for a level and version, as
// policy/registry.go does: each check's newest revision not newer than the version,
// restricted = its own checks plus the baseline checks its revisions do not override,
// versions newer than any revision behave like the newest revision ("latest").
import { compareGoStrings } from './format.js';
import type { PodSecurityVersion } from './version.js';
import type { CheckPodFn, PodSecurityCheck, PodSecurityLevel, VersionedCheck } from './types.js';

export type ActiveCheck = {
  id: string;
  level: PodSecurityLevel;
  checkPod: CheckPodFn;
  /** Small integer naming the revision (its checkPod), equal wherever levels and versions share it. */
  revision: number;
};

export class PodSecurityRegistry {
  /** Highest minimumMinor of any revision: the behaviour of every newer version and of 'latest'. */
  readonly newestPolicyMinor: number;
  private readonly ordered: readonly PodSecurityCheck[];
  private readonly revisionNumbers: ReadonlyMap<VersionedCheck, number>;
  /** How many revisions the catalog has: ActiveCheck.revision is below this. */
  readonly revisionCount: number;
  /** activeChecks by level and effective minor: the answer never changes, and pods are evaluated by the thousand. */
  private readonly active = new Map<string, readonly ActiveCheck[]>();

  constructor(checks: readonly PodSecurityCheck[]) {
    validateChecks(checks);
    this.newestPolicyMinor = Math.max(...checks.flatMap((c) => c.versions.map((v) => v.minimumMinor)));
    // Baseline first, then restricted, each sorted by id: the order Kubernetes reports in.
    const byId = (a: PodSecurityCheck, b: PodSecurityCheck): number => compareGoStrings(a.id, b.id);
    this.ordered = [
      ...checks.filter((c) => c.level === 'baseline').sort(byId),
      ...checks.filter((c) => c.level === 'restricted').sort(byId),
    ];
    const revisions = checks.flatMap((c) => c.versions);
    this.revisionNumbers = new Map(revisions.map((v, i) => [v, i]));
    this.revisionCount = revisions.length;
  }

  /** The checks that evaluate a pod at `level` and `version`, in reporting order (shared, do not modify). */
  activeChecks(level: PodSecurityLevel, version: PodSecurityVersion): readonly ActiveCheck[] {
    const minor = version.latest ? this.newestPolicyMinor : Math.min(version.minor, this.newestPolicyMinor);
    // At most 2 levels x (newestPolicyMinor + 1) minors, so the map stays small.
    const key = `${level}/${minor}`;
    let checks = this.active.get(key);
    if (checks === undefined) {
      checks = Object.freeze(this.select(level, minor));
      this.active.set(key, checks);
    }
    return checks;
  }

  private select(level: PodSecurityLevel, minor: number): ActiveCheck[] {
    const revisions = this.ordered
      .filter((check) => level === 'restricted' || check.level === 'baseline')
      .flatMap((check) => {
        const revision = check.versions.findLast((v) => v.minimumMinor <= minor);
        return revision === undefined ? [] : [{ check, revision }];
      });
    const overridden = new Set(revisions.flatMap(({ revision }) => revision.overrides ?? []));
    return revisions
      .filter(({ check }) => !(check.level === 'baseline' && overridden.has(check.id)))
      .map(({ check, revision }) => ({
        id: check.id,
        level: check.level,
        checkPod: revision.checkPod,
        revision: this.revisionNumbers.get(revision)!,
      }));
  }
}

/** The invariants registry.go validates, so a mistake in the catalog fails loudly at load. */
function validateChecks(checks: readonly PodSecurityCheck[]): void {
  const levels = new Map<string, PodSecurityLevel>();
  for (const check of checks) {
    if (levels.has(check.id)) throw new Error(`multiple checks registered for ID ${check.id}`);
    levels.set(check.id, check.level);
    if (check.versions.length === 0) throw new Error(`check ${check.id}: empty`);
    check.versions.forEach((v, i) => {
      const previous = check.versions[i - 1];
      if (previous !== undefined && previous.minimumMinor >= v.minimumMinor) {
        throw new Error(`check ${check.id}: versions must be strictly increasing`);
      }
    });
  }
  for (const check of checks) {
    for (const v of check.versions) {
      for (const id of v.overrides ?? []) {
        if (check.level !== 'restricted')
          throw new Error(`check ${check.id}: only restricted checks may set overrides`);
        if (levels.get(id) !== 'baseline')
          throw new Error(`check ${check.id}: overrides non-baseline check ${id}`);
      }
    }
  }
}
