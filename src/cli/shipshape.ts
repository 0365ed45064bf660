// The `shipshape` command: dispatches to subcommands and turns expected
// failures into one-line errors and exit codes instead of stack traces.
import { VERSION } from '../version.js';
import type { CliIO } from './io.js';

type Command = (args: string[], io: CliIO) => Promise<number>;

// Each subcommand is loaded when it runs: `shipshape sbom` never loads the Kubernetes client.
const commands: Record<string, { summary: string; run: Command }> = {
  operator: {
    summary: 'run the operator against a cluster',
    run: async (args, io) => (await import('./operator.js')).runOperator(args, io),
  },
  audit: {
    summary: 'check manifests against policies offline (for CI pipelines)',
    run: async (args, io) => (await import('./audit.js')).runAudit(args, io),
  },
  sbom: {
    summary: 'list the packages in an image (CycloneDX, table or JSON)',
    run: async (args, io) => (await import('./sbom.js')).runSbom(args, io),
  },
  scan: {
    summary: 'list the vulnerabilities of an image (table, JSON, SARIF or CycloneDX VEX)',
    run: async (args, io) => (await import('./scan.js')).runScan(args, io),
  },
  db: {
    summary: 'pull or inspect a local vulnerability database (air-gapped use)',
    run: async (args, io) => (await import('./db.js')).runDb(args, io),
  },
};

const usage = (): string =>
  [
    'Usage: shipshape <command> [options]',
    '',
    'Shipshape keeps Kubernetes workloads shipshape: container security best practice as policy,',
    'checked continuously, reported as Kubernetes objects, Events and Prometheus metrics.',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, { summary }]) => `  ${name.padEnd(10)} ${summary}`),
    '',
    'Options:',
    '  -h, --help     show help (also: shipshape <command> --help)',
    '  -v, --version  print the version',
    '',
  ].join('\n');

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    io.stdout.write(usage());
    return first === undefined ? 2 : 0;
  }
  if (first === '-v' || first === '--version' || first === 'version') {
    io.stdout.write(`shipshape ${VERSION}\n`);
    return 0;
  }
  const command = commands[first];
  if (!command) {
    io.stderr.write(`shipshape: unknown command "${first}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`shipshape ${first}: ${message}\n`);
    return 1;
  }
}
