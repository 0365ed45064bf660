// `shipshape db pull|info`: a local vulnerability database for air-gapped use.
// `pull` fetches the sources (the same ones the operator takes), loads them to
// prove they are complete, and only then writes the files into --output as a
// directory the operator and `shipshape scan` read with `dir:` (the previous
// contents are replaced in one rename, never left half-written). `info` loads a
// directory or zip and prints the advisories per ecosystem, the newest
// `modified` and how many advisories were skipped as malformed.
import { cp, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

import {
  AnalyzerSettingsError,
  createRegistryClient,
  resolveRegistryClientConfig,
} from '../image/analyzer-setup.js';
import type { RegistryClient } from '../registry/client.js';
import type { DatabaseRefresher } from '../vuln/refresher.js';
import { createVulnerabilityDatabaseProvider, VulnerabilitySettingsError } from '../vuln/setup.js';
import { loadArtifacts } from '../vuln/sources/load.js';
import type { CliIO } from './io.js';
import { credentialsFrom, UsageError } from './sbom.js';
import { sourceSpecsOf } from './scan.js';

export const dbUsage = `Usage: shipshape db pull --source <src> [--source ...] --output <dir> [options]
       shipshape db info <dir|zip> [--format table|json]

pull  fetches OSV data from the sources (dir:/path, zip:/path, https://mirror/base with
      --ecosystems, or an OCI reference), checks that it loads, and writes it to <dir>
      (use it with --db <dir> or --vulnerability-db-source dir:<dir>).
info  prints the advisory count per ecosystem, the newest modified time and the number
      of advisories skipped as malformed.

Options of pull:
      --source <src>             repeatable; an OCI reference may omit oci:
      --output <dir>             where the database is written (replaced as a whole)
      --ecosystems <a,b,...>     ecosystems fetched from https sources (e.g. Debian,Alpine,PyPI,Go,npm)
      --allow-registry <host>    allow a mirror or registry on a loopback/private address; repeatable
      --plain-http <host[:port]> speak plain HTTP to this mirror or registry; repeatable
      --docker-config <path>     credentials for an OCI source
      --registry-config <path>   registry configuration file
  -h, --help                     show this help
`;

export async function runDb(args: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = args;
  try {
    if (sub === 'pull') return await pull(rest, io);
    if (sub === 'info') return await info(rest, io);
    if (sub === undefined || sub === '-h' || sub === '--help') {
      io.stdout.write(dbUsage);
      return sub === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown subcommand "${sub}" (pull or info)`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`shipshape db: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

function parse<const T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs<T>(config);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

async function pull(args: string[], io: CliIO): Promise<number> {
  const { values } = parse({
    args,
    strict: true,
    options: {
      source: { type: 'string', multiple: true },
      output: { type: 'string' },
      ecosystems: { type: 'string' },
      'allow-registry': { type: 'string', multiple: true },
      'plain-http': { type: 'string', multiple: true },
      'docker-config': { type: 'string' },
      'registry-config': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    io.stdout.write(dbUsage);
    return 0;
  }
  const sources = values.source ?? [];
  if (sources.length === 0) throw new UsageError('pull needs at least one --source');
  if (values.output === undefined) throw new UsageError('pull needs --output <dir>');
  const output = resolve(values.output);
  const specs = await sourceSpecsOf(sources);
  const settings = {
    registryConfig: values['registry-config'],
    allow: values['allow-registry'] ?? [],
    plainHttp: values['plain-http'] ?? [],
    credentials:
      values['docker-config'] === undefined ? undefined : await credentialsFrom(values['docker-config']),
  };
  let client: RegistryClient | undefined;
  let provider: DatabaseRefresher | undefined;
  try {
    let transport;
    try {
      transport = await resolveRegistryClientConfig(settings);
      if (specs.some((s) => s.kind === 'oci')) client = await createRegistryClient(settings);
    } catch (err) {
      throw err instanceof AnalyzerSettingsError ? new UsageError(err.message) : err;
    }
    try {
      provider = createVulnerabilityDatabaseProvider({
        sources: specs,
        ecosystems: (values.ecosystems ?? '')
          .split(',')
          .map((e) => e.trim())
          .filter(Boolean),
        transport,
        ...(client === undefined ? {} : { registry: client }),
      });
    } catch (err) {
      throw err instanceof VulnerabilitySettingsError ? new UsageError(err.message) : err;
    }
    const status = await provider.refresh();
    const loaded = provider.current();
    if (status.state !== 'Ready' || loaded === undefined) {
      io.stderr.write(`shipshape db pull: ${status.reason ?? 'Unavailable'}: ${status.message ?? ''}\n`);
      return 1;
    }
    // Written beside the output and renamed over it, so a reader never sees half a database.
    await mkdir(dirname(output), { recursive: true });
    const staging = await mkdtemp(join(dirname(output), `.${basename(output)}.partial-`));
    try {
      for (const [i, artifact] of provider.artifacts().entries()) {
        const target = join(staging, artifact.kind === 'zip' ? `source-${i}.zip` : `source-${i}`);
        await cp(artifact.path, target, { recursive: true });
      }
      await rm(output, { recursive: true, force: true });
      await rename(staging, output);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
    io.stdout.write(
      `wrote ${loaded.db.size} advisories (${loaded.db.summary.skippedCount} malformed skipped) to ${output}\n`,
    );
    return 0;
  } finally {
    await provider?.close();
    client?.close();
  }
}

async function info(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      format: { type: 'string', short: 'o', default: 'table' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    io.stdout.write(dbUsage);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('info needs exactly one directory or zip');
  const format = values.format;
  if (format !== 'table' && format !== 'json')
    throw new UsageError(`--format must be table or json, not "${format}"`);
  const path = positionals[0]!;
  const kind = (await stat(path).catch(() => undefined))?.isDirectory() === true ? 'dir' : 'zip';
  const contents = await loadArtifacts([{ kind, path, label: path }]);
  if ('outcome' in contents) {
    io.stderr.write(`shipshape db info: ${contents.reason}: ${contents.message}\n`);
    return 1;
  }
  const { summary } = contents.db;
  const ecosystems = Object.entries(contents.perEcosystem).sort(([a], [b]) => (a < b ? -1 : 1));
  const newest = contents.newestModified?.toISOString();
  if (format === 'json') {
    io.stdout.write(
      `${JSON.stringify(
        {
          path,
          advisories: contents.db.size,
          withdrawn: summary.withdrawn,
          skipped: summary.skippedCount,
          skippedSamples: summary.skipped.slice(0, 10),
          ...(newest === undefined ? {} : { newestModified: newest }),
          ecosystems: Object.fromEntries(ecosystems),
        },
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  const width = Math.max(9, ...ecosystems.map(([e]) => e.length));
  io.stdout.write(
    [
      `Database: ${path}`,
      `Advisories: ${contents.db.size} (${summary.withdrawn} withdrawn dropped, ${summary.skippedCount} malformed skipped)`,
      `Newest modified: ${newest ?? 'unknown'}`,
      '',
      `${'ECOSYSTEM'.padEnd(width)}  ADVISORIES`,
      ...ecosystems.map(([e, n]) => `${e.padEnd(width)}  ${n}`),
      ...summary.skipped
        .slice(0, 5)
        .map((s, i) => `${i === 0 ? '\nSkipped (first of them):\n' : ''}  ${s.source}: ${s.reason}`),
      '',
    ].join('\n'),
  );
  return 0;
}
