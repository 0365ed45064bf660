// What a correct analysis of a test image must find: the truth each image
// builder records while it builds, for e2e tests to compare inventories with.

/** Package ecosystems as package URL types, so Trivy's purls compare directly. */
export type PackageType = 'deb' | 'apk' | 'rpm' | 'npm' | 'pypi' | 'golang';

export interface ExpectedPackage {
  type: PackageType;
  name: string;
  /** As the package database writes it (dpkg keeps the epoch, `1:2.38-1`). */
  version: string;
}

export interface ExpectedFile {
  /** Layer-relative path, no leading slash. */
  path: string;
  present: boolean;
  /** The exact content of the topmost version, when it matters. */
  content?: string;
}

export interface ExpectedInventory {
  /** The distribution a walker must detect (`debian` 12.x, `alpine` 3.20.3, ...), if any. */
  os?: { family: string; version: string };
  /** Every package that must be reported; nothing else should be. */
  packages: ExpectedPackage[];
  /** Packages present in a lower layer that must NOT be reported. */
  absent: ExpectedPackage[];
  files: ExpectedFile[];
}

export interface TestImage {
  /** `host:port/repo:tag` as pushed. */
  reference: string;
  /** Digest of the manifest (or index) the reference names. */
  digest: string;
  mediaType: string;
  expected: ExpectedInventory;
}

export const byTypeAndName = (a: ExpectedPackage, b: ExpectedPackage): number =>
  a.type.localeCompare(b.type) || a.name.localeCompare(b.name) || a.version.localeCompare(b.version);

export const manifestMediaType = (manifest: Buffer): string =>
  (JSON.parse(manifest.toString()) as { mediaType: string }).mediaType;
