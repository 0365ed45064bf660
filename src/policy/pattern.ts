// Regular expressions written in policies, compiled in one place. A
// SecurityPolicy is written by a tenant, so its patterns are hostile input:
// V8's backtracking engine needs exponential time for `^(a|aa)+$` against
// forty `a`s and a `!`, and one such pattern would stall the evaluation of
// every workload in the cluster. re2js (a pure JavaScript port of RE2) matches
// in time linear in the input, and its syntax is the RE2 syntax the CRD
// promises and the API server's CEL check accepts. Cluster policies go
// through the same engine: an admin's typo should not hang the operator either.
// Every regular expression field of a policy is compiled here: today
// spec.rules.secrets.credentialNamePatterns; keyless subjectRegExp too once
// signature verification reads it.
import { LRUCache } from 'lru-cache';
import { RE2JS, RE2JSException, RE2JSSyntaxException } from 're2js';

/** Longest pattern accepted: the maxLength of every regular expression field in the CRD schema. */
export const MAX_POLICY_PATTERN_LENGTH = 256;

/** A compiled policy pattern; `test` answers whether it matches anywhere in the value, as RegExp.test does. */
export interface PolicyPattern {
  readonly source: string;
  test(value: string): boolean;
}

export type PolicyPatternResult =
  { readonly ok: true; readonly pattern: PolicyPattern } | { readonly ok: false; readonly error: string };

export interface PolicyPatternOptions {
  /** Where the pattern sits in the policy, for the error (`spec.rules.secrets.credentialNamePatterns[0]`). */
  field: string;
  ignoreCase?: boolean;
}

/** Distinct patterns remembered; beyond that the cache starts over, so policies cannot grow it without bound. */
const COMPILED_MEMORY = 4096;
const compiled = new LRUCache<string, RE2JS>({ max: COMPILED_MEMORY });

/**
 * Compiles a pattern from a policy, or says why it cannot: too long, or not
 * valid RE2 (RE2 has no lookaround and no backreferences, which is what makes
 * it linear). The error names the field and is meant for the policy's status.
 */
export function compilePolicyPattern(source: string, options: PolicyPatternOptions): PolicyPatternResult {
  if (source.length > MAX_POLICY_PATTERN_LENGTH)
    return {
      ok: false,
      error: `${options.field} is ${source.length} characters long; a pattern may have at most ${MAX_POLICY_PATTERN_LENGTH}`,
    };
  const flags = options.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0;
  const key = `${flags}\u0000${source}`;
  let re = compiled.get(key);
  if (re === undefined) {
    try {
      re = RE2JS.compile(source, flags);
    } catch (err) {
      return { ok: false, error: `${options.field} ${JSON.stringify(source)} ${syntaxProblem(err)}` };
    }
    compiled.set(key, re);
  }
  const engine = re;
  return { ok: true, pattern: { source, test: (value) => engine.test(value) } };
}

/** Compiles every pattern of a list; the first bad one is thrown as an Error, for rules whose prepare step reports it. */
export function compilePolicyPatterns(
  sources: readonly string[],
  field: string,
  options: { ignoreCase?: boolean } = {},
): PolicyPattern[] {
  return sources.map((source, i) => {
    const result = compilePolicyPattern(source, { ...options, field: `${field}[${i}]` });
    if (!result.ok) throw new Error(result.error);
    return result.pattern;
  });
}

/**
 * A pattern of the engine itself (not from a policy), linear like the others
 * because it runs on tenant values; a bad one is a programming error and throws.
 */
export function builtInPattern(source: string): PolicyPattern {
  const re = RE2JS.compile(source);
  return { source, test: (value) => re.test(value) };
}

function syntaxProblem(err: unknown): string {
  if (err instanceof RE2JSSyntaxException) {
    const description = err.getDescription();
    // The usual cause: a pattern written for JavaScript or PCRE.
    const hint = /perl syntax|escape/i.test(description)
      ? ' (RE2 has no lookahead, lookbehind or backreferences)'
      : '';
    return `is not a valid RE2 regular expression: ${description}${hint}`;
  }
  if (err instanceof RE2JSException) return `cannot be compiled: ${err.message}`;
  throw err;
}
