// Secret rules: credentials written as literal env values, and secrets mounted
// where a policy forbids. Messages name the variable, never its value.
//
// Env names and values come from pod specs and image configs, which tenants
// write: every pattern here runs in linear time (re2js, see ../pattern.ts) and
// only on a bounded prefix, so a hostile value costs no more than a long one.
import { LRUCache } from 'lru-cache';
import type { V1Volume } from '@kubernetes/client-node';
import { compileGlobs, type GlobMatcher } from '../glob.js';
import { builtInPattern, compilePolicyPatterns, type PolicyPattern } from '../pattern.js';
import { eachContainer, notEphemeral, quote, type RuleDefinition, type RuleHit } from './rule.js';
import { describeContainer } from '../workload.js';

/** Words of an env name that mark a credential (DB_PASSWORD, githubToken, API_KEY). */
const CREDENTIAL_WORDS = new Set([
  'password',
  'passwd',
  'passphrase',
  'pass',
  'pwd',
  'secret',
  'token',
  'apikey',
  'credential',
  'credentials',
]);
const CREDENTIAL_PAIRS = new Set([
  'api key',
  'access key',
  'private key',
  'secret key',
  'client secret',
  'connection string',
  'signing key',
  'encryption key',
]);
/** Last words that make the variable a reference to a credential (a path, a URL, a name), not the credential. */
const REFERENCE_WORDS = new Set([
  'file',
  'path',
  'dir',
  'url',
  'uri',
  'endpoint',
  'host',
  'port',
  'name',
  'user',
  'username',
  'ttl',
  'timeout',
  'expiry',
  'expires',
  'length',
  'header',
  'enabled',
  'type',
  'mode',
  'ref',
  'id',
  'policy',
  'version',
]);

/** Characters of an env name that are classified and matched; a longer name is judged by this prefix. */
export const MAX_ENV_NAME_LENGTH = 1024;
/** Characters of an env value scanned for credential formats; a credential further in is not seen. */
export const ENV_VALUE_SCAN_PREFIX = 4096;

function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

const nameVerdicts = new LRUCache<string, boolean>({ max: 10_000 });

function isCredentialName(name: string): boolean {
  let verdict = nameVerdicts.get(name);
  if (verdict === undefined) {
    verdict = classifyName(name);
    // Env names repeat across pods; the bound keeps hostile input from growing the map.
    nameVerdicts.set(name, verdict);
  }
  return verdict;
}

function classifyName(name: string): boolean {
  const words = nameWords(name);
  const last = words.at(-1);
  if (last === undefined || REFERENCE_WORDS.has(last)) return false;
  for (let i = 0; i < words.length; i++) {
    if (CREDENTIAL_WORDS.has(words[i] as string)) return true;
    if (i > 0 && CREDENTIAL_PAIRS.has(`${words[i - 1]} ${words[i]}`)) return true;
  }
  return false;
}
/** Values that are credentials whatever the variable is called. */
const CREDENTIAL_VALUE = [
  /AKIA[0-9A-Z]{16}/, // AWS access key id
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\bgh[pousr]_[A-Za-z0-9]{36,}/, // GitHub tokens
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/, // Slack tokens
  /\bsk_live_[A-Za-z0-9]{16,}/, // Stripe
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, // JWT
  /\bglpat-[A-Za-z0-9_-]{20,}/, // GitLab
  /:\/\/[^/\s:@]+:[^/\s:@]+@/, // URL with user:password
];
/**
 * All of CREDENTIAL_VALUE as one pattern: one scan of each env value instead of
 * eight. Run by RE2, not V8: V8 rescans the rest of the value from every `eyJ`
 * for the JWT pattern, quadratic time that reaches seconds for a 120 KB value.
 */
const ANY_CREDENTIAL_VALUE = builtInPattern(CREDENTIAL_VALUE.map((re) => `(?:${re.source})`).join('|'));
/**
 * The fixed text each of CREDENTIAL_VALUE starts with. Made of literals only,
 * so V8 runs it in linear time too; most values contain none of them and are
 * done without starting RE2, which costs more per call.
 */
const CREDENTIAL_MARKER = /AKIA|-----BEGIN |gh[pousr]_|xox[abprs]-|sk_live_|eyJ|glpat-|:\/\//;
/** Values that are plainly not secrets even under a credential-like name. */
const HARMLESS_VALUE = /^(|true|false|yes|no|on|off|none|null|changeme|\d{1,5}|\$\(.*\)|\/[\w./-]*)$/i;

export interface EnvCredentialParams {
  extraNames: PolicyPattern[];
}

/** spec.rules.secrets.credentialNamePatterns compiled, for the rules that read env names. */
export function prepareCredentialNames(patterns: readonly string[]): EnvCredentialParams {
  return {
    extraNames: compilePolicyPatterns(patterns, 'spec.rules.secrets.credentialNamePatterns', {
      ignoreCase: true,
    }),
  };
}

function prefix(value: string, length: number): string {
  return value.length > length ? value.slice(0, length) : value;
}

/** Whether an env variable's name alone marks it as a credential (for image configs, where only names are known). */
export function looksLikeCredentialName(name: string, extraNames: readonly PolicyPattern[] = []): boolean {
  const subject = prefix(name, MAX_ENV_NAME_LENGTH);
  return extraNames.some((re) => re.test(subject)) || isCredentialName(subject);
}

/** Whether an env variable with this literal value looks like a credential; the value is never stored. */
export function looksLikeCredential(
  name: string,
  value: string,
  extraNames: readonly PolicyPattern[] = [],
): boolean {
  const scanned = prefix(value, ENV_VALUE_SCAN_PREFIX);
  if (CREDENTIAL_MARKER.test(scanned) && ANY_CREDENTIAL_VALUE.test(scanned)) return true;
  // Harmless values are short; a longer one is never harmless, and is not trimmed or matched.
  if (value.length <= ENV_VALUE_SCAN_PREFIX && HARMLESS_VALUE.test(value.trim())) return false;
  return looksLikeCredentialName(name, extraNames);
}

export const envLiteralCredential: RuleDefinition<EnvCredentialParams> = {
  id: 'secrets.envLiteral',
  title: 'Credential in a literal env value',
  severity: 'High',
  category: 'secrets',
  description:
    'A password, token or key written into the pod spec is readable by anyone who can read the workload, and lands in Git, CI logs and etcd unencrypted. Detected by the variable name (PASSWORD, TOKEN, API_KEY, ..., plus spec.rules.secrets.credentialNamePatterns) and by well-known credential formats in the value. The value is never reported.',
  remediation:
    'Move the value into a Secret and reference it with env[].valueFrom.secretKeyRef, or mount it as a file.',
  prepare(rules) {
    const patterns = rules.secrets?.credentialNamePatterns ?? [];
    return { key: JSON.stringify(patterns), params: prepareCredentialNames(patterns) };
  },
  check: eachContainer((c, p: EnvCredentialParams) => {
    const names: string[] = [];
    for (const env of c.container.env ?? []) {
      if (
        env.value !== undefined &&
        env.value !== '' &&
        looksLikeCredential(env.name, env.value, p.extraNames)
      )
        names.push(env.name);
    }
    return names.length > 0
      ? `sets env ${names.map(quote).join(', ')} to a literal value that looks like a credential`
      : undefined;
  }),
};

function secretNamesOf(volume: V1Volume): string[] {
  if (volume.secret) return [volume.secret.secretName ?? volume.name];
  return (volume.projected?.sources ?? []).flatMap((s) => (s.secret ? [s.secret.name ?? volume.name] : []));
}

export const secretMountPath: RuleDefinition<GlobMatcher> = {
  id: 'secrets.mountPath',
  title: 'Secret mounted at a forbidden path',
  severity: 'Medium',
  category: 'secrets',
  description:
    'Secrets mounted where the app serves files or writes logs (for example a web root) leak. Forbidden paths: spec.rules.secrets.forbiddenMountPaths.',
  remediation: 'Mount the secret under a dedicated directory such as /var/run/secrets/<app>.',
  prepare(rules) {
    const paths = rules.secrets?.forbiddenMountPaths ?? [];
    if (paths.length === 0) return undefined;
    // A glob for a directory also forbids what is below it.
    const globs = paths.flatMap((p) =>
      p.endsWith('/**') ? [p, p.slice(0, -3)] : [p, `${p.replace(/\/$/, '')}/**`],
    );
    return { key: JSON.stringify(paths), params: compileGlobs(globs) };
  },
  check({ pod }, forbidden) {
    const secrets = new Map<string, string[]>();
    for (const v of pod.spec.volumes ?? []) {
      const names = secretNamesOf(v);
      if (names.length > 0) secrets.set(v.name, names);
    }
    if (secrets.size === 0) return [];
    const hits: RuleHit[] = [];
    for (const c of pod.containers) {
      for (const m of c.container.volumeMounts ?? []) {
        const names = secrets.get(m.name);
        if (names && forbidden(m.mountPath)) {
          hits.push({
            container: c,
            message: `${describeContainer(c)} mounts secret ${names.map(quote).join(', ')} at ${quote(m.mountPath)}`,
          });
        }
      }
    }
    return hits;
  },
};

export const secretInEnv: RuleDefinition = {
  id: 'secrets.envFrom',
  title: 'Secret exposed as environment variables',
  severity: 'Low',
  category: 'secrets',
  optional: true,
  description:
    'Secrets in env variables are inherited by every child process and often end up in crash dumps and debug output; files can be rotated and permission-restricted.',
  remediation: 'Mount the secret as a volume instead of env[].valueFrom.secretKeyRef or envFrom[].secretRef.',
  check: eachContainer((c) => {
    const refs = [
      ...(c.container.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => `env ${quote(e.name)}`),
      ...(c.container.envFrom ?? [])
        .filter((e) => e.secretRef)
        .map((e) => `envFrom secret ${quote(e.secretRef?.name ?? '')}`),
    ];
    return refs.length > 0 ? `takes secrets through ${refs.join(', ')}` : undefined;
  }, notEphemeral),
};

export const secretRules = [envLiteralCredential, secretMountPath, secretInEnv];
