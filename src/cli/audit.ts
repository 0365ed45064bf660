// `shipshape audit`: checks manifests offline, for CI pipelines. Reads
// multi-document YAML or JSON (files, directories or stdin), evaluates every
// pod and workload against the given policies (or the built-in default), prints
// the findings as a table, JSON or SARIF 2.1.0, and exits 1 when a finding is at
// or above --fail-on. Input it cannot read is reported as file:line, exit 2.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { AnySecurityPolicy } from '../api/policy-types.js';
import { policySpecSchema } from '../api/policy-schema.js';
import { compareSeverity, isAtLeast, parseSeverity, SEVERITIES, type Severity } from '../api/severity.js';
import { validateAgainstSchema } from '../api/validate.js';
import { compilePolicy, type CompiledPolicy } from '../policy/compile.js';
import { defaultPolicy } from '../policy/default-policy.js';
import { evaluateWorkload } from '../policy/evaluate.js';
import type { Finding } from '../policy/finding.js';
import { matchingPolicies } from '../policy/match.js';
import { policyTargetOf } from '../policy/target.js';
import { podSecurityRuleInfo, ruleById, ruleInfo, type RuleInfo } from '../policy/rules/catalog.js';
import { podTemplateOf } from '../policy/workload.js';
import { VERSION } from '../version.js';

export interface AuditIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

const USAGE = `Usage: shipshape audit -f <file|dir|-> [-f ...] [--policy <file>] [--output table|json|sarif]
                       [--fail-on ${SEVERITIES.join('|')}] [--namespace <ns>]

Checks pods and workloads in YAML or JSON manifests against security policies.
  -f, --filename   manifest file, directory (searched for .yaml, .yml, .json) or - for stdin
  -p, --policy     SecurityPolicy / ClusterSecurityPolicy manifests (default: built-in restricted policy);
                   policies found among the -f manifests are used too
  -o, --output     table (default), json or sarif
      --fail-on    exit 1 when a finding is at or above this severity (default High)
  -n, --namespace  namespace for manifests that name none (default "default")
`;

/** A problem with the input that the user fixes: printed as one line, never as a stack trace. */
export class AuditInputError extends Error {}

interface SourceDocument {
  file: string;
  line: number;
  object: KubernetesObject & Record<string, unknown>;
}

interface AuditedWorkload {
  file: string;
  line: number;
  kind: string;
  namespace: string;
  name: string;
  policies: string[];
  findings: Finding[];
}

type OutputFormat = 'table' | 'json' | 'sarif';

export async function runAudit(args: string[], io: AuditIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: false,
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        policy: { type: 'string', short: 'p', multiple: true },
        output: { type: 'string', short: 'o', default: 'table' },
        'fail-on': { type: 'string', default: 'High' },
        namespace: { type: 'string', short: 'n', default: 'default' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.stderr.write(`shipshape audit: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values } = parsed;
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const failOn = parseSeverity(values['fail-on']);
  const output = values.output;
  if (!values.filename || values.filename.length === 0) {
    io.stderr.write(`shipshape audit: -f is required\n\n${USAGE}`);
    return 2;
  }
  if (!failOn) {
    io.stderr.write(`shipshape audit: --fail-on must be one of ${SEVERITIES.join(', ')}\n`);
    return 2;
  }
  if (output !== 'table' && output !== 'json' && output !== 'sarif') {
    io.stderr.write('shipshape audit: --output must be table, json or sarif\n');
    return 2;
  }
  try {
    const manifests: SourceDocument[] = [];
    for (const path of values.filename) manifests.push(...(await readSources(path, io.stdin)));
    const policyDocs: SourceDocument[] = [];
    for (const path of values.policy ?? []) policyDocs.push(...(await readSources(path, io.stdin)));
    const policies = collectPolicies([...policyDocs, ...manifests]);
    for (const p of policies) {
      for (const problem of p.problems) io.stderr.write(`shipshape audit: policy ${p.name}: ${problem}\n`);
    }
    const workloads = auditWorkloads(
      manifests,
      policies.length > 0 ? policies : [compilePolicy(defaultPolicy())],
      values.namespace,
    );
    io.stdout.write(render(output, workloads));
    const failing = workloads.some((w) => w.findings.some((f) => isAtLeast(f.severity, failOn)));
    return failing ? 1 : 0;
  } catch (err) {
    if (err instanceof AuditInputError) {
      io.stderr.write(`shipshape audit: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function manifestFiles(path: string): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new AuditInputError(`${path}: no such file or directory`);
  }
  if (!stat.isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const child = join(path, entry.name);
      if (entry.isDirectory()) return manifestFiles(child);
      return /\.(ya?ml|json)$/.test(entry.name) ? [child] : [];
    });
}

async function readSources(path: string, stdin: NodeJS.ReadableStream): Promise<SourceDocument[]> {
  if (path === '-') return parseManifests('<stdin>', await readStdin(stdin));
  return manifestFiles(path).flatMap((file) => parseManifests(file, readFileSync(file, 'utf8')));
}

/** Parses multi-document YAML (JSON is YAML too); errors name the file, line and column. */
export function parseManifests(file: string, text: string): SourceDocument[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const out: SourceDocument[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const error = doc.errors[0];
    if (error) {
      const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
      throw new AuditInputError(
        `${file}:${pos.line}:${pos.col}: cannot parse YAML: ${error.message.split('\n')[0]}`,
      );
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    const line = lineCounter.linePos(doc.contents?.range[0] ?? 0).line;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new AuditInputError(
        `${file}:${line}: expected a Kubernetes object, found ${Array.isArray(value) ? 'a list' : typeof value}`,
      );
    }
    out.push(...flattenLists(file, line, value as SourceDocument['object']));
  }
  return out;
}

function flattenLists(file: string, line: number, object: SourceDocument['object']): SourceDocument[] {
  if (typeof object.kind === 'string' && object.kind.endsWith('List') && Array.isArray(object.items)) {
    return (object.items as unknown[])
      .filter((item): item is SourceDocument['object'] => typeof item === 'object' && item !== null)
      .flatMap((item) => flattenLists(file, line, item));
  }
  return [{ file, line, object }];
}

function collectPolicies(docs: readonly SourceDocument[]): CompiledPolicy[] {
  const policies: CompiledPolicy[] = [];
  for (const doc of docs) {
    const kind = doc.object.kind;
    if (kind !== 'SecurityPolicy' && kind !== 'ClusterSecurityPolicy') continue;
    const schema = policySpecSchema(kind === 'ClusterSecurityPolicy');
    const problems = validateAgainstSchema(schema, doc.object.spec ?? {}, 'spec');
    if (problems.length > 0) {
      throw new AuditInputError(
        `${doc.file}:${doc.line}: ${kind} ${doc.object.metadata?.name ?? ''}: ${problems[0]!.message}`,
      );
    }
    policies.push(compilePolicy(doc.object as unknown as AnySecurityPolicy));
  }
  return policies;
}

function auditWorkloads(
  docs: readonly SourceDocument[],
  policies: readonly CompiledPolicy[],
  defaultNamespace: string,
): AuditedWorkload[] {
  const namespaceLabels = new Map<string, Record<string, string>>();
  for (const doc of docs) {
    if (doc.object.kind === 'Namespace' && doc.object.metadata?.name)
      namespaceLabels.set(doc.object.metadata.name, doc.object.metadata.labels ?? {});
  }
  const audited: AuditedWorkload[] = [];
  for (const doc of docs) {
    const object = doc.object;
    const template = podTemplateOf(object);
    if (!template) continue;
    const namespace = object.metadata?.namespace ?? defaultNamespace;
    const withNamespace = { ...object, metadata: { ...object.metadata, namespace } };
    const applicable = matchingPolicies(
      policies,
      policyTargetOf({
        namespace,
        namespaceLabels: namespaceLabels.get(namespace),
        kind: object.kind,
        template,
      }),
    );
    const findings = evaluateWorkload(withNamespace, applicable).sort(
      (a, b) => compareSeverity(a.severity, b.severity) || a.ruleId.localeCompare(b.ruleId),
    );
    audited.push({
      file: doc.file,
      line: doc.line,
      kind: object.kind ?? 'Pod',
      namespace,
      name: object.metadata?.name ?? '',
      policies: applicable.map((p) => p.name),
      findings,
    });
  }
  return audited;
}

function render(format: OutputFormat, workloads: readonly AuditedWorkload[]): string {
  switch (format) {
    case 'json':
      return JSON.stringify({ workloads, summary: summarize(workloads) }, null, 2) + '\n';
    case 'sarif':
      return JSON.stringify(toSarif(workloads), null, 2) + '\n';
    default:
      return renderTable(workloads);
  }
}

function summarize(workloads: readonly AuditedWorkload[]): Record<string, number> {
  const counts: Record<string, number> = { workloads: workloads.length, compliant: 0, findings: 0 };
  for (const s of SEVERITIES) counts[s.toLowerCase()] = 0;
  for (const w of workloads) {
    if (w.findings.length === 0) counts.compliant! += 1;
    for (const f of w.findings) {
      counts.findings! += 1;
      counts[f.severity.toLowerCase()]! += 1;
    }
  }
  return counts;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function renderTable(workloads: readonly AuditedWorkload[]): string {
  const lines: string[] = [];
  for (const w of workloads) {
    const where = `${w.file}:${w.line}`;
    const header = `${w.kind} ${w.namespace}/${w.name} (${where})`;
    if (w.findings.length === 0) {
      lines.push(`${header}: compliant`, '');
      continue;
    }
    lines.push(`${header}: ${w.findings.length} finding${w.findings.length === 1 ? '' : 's'}`);
    const ruleWidth = Math.max(...w.findings.map((f) => f.ruleId.length));
    for (const f of w.findings) {
      lines.push(`  ${pad(f.severity.toUpperCase(), 8)} ${pad(f.ruleId, ruleWidth)}  ${f.message}`);
    }
    lines.push('');
  }
  const s = summarize(workloads);
  const bySeverity = SEVERITIES.map((sev) => `${s[sev.toLowerCase()]} ${sev.toLowerCase()}`).join(', ');
  lines.push(
    `${s.findings} findings (${bySeverity}) in ${s.workloads} workloads; ${s.compliant} compliant.`,
    '',
  );
  return lines.join('\n');
}

const SARIF_LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  Critical: 'error',
  High: 'error',
  Medium: 'warning',
  Low: 'note',
  Info: 'note',
};

/** GitHub code scanning ranks security results by this CVSS-like number. */
const SECURITY_SEVERITY: Record<Severity, string> = {
  Critical: '9.5',
  High: '8.0',
  Medium: '5.5',
  Low: '3.0',
  Info: '0.0',
};

function infoFor(finding: Finding): RuleInfo {
  const rule = ruleById(finding.ruleId);
  if (rule) return ruleInfo(rule);
  const check = finding.ruleId.replace(/^pss\./, '');
  return podSecurityRuleInfo(check, finding.title.includes('(baseline)') ? 'baseline' : 'restricted');
}

function toSarif(workloads: readonly AuditedWorkload[]): unknown {
  const rules = new Map<string, RuleInfo>();
  for (const w of workloads)
    for (const f of w.findings) if (!rules.has(f.ruleId)) rules.set(f.ruleId, infoFor(f));
  const ruleIndex = new Map([...rules.keys()].map((id, i) => [id, i]));
  const results = workloads.flatMap((w) =>
    w.findings.map((f) => ({
      ruleId: f.ruleId,
      ruleIndex: ruleIndex.get(f.ruleId),
      level: SARIF_LEVEL[f.severity],
      message: { text: `${w.kind} ${w.namespace}/${w.name}: ${f.message}. ${f.remediation}` },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: w.file === '<stdin>' ? 'stdin' : relative(process.cwd(), w.file) },
            region: { startLine: w.line },
          },
          logicalLocations: [{ name: `${w.kind}/${w.namespace}/${w.name}`, kind: 'resource' }],
        },
      ],
      partialFingerprints: {
        workloadRule: `${w.kind}/${w.namespace}/${w.name}/${f.container ?? ''}/${f.ruleId}`,
      },
      properties: { severity: f.severity, policy: f.policy, container: f.container },
    })),
  );
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'shipshape',
            version: VERSION,
            semanticVersion: VERSION,
            rules: [...rules.values()].map((r) => ({
              id: r.id,
              name: r.id.replace(/[^A-Za-z0-9]+(.)/g, (_m, c: string) => c.toUpperCase()),
              shortDescription: { text: r.title },
              fullDescription: { text: r.description },
              help: { text: r.remediation },
              defaultConfiguration: { level: SARIF_LEVEL[r.severity] },
              properties: {
                category: r.category,
                'security-severity': SECURITY_SEVERITY[r.severity],
                tags: ['security'],
              },
            })),
          },
        },
        results,
      },
    ],
  };
}
