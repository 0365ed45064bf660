// Globs for image references and paths, compiled once per policy: `*` stays
// within a path segment, `**` crosses segments (`a/**/b` also matches `a/b`),
// `?` is one character other than `/`, everything else matches itself.
//
// Written by hand rather than translated to a RegExp: globs come from tenant
// policies and images from tenant pods, and V8's backtracking engine needs
// about C(60, 24) steps for a 24-star glob against a 60-character image. Here a
// glob is a small automaton run over the set of its live states, so a match
// costs at most len(glob) × len(value) steps, whatever the glob. picomatch
// translates to a RegExp too, so it would not help.
import { LRUCache } from 'lru-cache';

export type GlobMatcher = (value: string) => boolean;

/**
 * Longest value a glob is matched against; a longer one matches no glob. Far
 * above any real image reference (a repository name has at most 255
 * characters) or path, and it bounds a match at len(glob) × 4096 steps.
 */
export const MAX_GLOB_SUBJECT_LENGTH = 4096;

// What one state of the automaton does; the state after it is the next index.
/** One given character. */
const CHAR = 0;
/** `?`: one character other than `/`. */
const ONE_IN_SEGMENT = 1;
/** `*`: stays while reading characters other than `/`, or moves on without reading. */
const ANY_IN_SEGMENT = 2;
/** `**`: stays while reading any character, or moves on without reading. */
const ANY_ACROSS = 3;
// Reads nothing: moves on to the `**` and `/` that follow it, or past both, so that a/**/b matches a/b.
const OPTIONAL_DIRECTORIES = 4;
type Step =
  | typeof CHAR
  | typeof ONE_IN_SEGMENT
  | typeof ANY_IN_SEGMENT
  | typeof ANY_ACROSS
  | typeof OPTIONAL_DIRECTORIES;

interface Automaton {
  steps: Step[];
  /** The character of each CHAR step, as a UTF-16 code unit. */
  chars: number[];
  /** The live states before and after a character, reused: matching is synchronous. */
  live: Uint8Array;
  next: Uint8Array;
}

const SLASH = 0x2f;

function automatonOf(glob: string): Automaton {
  const steps: Step[] = [];
  const chars: number[] = [];
  for (let i = 0; i < glob.length; i++) {
    const ch = glob.charCodeAt(i);
    if (ch === 0x2a /* * */) {
      if (glob.charCodeAt(i + 1) === 0x2a) {
        if (glob.charCodeAt(i + 2) === SLASH) {
          steps.push(OPTIONAL_DIRECTORIES, ANY_ACROSS, CHAR);
          chars.push(0, 0, SLASH);
          i += 2;
        } else {
          steps.push(ANY_ACROSS);
          chars.push(0);
          i += 1;
        }
      } else {
        steps.push(ANY_IN_SEGMENT);
        chars.push(0);
      }
    } else if (ch === 0x3f /* ? */) {
      steps.push(ONE_IN_SEGMENT);
      chars.push(0);
    } else {
      steps.push(CHAR);
      chars.push(ch);
    }
  }
  return { steps, chars, live: new Uint8Array(steps.length + 1), next: new Uint8Array(steps.length + 1) };
}

/** Adds the states reachable without reading: states only ever move forward, so one ascending pass suffices. */
function close(a: Automaton, live: Uint8Array): void {
  const { steps } = a;
  for (let s = 0; s < steps.length; s++) {
    if (live[s] === 0) continue;
    const step = steps[s];
    if (step === ANY_IN_SEGMENT || step === ANY_ACROSS) live[s + 1] = 1;
    else if (step === OPTIONAL_DIRECTORIES) {
      live[s + 1] = 1;
      live[s + 3] = 1;
    }
  }
}

function run(a: Automaton, value: string): boolean {
  const { steps, chars } = a;
  const accept = steps.length;
  let { live, next } = a;
  live.fill(0);
  live[0] = 1;
  close(a, live);
  for (let i = 0; i < value.length; i++) {
    const ch = value.charCodeAt(i);
    next.fill(0);
    let any = false;
    for (let s = 0; s < accept; s++) {
      if (live[s] === 0) continue;
      const step = steps[s];
      let to = -1;
      if (step === CHAR) {
        if (chars[s] === ch) to = s + 1;
      } else if (step === ONE_IN_SEGMENT) {
        if (ch !== SLASH) to = s + 1;
      } else if (step === ANY_IN_SEGMENT) {
        if (ch !== SLASH) to = s;
      } else if (step === ANY_ACROSS) {
        to = s;
      }
      if (to >= 0) {
        next[to] = 1;
        any = true;
      }
    }
    if (!any) return false;
    close(a, next);
    [live, next] = [next, live];
  }
  return live[accept] === 1;
}

const cache = new LRUCache<string, Automaton>({ max: 10_000 });

/** A matcher for one glob. */
export function compileGlob(glob: string): GlobMatcher {
  let a = cache.get(glob);
  if (a === undefined) {
    a = automatonOf(glob);
    cache.set(glob, a);
  }
  const automaton = a;
  return (value) => value.length <= MAX_GLOB_SUBJECT_LENGTH && run(automaton, value);
}

/** Answers a matcher remembers; beyond that it starts over, so hostile input cannot grow it. */
const MATCHER_MEMORY = 1024;

const WILDCARD = /[*?]/;

/** One matcher for a list of globs; an empty list matches nothing. */
export function compileGlobs(globs: readonly string[] | undefined): GlobMatcher {
  if (!globs || globs.length === 0) return () => false;
  const literal = new Set(globs.filter((g) => !WILDCARD.test(g)));
  const patterns = globs.filter((g) => WILDCARD.test(g)).map(compileGlob);
  if (patterns.length === 0) return (value) => literal.has(value);
  // A policy tests the same few images, registries and paths on every pod: one
  // map lookup is cheaper than running every pattern again.
  const answers = new LRUCache<string, boolean>({ max: MATCHER_MEMORY });
  return (value) => {
    // Over-long values match no pattern, and are not remembered: they would keep big strings alive.
    if (value.length > MAX_GLOB_SUBJECT_LENGTH) return literal.has(value);
    let answer = answers.get(value);
    if (answer === undefined) {
      answer = literal.has(value) || patterns.some((match) => match(value));
      answers.set(value, answer);
    }
    return answer;
  };
}
