// Globs for image references and paths, compiled once per policy: `*` stays
// within a path segment, `**` crosses segments, `?` is one character.

export type GlobMatcher = (value: string) => boolean;

const cache = new Map<string, RegExp>();

export function globToRegExp(glob: string): RegExp {
  const cached = cache.get(glob);
  if (cached) return cached;
  let source = '^';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob.charAt(i);
    if (ch === '*') {
      if (glob.charAt(i + 1) === '*') {
        // `a/**/b` should also match `a/b`.
        if (glob.charAt(i + 2) === '/') {
          source += '(?:.*/)?';
          i += 2;
        } else {
          source += '.*';
          i += 1;
        }
      } else {
        source += '[^/]*';
      }
    } else if (ch === '?') {
      source += '[^/]';
    } else {
      source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  const re = new RegExp(source + '$');
  if (cache.size < 10_000) cache.set(glob, re);
  return re;
}

/** Answers a matcher remembers; beyond that it starts over, so hostile input cannot grow it. */
const MATCHER_MEMORY = 1024;

/** One matcher for a list of globs; an empty list matches nothing. */
export function compileGlobs(globs: readonly string[] | undefined): GlobMatcher {
  if (!globs || globs.length === 0) return () => false;
  const literal = new Set(globs.filter((g) => !/[*?]/.test(g)));
  const patterns = globs.filter((g) => /[*?]/.test(g)).map(globToRegExp);
  if (patterns.length === 0) return (value) => literal.has(value);
  // A policy tests the same few images, registries and paths on every pod: one
  // map lookup is cheaper than running every pattern again.
  const answers = new Map<string, boolean>();
  return (value) => {
    let answer = answers.get(value);
    if (answer === undefined) {
      answer = literal.has(value) || patterns.some((re) => re.test(value));
      if (answers.size >= MATCHER_MEMORY) answers.clear();
      answers.set(value, answer);
    }
    return answer;
  };
}
