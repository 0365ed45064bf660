// Specification of image and path globs: `*` within a path segment, `**`
// across segments (`a/**/b` also matches `a/b`), `?` one character other than
// `/`; the same answers as the regular expression translation they replace, in
// time linear in the value whatever the glob.
import assert from 'node:assert/strict';
import { compileGlob, compileGlobs, MAX_GLOB_SUBJECT_LENGTH } from '../../../src/policy/glob.js';

/**
 * The translation to a backtracking RegExp that the glob matcher replaced, as
 * the oracle for its semantics. Only ever run on short inputs here: on a glob
 * with ten stars it takes minutes.
 */
function oracle(glob: string): RegExp {
  let source = '^';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob.charAt(i);
    if (ch === '*') {
      if (glob.charAt(i + 1) === '*') {
        if (glob.charAt(i + 2) === '/') {
          source += '(?:.*/)?';
          i += 2;
        } else {
          source += '.*';
          i += 1;
        }
      } else source += '[^/]*';
    } else if (ch === '?') source += '[^/]';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${source}$`);
}

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomString(random: () => number, alphabet: readonly string[], maxLength: number): string {
  const length = Math.floor(random() * (maxLength + 1));
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(random() * alphabet.length)]!;
  return out;
}

describe('globs', () => {
  const cases: [glob: string, value: string, matches: boolean][] = [
    ['ghcr.io/*', 'ghcr.io/x', true],
    ['ghcr.io/*', 'ghcr.io/x/y', false],
    ['ghcr.io/*', 'ghcr.io/', true],
    ['ghcr.io/**', 'ghcr.io/x/y:1', true],
    ['ghcr.io/**', 'ghcr.io', false],
    ['a/**/b', 'a/b', true],
    ['a/**/b', 'a/x/y/b', true],
    ['a/**/b', 'ab', false],
    ['a/**/b', 'a/xb', false],
    ['**/b', 'b', true],
    ['**/b', 'x/y/b', true],
    ['*.example.com', 'registry.example.com', true],
    ['*.example.com', 'a/b.example.com', false],
    ['*.example.com', 'registry.example.org', false],
    ['redis:?', 'redis:7', true],
    ['redis:?', 'redis:/', false],
    ['redis:?', 'redis:77', false],
    ['nginx', 'nginx', true],
    ['nginx', 'nginx:1', false],
    ['a.b', 'axb', false],
    ['/var/run/**', '/var/run/secrets/x', true],
    ['/var/*/x', '/var/run/secrets/x', false],
  ];
  for (const [glob, value, matches] of cases) {
    it(`${matches ? 'matches' : 'does not match'} ${JSON.stringify(value)} with ${JSON.stringify(glob)}`, () => {
      assert.equal(compileGlob(glob)(value), matches);
      assert.equal(compileGlobs([glob])(value), matches);
    });
  }

  it('agrees with the regular expression translation on 20,000 random globs and values', () => {
    const random = rng(7);
    const globAlphabet = ['a', 'b', '/', '*', '**', '?', '.', '**/'];
    const valueAlphabet = ['a', 'b', '/', '.'];
    for (let i = 0; i < 20_000; i++) {
      const glob = randomString(random, globAlphabet, 6);
      const value = randomString(random, valueAlphabet, 8);
      assert.equal(compileGlob(glob)(value), oracle(glob).test(value), `${glob} against ${value}`);
    }
  });

  it('matches a 24-star glob against a 60-character image in linear time', () => {
    const glob = `ghcr.io/${'*a'.repeat(24)}:1`;
    const image = `ghcr.io/${'a'.repeat(52)}`;
    assert.equal(image.length, 60);
    const start = performance.now();
    assert.equal(compileGlobs([glob])(image), false);
    assert.equal(compileGlob(`**${'*a'.repeat(24)}**:1`)(`${image}/${image}`), false);
    assert.equal(compileGlob(glob)(`${image}:1`), true);
    const ms = performance.now() - start;
    // The backtracking translation takes minutes at ten stars; this is microseconds.
    assert.ok(ms < 2000, `${ms} ms`);
  });

  it('matches no value longer than MAX_GLOB_SUBJECT_LENGTH', () => {
    const long = `ghcr.io/${'a'.repeat(MAX_GLOB_SUBJECT_LENGTH)}`;
    assert.equal(compileGlobs(['ghcr.io/**'])(long), false);
    assert.equal(compileGlobs(['ghcr.io/**'])(long.slice(0, MAX_GLOB_SUBJECT_LENGTH)), true);
    // A literal entry is a plain comparison, whatever the length.
    assert.equal(compileGlobs([long, 'x*'])(long), true);
  });

  it('matches nothing for an empty list', () => {
    assert.equal(compileGlobs([])('anything'), false);
    assert.equal(compileGlobs(undefined)(''), false);
  });
});
