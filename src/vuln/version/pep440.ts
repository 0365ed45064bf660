// Python version order: PEP 440 through @renovatebot/pep440 (a maintained port
// of `packaging`), with the LegacyVersion key of setuptools/packaging < 22 as
// the fallback for strings that are not PEP 440 (old PyPI uploads such as
// "0.3.post-1" or "2004d"). As in old pip, every legacy version sorts before
// every PEP 440 version.
import { compare as comparePep440, valid as validPep440 } from '@renovatebot/pep440';

const LEGACY_COMPONENT = /(\d+|[a-z]+|\.|-)/;
const LEGACY_REPLACEMENTS: Record<string, string> = {
  pre: 'c',
  preview: 'c',
  '-': 'final-',
  rc: 'c',
  dev: '@',
};

function legacyParts(version: string): string[] {
  const components: string[] = [];
  for (const raw of version.toLowerCase().split(LEGACY_COMPONENT)) {
    const piece = LEGACY_REPLACEMENTS[raw] ?? raw;
    if (piece === '' || piece === '.') continue;
    components.push(piece[0]! >= '0' && piece[0]! <= '9' ? piece.padStart(8, '0') : `*${piece}`);
  }
  components.push('*final');
  const parts: string[] = [];
  for (const part of components) {
    if (part.startsWith('*')) {
      if (part < '*final') while (parts.at(-1) === '*final-') parts.pop();
      while (parts.at(-1) === '00000000') parts.pop();
    }
    parts.push(part);
  }
  return parts;
}

function compareLegacy(a: string, b: string): number {
  const pa = legacyParts(a);
  const pb = legacyParts(b);
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
  }
  return Math.sign(pa.length - pb.length);
}

export function isPep440Version(version: string): boolean {
  return validPep440(version) !== null;
}

/** Compares two Python versions: negative, zero or positive like a sort comparator. */
export function comparePythonVersions(a: string, b: string): number {
  const aValid = isPep440Version(a);
  const bValid = isPep440Version(b);
  if (aValid && bValid) return Math.sign(comparePep440(a, b));
  if (aValid !== bValid) return aValid ? 1 : -1;
  return compareLegacy(a, b);
}
