// Inventory accuracy against a reference scanner: every real test image is
// inventoried by Shipshape (ImageAnalyzer over the local registry) and by Trivy
// (offline, CycloneDX), both lists are reduced to comparable keys per ecosystem,
// and agreement = |both| / |union| is printed per ecosystem. Every package only
// one side reports must be listed in KNOWN_DIFFERENCES with the reason: a
// disagreement that is not explained there fails the test.
import assert from 'node:assert/strict';

import { ImageAnalyzer } from '../../src/image/image-analyzer.js';
import { RegistryClient } from '../../src/registry/client.js';
import { TieredInventoryCache } from '../../src/sbom/cache.js';
import {
  alpineFixtureImage,
  debianImage,
  goBinaryImage,
  multiArchIndex,
  nodeAppImage,
  pythonImage,
  rpmFixtureImage,
  trivyInventory,
  type TestImage,
} from '../support/images/index.js';
import { registryHost } from './harness.js';

/** A package as both scanners can be compared on it. */
export interface ComparablePackage {
  ecosystem: string;
  name: string;
  version: string;
}

export type Side = 'shipshape' | 'trivy';

export interface KnownDifference {
  /** Label of the test image (see IMAGES below). */
  image: string;
  ecosystem: string;
  name: string;
  /** The normalised version; undefined matches any version of the package. */
  version?: string;
  /** The only scanner that reports it. */
  reportedBy: Side;
  why: string;
}

/**
 * Names compare as each ecosystem's own rules say they are equal; versions as
 * written, except for notation that carries no meaning.
 */
export function comparableKey(pkg: ComparablePackage): string {
  let { name, version } = pkg;
  switch (pkg.ecosystem) {
    case 'pypi':
      // PEP 503: case-insensitive, runs of '-', '_' and '.' are one separator.
      name = name.toLowerCase().replace(/[-_.]+/g, '-');
      break;
    case 'golang':
      // Module versions are semver with a 'v' prefix; the toolchain (stdlib) is
      // written 'go1.x' / '1.x' / 'v1.x' depending on the tool. Same version.
      version = version.replace(/^v/, '');
      break;
    case 'rpm':
      // rpm compares epoch:version-release with a missing epoch equal to 0.
      version = version.replace(/^0:/, '');
      break;
  }
  return `${pkg.ecosystem}|${name}|${version}`;
}

export interface EcosystemAgreement {
  ecosystem: string;
  both: number;
  union: number;
  onlyShipshape: ComparablePackage[];
  onlyTrivy: ComparablePackage[];
}

/** Agreement per ecosystem: the packages both report over the packages either reports. */
export function compareInventories(
  shipshape: readonly ComparablePackage[],
  trivy: readonly ComparablePackage[],
): EcosystemAgreement[] {
  const index = (list: readonly ComparablePackage[]): Map<string, ComparablePackage> =>
    new Map(list.map((pkg) => [comparableKey(pkg), pkg]));
  const ours = index(shipshape);
  const theirs = index(trivy);
  const ecosystems = [...new Set([...ours.values(), ...theirs.values()].map((pkg) => pkg.ecosystem))].sort();
  return ecosystems.map((ecosystem) => {
    const keys = new Set([...ours.keys(), ...theirs.keys()].filter((key) => key.startsWith(`${ecosystem}|`)));
    const result: EcosystemAgreement = {
      ecosystem,
      both: 0,
      union: keys.size,
      onlyShipshape: [],
      onlyTrivy: [],
    };
    for (const key of keys) {
      const mine = ours.get(key);
      const other = theirs.get(key);
      if (mine && other) result.both++;
      else if (mine) result.onlyShipshape.push(mine);
      else if (other) result.onlyTrivy.push(other);
    }
    return result;
  });
}

const explains =
  (image: string, pkg: ComparablePackage, side: Side) =>
  (known: KnownDifference): boolean =>
    known.image === image &&
    known.ecosystem === pkg.ecosystem &&
    known.name === pkg.name &&
    known.reportedBy === side &&
    (known.version === undefined || comparableKey({ ...pkg, version: known.version }) === comparableKey(pkg));

/**
 * The differences that are right as they are. Each says why; anything else one
 * scanner reports and the other does not is a bug to fix, not to list.
 */
export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    image: 'node app',
    ecosystem: 'npm',
    name: 'shipshape-test-app',
    version: '1.0.0',
    reportedBy: 'trivy',
    why:
      "Trivy reports every package.json that has a name and version, so the application's own " +
      '/app/package.json becomes a package. Shipshape reports installed packages only (the root of ' +
      'node_modules/<name>/): the application is the thing being scanned, not a dependency, and it is ' +
      '"private": true, never published, so matching its name against npm advisories could only ' +
      'produce false positives from a public package of the same name.',
  },
];

interface ImageCase {
  label: string;
  build: (registry: string) => Promise<TestImage>;
}

const IMAGES: ImageCase[] = [
  { label: 'debian (gzip)', build: (registry) => debianImage(registry, { compression: 'gzip' }) },
  { label: 'debian (zstd)', build: (registry) => debianImage(registry, { compression: 'zstd' }) },
  { label: 'node app', build: (registry) => nodeAppImage(registry) },
  { label: 'python', build: (registry) => pythonImage(registry, { compression: 'zstd' }) },
  { label: 'go binary', build: (registry) => goBinaryImage(registry) },
  { label: 'alpine', build: (registry) => alpineFixtureImage(registry) },
  { label: 'rpm', build: (registry) => rpmFixtureImage(registry) },
  { label: 'multi-arch index', build: (registry) => multiArchIndex(registry) },
];

interface Row {
  image: string;
  agreement: EcosystemAgreement;
  explained: number;
}

describe('inventory accuracy against Trivy', function () {
  // The first run builds the Debian rootfs and the language installs (minutes); Trivy takes seconds per image.
  this.timeout(900_000);
  let client: RegistryClient;
  const rows: Row[] = [];
  const seen = new Set<KnownDifference>();

  before(() => {
    client = new RegistryClient({
      config: { policy: { allow: ['127.0.0.1:*'] }, hosts: { [registryHost()]: { plainHttp: true } } },
    });
  });

  after(() => {
    client.close();
    printTable(rows);
  });

  for (const { label, build } of IMAGES) {
    it(`agrees with Trivy on the ${label} image, up to the known differences`, async () => {
      const image = await build(registryHost());
      const analyzer = new ImageAnalyzer({ registry: client, cache: new TieredInventoryCache() });
      const analysis = await analyzer.analyze(image.reference);
      if (!analysis.ok) assert.fail(`${analysis.reason}: ${analysis.message}`);
      const ours = analysis.inventory.packages.map((pkg) => ({
        ecosystem: pkg.ecosystem,
        name: pkg.name,
        // Trivy writes the rpm epoch into the version; Shipshape keeps it apart, as the rpm purl does.
        version: pkg.epoch === undefined ? pkg.version : `${pkg.epoch}:${pkg.version}`,
      }));
      const theirs = (await trivyInventory(image.reference)).map((pkg) => ({
        ecosystem: pkg.type,
        name: pkg.name,
        version: pkg.version,
      }));
      const unexplained: string[] = [];
      for (const agreement of compareInventories(ours, theirs)) {
        let explained = 0;
        const sides: Array<[Side, ComparablePackage[]]> = [
          ['shipshape', agreement.onlyShipshape],
          ['trivy', agreement.onlyTrivy],
        ];
        for (const [side, only] of sides) {
          for (const pkg of only) {
            const known = KNOWN_DIFFERENCES.find(explains(label, pkg, side));
            if (known) {
              explained++;
              seen.add(known);
            } else unexplained.push(`only ${side}: ${pkg.ecosystem} ${pkg.name}@${pkg.version}`);
          }
        }
        rows.push({ image: label, agreement, explained });
      }
      assert.ok(ours.length > 0, 'Shipshape finds packages');
      assert.deepEqual(unexplained, [], `unexplained differences on ${label}`);
    });
  }

  it('has no stale known differences: each one was seen on its image', function () {
    if (rows.length === 0) this.skip();
    const compared = new Set(rows.map((row) => row.image));
    const stale = KNOWN_DIFFERENCES.filter((known) => compared.has(known.image) && !seen.has(known));
    assert.deepEqual(
      stale.map((known) => `${known.image}: ${known.ecosystem} ${known.name} (${known.reportedBy})`),
      [],
    );
  });
});

const percent = (part: number, whole: number): string => `${((100 * part) / Math.max(1, whole)).toFixed(1)}%`;

function printTable(rows: readonly Row[]): void {
  const header = [
    'image',
    'ecosystem',
    'both',
    'union',
    'agreement',
    'only shipshape',
    'only trivy',
    'explained',
    'after known',
  ];
  const line = (
    image: string,
    ecosystem: string,
    both: number,
    union: number,
    ours: number,
    theirs: number,
    explained: number,
  ): string[] => [
    image,
    ecosystem,
    String(both),
    String(union),
    percent(both, union),
    String(ours),
    String(theirs),
    String(explained),
    percent(both + explained, union),
  ];
  const lines = rows.map(({ image, agreement: a, explained }) =>
    line(image, a.ecosystem, a.both, a.union, a.onlyShipshape.length, a.onlyTrivy.length, explained),
  );
  // Totals per ecosystem over all images (each image counts its own packages).
  const totals = new Map<string, number[]>();
  for (const { agreement: a, explained } of rows) {
    const t = totals.get(a.ecosystem) ?? [0, 0, 0, 0, 0];
    const add = [a.both, a.union, a.onlyShipshape.length, a.onlyTrivy.length, explained];
    totals.set(
      a.ecosystem,
      t.map((value, i) => value + (add[i] ?? 0)),
    );
  }
  for (const [ecosystem, [both = 0, union = 0, ours = 0, theirs = 0, explained = 0]] of [...totals].sort()) {
    lines.push(line('all images', ecosystem, both, union, ours, theirs, explained));
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const format = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(`\ninventory agreement with Trivy (both / union, per ecosystem)\n${format(header)}`);
  for (const cells of lines) console.log(format(cells));
  if (KNOWN_DIFFERENCES.length > 0) console.log('\nknown differences:');
  for (const known of KNOWN_DIFFERENCES) {
    console.log(
      `- ${known.image}: ${known.ecosystem} ${known.name} only from ${known.reportedBy}: ${known.why}`,
    );
  }
}
