// One version order per OSV ecosystem: the comparator a range of that ecosystem
// is evaluated with. Ecosystems without a known order have none, and their
// advisories can only match through explicit `versions[]` lists.
import { compareApkVersions } from './apk.js';
import { compareDebianVersions } from './dpkg.js';
import { compareMavenVersions } from './maven.js';
import { comparePythonVersions } from './pep440.js';
import { compareRpmVersions } from './rpm.js';
import { compareSemverVersions } from './semver.js';

export type VersionComparator = (a: string, b: string) => number;

export {
  compareApkVersions,
  compareDebianVersions,
  compareMavenVersions,
  comparePythonVersions,
  compareRpmVersions,
};
export { compareSemverVersions, goToolchainToSemver } from './semver.js';

/** Strips an OSV ecosystem's release suffix: "Debian:12" → "Debian", "Alpine:v3.20" → "Alpine". */
export function ecosystemFamily(ecosystem: string): string {
  const colon = ecosystem.indexOf(':');
  return colon === -1 ? ecosystem : ecosystem.slice(0, colon);
}

const BY_FAMILY: Record<string, VersionComparator> = {
  Debian: compareDebianVersions,
  Ubuntu: compareDebianVersions,
  Alpine: compareApkVersions,
  Wolfi: compareApkVersions,
  Chainguard: compareApkVersions,
  'Red Hat': compareRpmVersions,
  AlmaLinux: compareRpmVersions,
  'Rocky Linux': compareRpmVersions,
  openSUSE: compareRpmVersions,
  SUSE: compareRpmVersions,
  Mageia: compareRpmVersions,
  PyPI: comparePythonVersions,
  Maven: compareMavenVersions,
  npm: compareSemverVersions,
  Go: compareSemverVersions,
  'crates.io': compareSemverVersions,
};

/** The version order of an OSV ecosystem ("Debian:12", "PyPI", ...), or undefined when unknown. */
export function comparatorFor(ecosystem: string): VersionComparator | undefined {
  return BY_FAMILY[ecosystemFamily(ecosystem)];
}
