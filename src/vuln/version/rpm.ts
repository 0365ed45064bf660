// RPM version order: rpmvercmp (segments of digits or letters, `~` sorts before
// everything, `^` after the end but before anything else) applied to epoch,
// version and release as rpm's rpm.vercmp does. Hand-written (no maintained npm
// package follows rpm 4.15+ with `^`); proven against rpm's own Lua
// `rpm.vercmp` in the conformance test.

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isAlpha(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

function isAlnum(code: number): boolean {
  return isDigit(code) || isAlpha(code);
}

const TILDE = 126;
const CARET = 94;

/** rpmvercmp: compares one version or release string. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (
      i < a.length &&
      !isAlnum(a.charCodeAt(i)) &&
      a.charCodeAt(i) !== TILDE &&
      a.charCodeAt(i) !== CARET
    )
      i++;
    while (
      j < b.length &&
      !isAlnum(b.charCodeAt(j)) &&
      b.charCodeAt(j) !== TILDE &&
      b.charCodeAt(j) !== CARET
    )
      j++;
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === CARET || cb === CARET) {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (!(i < a.length && j < b.length)) break;
    let ei = i;
    let ej = j;
    const numeric = isDigit(ca);
    const inSegment = numeric ? isDigit : isAlpha;
    while (ei < a.length && inSegment(a.charCodeAt(ei))) ei++;
    while (ej < b.length && inSegment(b.charCodeAt(ej))) ej++;
    // A numeric segment is newer than an alphabetic one.
    if (ej === j) return numeric ? 1 : -1;
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i < a.length ? 1 : -1;
}

interface RpmEvr {
  epoch?: string;
  version: string;
  release?: string;
}

/** Splits `[epoch:]version[-release]` as rpm's parseEVR does (epoch only when digits precede `:`). */
export function parseRpmEvr(evr: string): RpmEvr {
  let k = 0;
  while (k < evr.length && isDigit(evr.charCodeAt(k))) k++;
  let epoch: string | undefined;
  let rest = evr;
  if (evr.charCodeAt(k) === 58) {
    epoch = k === 0 ? '0' : evr.slice(0, k);
    rest = evr.slice(k + 1);
  }
  const dash = rest.lastIndexOf('-');
  if (dash >= 0) return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
  return { epoch, version: rest };
}

/**
 * Compares two `[epoch:]version[-release]` strings as rpm 4.18's `rpm.vercmp`
 * does: a missing epoch is 0, and a version with a release (even an empty one)
 * is newer than the same version without one.
 */
export function compareRpmVersions(a: string, b: string): number {
  const va = parseRpmEvr(a);
  const vb = parseRpmEvr(b);
  const epoch = rpmvercmp(va.epoch ?? '0', vb.epoch ?? '0');
  if (epoch !== 0) return epoch;
  const version = rpmvercmp(va.version, vb.version);
  if (version !== 0) return version;
  if (va.release !== undefined && vb.release !== undefined) return rpmvercmp(va.release, vb.release);
  if (va.release === vb.release) return 0;
  return va.release === undefined ? -1 : 1;
}
