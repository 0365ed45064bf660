// `shipshape sbom <image>`: reads an image straight from its registry (no container
// runtime, nothing unpacked to disk) and prints its package inventory as CycloneDX
// JSON, Shipshape's own JSON, or a table. Failures print one line with the reason and
// exit 1; usage errors exit 2.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { AnalyzerSettingsError, createImageAnalyzer } from '../image/setup.js';
import type { ImageAnalysisFailure } from '../image/image-analyzer.js';
import type { CredentialSource } from '../registry/auth.js';
import type { RegistryClient } from '../registry/client.js';
import { DockerConfigCredentialSource, parseDockerConfigDocument } from '../registry/docker-config.js';
import { parsePlatformString, type Platform } from '../registry/manifest.js';
import { toCycloneDx } from '../sbom/format/cyclonedx.js';
import { toJson } from '../sbom/format/json.js';
import { toTable } from '../sbom/format/table.js';
import { VERSION } from '../version.js';
import type { CliIO } from './io.js';

export const sbomUsage = `Usage: shipshape sbom <image> [options]

Lists the packages in a container image (OS packages, npm, Python, Go modules, ...),
read directly from its registry.

Options:
  -o, --format <format>          cyclonedx, json or table (default table)
      --platform <os/arch[/v]>   platform to pick from a multi-platform image (default linux/amd64)
      --allow-registry <host>    allow a registry on a loopback/private address (host[:port] or
                                 CIDR[:port]; without a port only 443 and 80, :* any port);
                                 repeatable. Public registries are always allowed.
      --plain-http <host[:port]> speak plain HTTP (no TLS) to this registry; repeatable
      --docker-config <path>     credentials from a docker config.json (auths entries)
      --registry-config <path>   registry configuration file (YAML/JSON: allow, hosts, timeouts, ...)
      --cache-dir <dir>          keep analysed layers here, so the next run only reads new ones
  -h, --help                     show this help
`;

type Format = 'cyclonedx' | 'json' | 'table';

export class UsageError extends Error {}

/** How to reach and read an image: the flags `sbom` and `scan` share. */
export interface ImageAccessOptions {
  platform?: Platform;
  allow: string[];
  plainHttp: string[];
  dockerConfig?: string;
  registryConfig?: string;
  cacheDir?: string;
}

/** parseArgs options of the image-access flags. */
export const IMAGE_ACCESS_FLAGS = {
  platform: { type: 'string' },
  'allow-registry': { type: 'string', multiple: true },
  'plain-http': { type: 'string', multiple: true },
  'docker-config': { type: 'string' },
  'registry-config': { type: 'string' },
  'cache-dir': { type: 'string' },
} as const;

/** The image-access flags' values as options; a usage error names a bad --platform. */
export function imageAccessOf(values: {
  platform?: string;
  'allow-registry'?: string[];
  'plain-http'?: string[];
  'docker-config'?: string;
  'registry-config'?: string;
  'cache-dir'?: string;
}): ImageAccessOptions {
  let platform: Platform | undefined;
  if (values.platform !== undefined) {
    platform = parsePlatformString(values.platform);
    if (platform === undefined)
      throw new UsageError(`--platform must be os/arch[/variant], not "${values.platform}"`);
  }
  return {
    ...(platform === undefined ? {} : { platform }),
    allow: values['allow-registry'] ?? [],
    plainHttp: values['plain-http'] ?? [],
    ...(values['docker-config'] === undefined ? {} : { dockerConfig: values['docker-config'] }),
    ...(values['registry-config'] === undefined ? {} : { registryConfig: values['registry-config'] }),
    ...(values['cache-dir'] === undefined ? {} : { cacheDir: values['cache-dir'] }),
  };
}

interface SbomOptions extends ImageAccessOptions {
  image: string;
  format: Format;
}

function parseSbomArgs(args: string[]): SbomOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        format: { type: 'string', short: 'o', default: 'table' },
        output: { type: 'string' },
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
  const format = values.output ?? values.format;
  if (format !== 'cyclonedx' && format !== 'json' && format !== 'table')
    throw new UsageError(`--format must be cyclonedx, json or table, not "${format}"`);
  return { image: positionals[0] ?? '', format, ...imageAccessOf(values) };
}

/** Credentials from a docker config.json (`--docker-config`); a usage error names the file. */
export async function credentialsFrom(path: string): Promise<CredentialSource> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : 'unreadable';
    throw new UsageError(`--docker-config ${path} cannot be read (${code})`);
  }
  const parsed = parseDockerConfigDocument(text, 'dockerconfigjson', 'operator', path);
  if (!parsed.ok) throw new UsageError(`--docker-config: ${parsed.error}`);
  return new DockerConfigCredentialSource([parsed.config]);
}

/** What to add to a failure so the user knows which flag fixes it. */
export function hint(failure: ImageAnalysisFailure): string {
  if (failure.registry === undefined) return '';
  // A TLS handshake with a plain-HTTP server fails with a protocol error.
  if (failure.reason === 'NetworkError' && /EPROTO|SSL|TLS/i.test(failure.message))
    return ` [if ${failure.registry} speaks plain HTTP, use --plain-http ${failure.registry}]`;
  if (failure.reason !== 'RegistryNotAllowed') return '';
  if (failure.message.includes('plain HTTP')) return ` [use --plain-http ${failure.registry}]`;
  // A refused token realm or redirect target is another host:port than the registry.
  const realm = /^token realm (\S+) of /.exec(failure.message)?.[1];
  if (realm !== undefined) return ` [use --allow-registry ${realm} if this token realm is trusted]`;
  const target = / redirected to (\S+), which is not allowed/.exec(failure.message)?.[1];
  if (target !== undefined) return ` [use --allow-registry ${target} if this redirect target is trusted]`;
  return ` [use --allow-registry ${failure.registry} if this registry is trusted]`;
}

export async function runSbom(args: string[], io: CliIO): Promise<number> {
  let options: SbomOptions | 'help';
  let client: RegistryClient | undefined;
  try {
    options = parseSbomArgs(args);
    if (options === 'help') {
      io.stdout.write(sbomUsage);
      return 0;
    }
    const credentials =
      options.dockerConfig === undefined ? undefined : await credentialsFrom(options.dockerConfig);
    const built = await createImageAnalyzer({
      registryConfig: options.registryConfig,
      allow: options.allow,
      plainHttp: options.plainHttp,
      cacheDir: options.cacheDir,
      credentials,
    }).catch((err: unknown) => {
      throw err instanceof AnalyzerSettingsError ? new UsageError(err.message) : err;
    });
    client = built.client;
    const analyzer = built.analyzer;
    const result = await analyzer.analyze(options.image, {
      ...(options.platform === undefined ? {} : { platform: options.platform }),
    });
    if (!result.ok) {
      io.stderr.write(`shipshape sbom: ${result.reason}: ${result.message}${hint(result)}\n`);
      return 1;
    }
    switch (options.format) {
      case 'cyclonedx':
        io.stdout.write(
          `${JSON.stringify(
            toCycloneDx(result.inventory, {
              imageName: options.image,
              imageDigest: result.digest,
              toolVersion: VERSION,
            }),
            null,
            2,
          )}\n`,
        );
        break;
      case 'json':
        io.stdout.write(toJson(result.inventory));
        break;
      default:
        io.stdout.write(`Image: ${options.image}@${result.digest}\n${toTable(result.inventory)}`);
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`shipshape sbom: ${err.message}\n`);
      return 2;
    }
    throw err;
  } finally {
    client?.close();
  }
}
