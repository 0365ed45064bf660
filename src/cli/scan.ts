// `shipshape scan <image>`: reads the image's packages with the same analyzer as
// `shipshape sbom` (straight from the registry), loads the vulnerability database
// from --db (a directory or zip of OSV files, an https mirror of the bulk
// archives, or an OCI artifact in a registry: only the ecosystems the image
// needs are fetched from a mirror), matches (src/vuln/match.ts) and prints a
// table, JSON, SARIF 2.1.0 or CycloneDX VEX. Exit 0: nothing at or above
// --fail-on; 1: findings at or above it; 2: usage error; 3: the image or the
// database could not be read (never a silent pass).
import { parseArgs } from 'node:util';

import {
  AnalyzerSettingsError,
  createImageAnalyzer,
  resolveRegistryClientConfig,
} from '../image/analyzer-setup.js';
import type { RegistryClient } from '../registry/client.js';
import { scanCycloneDxVex } from '../vuln/format/cyclonedx-vex.js';
import { scanJson } from '../vuln/format/json.js';
import { scanSarif } from '../vuln/format/sarif.js';
import type { ScanReport } from '../vuln/format/scan-report.js';
import { scanTable } from '../vuln/format/table.js';
import { matchInventory, osvEcosystemsOf } from '../vuln/match.js';
import type { DatabaseRefresher } from '../vuln/refresher.js';
import { severityRank } from '../vuln/severity.js';
import type { SeverityLevel } from '../vuln/severity.js';
import {
  archiveFolderOf,
  createVulnerabilityDatabaseProvider,
  guessSourceSpec,
  VulnerabilitySettingsError,
} from '../vuln/setup.js';
import type { SourceSpec } from '../vuln/setup.js';
import { VERSION } from '../version.js';
import type { CliIO } from './io.js';
import {
  credentialsFrom,
  hint,
  IMAGE_ACCESS_FLAGS,
  imageAccessOf,
  UsageError,
  type ImageAccessOptions,
} from './sbom.js';

export const scanUsage = `Usage: shipshape scan <image> --db <dir|zip|url|oci-ref> [options]

Lists the known vulnerabilities of the packages in a container image, read directly
from its registry and matched against an OSV database.

Options:
      --db <source>              the OSV database (repeatable, combined): a directory of OSV JSON
                                 files and bulk zips, a zip, an https base URL of bulk archives
                                 (<url>/<ecosystem>/all.zip), or an OCI reference (oci: optional);
                                 default $SHIPSHAPE_VULNERABILITY_DB
      --ecosystems <a,b,...>     ecosystems fetched from an https source (default: those the image needs)
  -o, --format <format>          table (default), json, sarif or cyclonedx-vex
      --fail-on <severity>       exit 1 when a finding is at or above: critical, high, medium, low,
                                 unknown (any finding) or never (default never)
      --platform <os/arch[/v]>   platform to pick from a multi-platform image (default linux/amd64)
      --allow-registry <host>    allow a registry (or database mirror) on a loopback/private address
                                 (host[:port] or CIDR[:port]; :* any port); repeatable
      --plain-http <host[:port]> speak plain HTTP to this registry or mirror; repeatable
      --docker-config <path>     credentials from a docker config.json (for the image and an OCI database)
      --registry-config <path>   registry configuration file (YAML/JSON: allow, hosts, timeouts, ...)
      --cache-dir <dir>          keep analysed layers here, so the next run only reads new ones
  -h, --help                     show this help

Exit status: 0 no finding at or above --fail-on, 1 findings at or above it, 2 usage error,
3 the image or the database could not be read.
`;

type Format = 'table' | 'json' | 'sarif' | 'cyclonedx-vex';
const FORMATS: readonly Format[] = ['table', 'json', 'sarif', 'cyclonedx-vex'];
const FAIL_ON: Record<string, SeverityLevel | 'never'> = {
  critical: 'CRITICAL',
  high: 'HIGH',
  medium: 'MEDIUM',
  moderate: 'MEDIUM',
  low: 'LOW',
  unknown: 'UNKNOWN',
  any: 'UNKNOWN',
  never: 'never',
};

interface ScanOptions extends ImageAccessOptions {
  image: string;
  db: string[];
  ecosystems?: string[];
  format: Format;
  failOn: SeverityLevel | 'never';
}

function parseScanArgs(args: string[]): ScanOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        db: { type: 'string', multiple: true },
        ecosystems: { type: 'string' },
        format: { type: 'string', short: 'o', default: 'table' },
        output: { type: 'string' },
        'fail-on': { type: 'string', default: 'never' },
        ...IMAGE_ACCESS_FLAGS,
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return 'help';
  if (positionals.length !== 1) throw new UsageError('expected exactly one image reference');
  const format = (values.output ?? values.format) as Format;
  if (!FORMATS.includes(format))
    throw new UsageError(`--format must be ${FORMATS.join(', ')}, not "${format}"`);
  const failOn = FAIL_ON[values['fail-on'].toLowerCase()];
  if (failOn === undefined)
    throw new UsageError(
      `--fail-on must be one of ${Object.keys(FAIL_ON).join(', ')}, not "${values['fail-on']}"`,
    );
  const envDb = process.env.SHIPSHAPE_VULNERABILITY_DB;
  const db = values.db ?? (envDb === undefined || envDb === '' ? [] : [envDb]);
  if (db.length === 0)
    throw new UsageError('--db is required (a directory, zip, https URL or OCI reference)');
  const access = imageAccessOf(values);
  return {
    image: positionals[0] ?? '',
    db,
    ...(values.ecosystems === undefined
      ? {}
      : {
          ecosystems: values.ecosystems
            .split(',')
            .map((e) => e.trim())
            .filter(Boolean),
        }),
    format,
    failOn,
    ...access,
  };
}

/** Parses every --db argument; a usage error names the bad one. */
export async function sourceSpecsOf(db: readonly string[]): Promise<SourceSpec[]> {
  const specs: SourceSpec[] = [];
  for (const text of db) {
    const spec = await guessSourceSpec(text);
    if (typeof spec === 'string') throw new UsageError(`--db ${spec}`);
    specs.push(spec);
  }
  return specs;
}

export async function runScan(args: string[], io: CliIO): Promise<number> {
  let client: RegistryClient | undefined;
  let provider: DatabaseRefresher | undefined;
  try {
    const options = parseScanArgs(args);
    if (options === 'help') {
      io.stdout.write(scanUsage);
      return 0;
    }
    const specs = await sourceSpecsOf(options.db);
    const credentials =
      options.dockerConfig === undefined ? undefined : await credentialsFrom(options.dockerConfig);
    const settings = {
      registryConfig: options.registryConfig,
      allow: options.allow,
      plainHttp: options.plainHttp,
      cacheDir: options.cacheDir,
      credentials,
    };
    const built = await createImageAnalyzer(settings).catch((err: unknown) => {
      throw err instanceof AnalyzerSettingsError ? new UsageError(err.message) : err;
    });
    client = built.client;
    const result = await built.analyzer.analyze(options.image, {
      ...(options.platform === undefined ? {} : { platform: options.platform }),
    });
    if (!result.ok) {
      io.stderr.write(`shipshape scan: ${result.reason}: ${result.message}${hint(result)}\n`);
      return 3;
    }
    const inventory = result.inventory;
    const needed = new Set(
      inventory.packages.flatMap((p) => osvEcosystemsOf(p, inventory.os)).map(archiveFolderOf),
    );
    try {
      provider = createVulnerabilityDatabaseProvider({
        sources: specs,
        ecosystems: options.ecosystems ?? [...needed].sort(),
        registry: client,
        transport: await resolveRegistryClientConfig(settings),
      });
    } catch (err) {
      if (err instanceof VulnerabilitySettingsError) {
        // An https source and an image with no package any ecosystem covers: nothing to fetch or match.
        if (
          needed.size === 0 &&
          options.ecosystems === undefined &&
          /needs the ecosystems/.test(err.message)
        ) {
          provider = undefined;
        } else throw new UsageError(`--db: ${err.message}`);
      } else throw err;
    }
    const status = provider === undefined ? undefined : await provider.refresh();
    const loaded = provider?.current();
    if (provider !== undefined && (status?.state !== 'Ready' || loaded === undefined)) {
      io.stderr.write(
        `shipshape scan: vulnerability database ${status?.reason ?? 'Unavailable'}: ${status?.message ?? ''}\n`,
      );
      return 3;
    }
    const findings = loaded === undefined ? [] : matchInventory(inventory, loaded.db);
    const report: ScanReport = {
      image: options.image,
      digest: result.digest,
      inventory,
      database: {
        version: loaded?.version ?? 'none',
        advisories: loaded?.db.size ?? 0,
        skipped: loaded?.db.summary.skippedCount ?? 0,
        ...(loaded?.dataUpdatedAt === undefined ? {} : { dataUpdatedAt: loaded.dataUpdatedAt }),
      },
      findings,
      toolVersion: VERSION,
    };
    switch (options.format) {
      case 'json':
        io.stdout.write(scanJson(report));
        break;
      case 'sarif':
        io.stdout.write(`${JSON.stringify(scanSarif(report), null, 2)}\n`);
        break;
      case 'cyclonedx-vex':
        io.stdout.write(`${JSON.stringify(scanCycloneDxVex(report), null, 2)}\n`);
        break;
      default:
        io.stdout.write(scanTable(report));
    }
    const threshold = options.failOn;
    if (threshold === 'never') return 0;
    return findings.some((f) => severityRank(f.severity.level) >= severityRank(threshold)) ? 1 : 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`shipshape scan: ${err.message}\n`);
      return 2;
    }
    // Exit 1 means "findings at or above --fail-on": any other failure must not look like it.
    io.stderr.write(`shipshape scan: ${err instanceof Error ? err.message : String(err)}\n`);
    return 3;
  } finally {
    await provider?.close();
    client?.close();
  }
}
