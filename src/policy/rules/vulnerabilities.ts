// The vulnerability rules: one finding per vulnerability of a container's image at
// or above the policy's spec.vulnerabilities.severityThreshold, under the rule of
// its severity (vulnerabilities.critical, .high, .medium, .low), so exceptions,
// severity overrides and the report's counts work as for every other rule. What
// the policy accepts is left out of the violations and shown as an Info finding
// (vulnerabilities.suppressed) with why: ignoreUnfixed, an ignore entry (by id or
// alias, optionally narrowed to image globs, until its expiry) and OpenVEX
// `not_affected` / `fixed` statements for the image or the package (read from the
// ConfigMap spec.vulnerabilities.vex.configMapRef names; they arrive as image
// facts, so this stays pure). Matched vulnerabilities come as image facts too; an
// image whose vulnerabilities are not known yet gets no finding.
import type { Severity } from '../../api/severity.js';
import { isAtLeast } from '../../api/severity.js';
import type { TrustObjectKeyRef } from '../../api/policy-types.js';
import { compileGlobs, type GlobMatcher } from '../glob.js';
import {
  lookupImageFacts,
  vulnerabilitySeverity,
  type ImageVulnerabilityFact,
  type ImageVulnerabilityFacts,
  type VexStatementFact,
} from '../image-facts.js';
import { describeContainer, type ContainerView } from '../workload.js';
import { NO_HITS, quote, type RuleDefinition, type RuleHit, type RuleInput } from './rule.js';

interface CompiledIgnore {
  ids: ReadonlySet<string>;
  images: GlobMatcher | undefined;
  reason: string;
  expiresAt: number;
  expires: string;
}

export interface VulnerabilityRuleParams {
  threshold: Severity;
  ignoreUnfixed: boolean;
  ignores: readonly CompiledIgnore[];
  /** The VEX source key (vexSourceKey) of the policy's ConfigMap, if it names one. */
  vex: string | undefined;
}

/** Where a policy's OpenVEX statements come from, as the image facts key them. */
export function vexSourceKey(ref: TrustObjectKeyRef, policyNamespace: string | undefined): string {
  return `${ref.namespace ?? policyNamespace ?? 'default'}/${ref.name}/${ref.key}`;
}

/** The ConfigMap a policy's VEX statements are read from, resolved to a namespace. */
export function vexSourceOf(
  spec: { vulnerabilities?: { vex?: { configMapRef?: TrustObjectKeyRef } } },
  policyNamespace: string | undefined,
): { namespace: string; name: string; key: string; sourceKey: string } | undefined {
  const ref = spec.vulnerabilities?.vex?.configMapRef;
  if (ref === undefined) return undefined;
  const namespace = ref.namespace ?? policyNamespace ?? 'default';
  return { namespace, name: ref.name, key: ref.key, sourceKey: vexSourceKey(ref, policyNamespace) };
}

/** Why the policy accepts a vulnerability in this image, or undefined when it counts. */
export function acceptance(
  v: ImageVulnerabilityFact,
  image: { raw: string; normalized: string; digest: string | undefined },
  params: VulnerabilityRuleParams,
  statements: readonly VexStatementFact[] | undefined,
  now: number,
): string | undefined {
  if (params.ignoreUnfixed && v.fixedVersions.length === 0)
    return 'no fixed version exists yet and the policy sets ignoreUnfixed';
  for (const ignore of params.ignores) {
    if (!(ignore.expiresAt > now) || !namesFlaw(ignore.ids, v)) continue;
    if (ignore.images !== undefined && !ignore.images(image.raw) && !ignore.images(image.normalized))
      continue;
    return `ignored until ${ignore.expires}: ${ignore.reason}`;
  }
  const statement = statements === undefined ? undefined : vexStatementFor(statements, v, image.digest);
  if (statement !== undefined && (statement.status === 'not_affected' || statement.status === 'fixed')) {
    const why = [statement.justification, statement.impactStatement]
      .filter((x) => x !== undefined)
      .join(': ');
    return `VEX ${statement.status}${why === '' ? '' : ` (${why})`} from ${statement.source}`;
  }
  return undefined;
}

function namesFlaw(ids: ReadonlySet<string>, v: ImageVulnerabilityFact): boolean {
  if (ids.has(v.id)) return true;
  for (const alias of v.aliases) if (ids.has(alias)) return true;
  return false;
}

/** The last statement (they come in time order) about this flaw for this image or package. */
export function vexStatementFor(
  statements: readonly VexStatementFact[],
  v: ImageVulnerabilityFact,
  digest: string | undefined,
): VexStatementFact | undefined {
  let found: VexStatementFact | undefined;
  for (const s of statements) {
    if (!s.vulnerabilities.some((id) => id === v.id || v.aliases.includes(id))) continue;
    const applies = s.products.some(
      (p) =>
        productNamesPackage(p.id, v.package.purl) ||
        (productNamesImage(p.id, digest) &&
          (p.subcomponents.length === 0 ||
            p.subcomponents.some((c) => productNamesPackage(c, v.package.purl)))),
    );
    if (applies) found = s;
  }
  return found;
}

/** An image product: its digest, or an OCI purl whose version is the digest. */
function productNamesImage(product: string, digest: string | undefined): boolean {
  if (digest === undefined) return false;
  if (product === digest) return true;
  if (!product.startsWith('pkg:oci/')) return false;
  const at = product.indexOf('@');
  if (at < 0) return false;
  const version = decodeURIComponent(product.slice(at + 1).split(/[?#]/)[0]!);
  return version === digest;
}

/** A package product: the same purl without qualifiers, or the purl without a version (any version). */
function productNamesPackage(product: string, purl: string): boolean {
  if (!product.startsWith('pkg:') || product.startsWith('pkg:oci/')) return false;
  const bare = (p: string): string => decodeURIComponent(p.split(/[?#]/)[0]!);
  const wanted = bare(product);
  const have = bare(purl);
  if (wanted === have) return true;
  return !wanted.includes('@') && have.startsWith(`${wanted}@`);
}

function describe(v: ImageVulnerabilityFact): string {
  const fixed =
    v.fixedVersions.length === 0 ? 'no fix yet' : `fixed in ${v.fixedVersions.slice(0, 3).join(', ')}`;
  const summary = v.summary === undefined ? '' : `: ${v.summary.slice(0, 200)}`;
  return `${v.id} (${vulnerabilitySeverity(v)}) in ${v.package.name} ${v.installedVersion}, ${fixed}${summary}`;
}

interface ContainerVulnerabilities {
  container: ContainerView;
  image: { raw: string; normalized: string; digest: string | undefined };
  findings: ImageVulnerabilityFacts;
  statements: readonly VexStatementFact[] | undefined;
}

function* containersWithVulnerabilities(
  input: RuleInput,
  params: VulnerabilityRuleParams,
): Generator<ContainerVulnerabilities> {
  const source = input.imageFacts;
  if (source === undefined) return;
  for (const c of input.pod.containers) {
    const facts = lookupImageFacts(source, c.image.raw);
    const findings = facts?.vulnerabilityFindings;
    if (findings === undefined || findings.length === 0) continue;
    yield {
      container: c,
      image: { raw: c.image.raw, normalized: c.image.normalized, digest: facts?.digest },
      findings,
      statements: params.vex === undefined ? undefined : facts?.vex?.[params.vex],
    };
  }
}

function prepareVulnerabilities(
  spec: Parameters<NonNullable<RuleDefinition['prepare']>>[1]['spec'],
  namespace: string | undefined,
): { key: string; params: VulnerabilityRuleParams } {
  const settings = spec.vulnerabilities ?? {};
  const ignores: CompiledIgnore[] = (settings.ignore ?? []).map((i) => ({
    ids: new Set([i.id]),
    images: i.images === undefined || i.images.length === 0 ? undefined : compileGlobs(i.images),
    reason: i.reason,
    expiresAt: Date.parse(i.expires),
    expires: i.expires,
  }));
  const vex = vexSourceOf(spec, namespace)?.sourceKey;
  const params: VulnerabilityRuleParams = {
    threshold: settings.severityThreshold ?? 'High',
    ignoreUnfixed: settings.ignoreUnfixed === true,
    ignores,
    vex,
  };
  return {
    key: JSON.stringify([params.threshold, params.ignoreUnfixed, settings.ignore ?? [], vex ?? null]),
    params,
  };
}

function severityRule(severity: Exclude<Severity, 'Info'>): RuleDefinition<VulnerabilityRuleParams> {
  const level = severity.toLowerCase();
  return {
    id: `vulnerabilities.${level}`,
    title: `${severity} vulnerability in image`,
    severity,
    category: 'vulnerabilities',
    description: `A package in the container's image has a known vulnerability of ${severity} severity (from the OSV database the operator is given with --vulnerability-db-source), and ${severity} is at or above the policy's spec.vulnerabilities.severityThreshold (default High). One finding per vulnerability and container, named by its id in the finding's subject. Vulnerabilities without a fix are skipped under ignoreUnfixed; spec.vulnerabilities.ignore entries (until their expiry) and OpenVEX not_affected/fixed statements from spec.vulnerabilities.vex.configMapRef suppress one, shown as vulnerabilities.suppressed. Needs image analysis and a vulnerability database.`,
    remediation:
      'Rebuild the image on a base or package version that has the fix (the message names the fixed version), or record why it does not apply: an OpenVEX statement in the policy VEX ConfigMap, or a spec.vulnerabilities.ignore entry with a reason and an expiry.',
    prepare: (_rules, policy) => {
      const prepared = prepareVulnerabilities(policy.spec, policy.namespace);
      return isAtLeast(severity, prepared.params.threshold) ? prepared : undefined;
    },
    check(input, params) {
      let hits: RuleHit[] | undefined;
      for (const { container, image, findings, statements } of containersWithVulnerabilities(input, params)) {
        for (const v of findings) {
          if (vulnerabilitySeverity(v) !== severity) continue;
          if (acceptance(v, image, params, statements, input.now) !== undefined) continue;
          (hits ??= []).push({
            container,
            subject: v.id,
            message: `${describeContainer(container)} image ${quote(image.raw)}: ${describe(v)}`,
          });
        }
      }
      return hits ?? NO_HITS;
    },
  };
}

export const vulnerabilitiesSuppressed: RuleDefinition<VulnerabilityRuleParams> = {
  id: 'vulnerabilities.suppressed',
  title: 'Vulnerability accepted by the policy',
  severity: 'Info',
  category: 'vulnerabilities',
  description:
    'A vulnerability at or above the threshold that the policy accepts: no fix exists and ignoreUnfixed is set, a spec.vulnerabilities.ignore entry names it (until its expiry), or an OpenVEX statement says the image or package is not_affected or fixed. Info, so it never makes a workload non-compliant; the message says which and why (the VEX justification).',
  remediation:
    'Nothing to do while the reason holds; an ignore entry stops applying at its expiry and the vulnerability counts again.',
  prepare: (_rules, policy) => prepareVulnerabilities(policy.spec, policy.namespace),
  check(input, params) {
    let hits: RuleHit[] | undefined;
    for (const { container, image, findings, statements } of containersWithVulnerabilities(input, params)) {
      for (const v of findings) {
        const level = vulnerabilitySeverity(v);
        if (level === 'Info' || !isAtLeast(level, params.threshold)) continue;
        const why = acceptance(v, image, params, statements, input.now);
        if (why === undefined) continue;
        (hits ??= []).push({
          container,
          subject: v.id,
          message: `${describeContainer(container)} image ${quote(image.raw)}: ${describe(v)}; accepted: ${why}`,
        });
      }
    }
    return hits ?? NO_HITS;
  },
};

export const vulnerabilityRules = [
  severityRule('Critical'),
  severityRule('High'),
  severityRule('Medium'),
  severityRule('Low'),
  vulnerabilitiesSuppressed,
];

/** The ignore entries of a policy that have expired by `now` (the reconciler says so in an Event). */
export function expiredIgnores(
  spec: { vulnerabilities?: { ignore?: readonly { id: string; expires: string; reason: string }[] } },
  now: number,
): { id: string; expires: string; reason: string }[] {
  return (spec.vulnerabilities?.ignore ?? []).filter((i) => !(Date.parse(i.expires) > now));
}
