// Debian version order (deb-version(7)): epoch, upstream version, revision, each
// compared with dpkg's verrevcmp. Hand-written because no maintained npm package
// implements it exactly; proven against `dpkg --compare-versions` in the
// conformance test.

interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

/** Splits `[epoch:]upstream[-revision]` the way dpkg's parseversion does. */
export function parseDebianVersion(version: string): DebianVersion {
  const text = version.trim();
  const colon = text.indexOf(':');
  let epoch = 0;
  let rest = text;
  if (colon >= 0) {
    epoch = Number.parseInt(text.slice(0, colon), 10) || 0;
    rest = text.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  if (dash >= 0) return { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) };
  return { epoch, upstream: rest, revision: '' };
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isAlpha(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** dpkg's order(): letters sort before non-letters, `~` before everything, even the end. */
function order(code: number): number {
  if (Number.isNaN(code) || isDigit(code)) return 0;
  if (isAlpha(code)) return code;
  if (code === 126) return -1;
  return code + 256;
}

/**
 * dpkg's verrevcmp over a[ai, aEnd) and b[bi, bEnd): index ranges instead of
 * substrings, because the matcher compares one installed version with many
 * range events and the slices were most of the cost.
 */
function verrevcmp(a: string, ai: number, aEnd: number, b: string, bi: number, bEnd: number): number {
  let i = ai;
  let j = bi;
  const at = (k: number): number => (k < aEnd ? a.charCodeAt(k) : NaN);
  const bt = (k: number): number => (k < bEnd ? b.charCodeAt(k) : NaN);
  while (i < aEnd || j < bEnd) {
    let firstDiff = 0;
    while ((i < aEnd && !isDigit(at(i))) || (j < bEnd && !isDigit(bt(j)))) {
      const ac = order(at(i));
      const bc = order(bt(j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (at(i) === 48) i++;
    while (bt(j) === 48) j++;
    while (isDigit(at(i)) && isDigit(bt(j))) {
      if (firstDiff === 0) firstDiff = at(i) - bt(j);
      i++;
      j++;
    }
    if (isDigit(at(i))) return 1;
    if (isDigit(bt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Where epoch, upstream and revision lie in a version string (no substrings made). */
interface Bounds {
  epoch: number;
  start: number;
  upstreamEnd: number;
  end: number;
}

function bounds(text: string): Bounds {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 32) start++;
  while (end > start && text.charCodeAt(end - 1) <= 32) end--;
  const colon = text.indexOf(':', start);
  let epoch = 0;
  if (colon >= 0 && colon < end) {
    epoch = Number.parseInt(text.slice(start, colon), 10) || 0;
    start = colon + 1;
  }
  const dash = text.lastIndexOf('-', end - 1);
  return { epoch, start, upstreamEnd: dash >= start ? dash : end, end };
}

/** Compares two Debian versions: negative, zero or positive like a sort comparator. */
export function compareDebianVersions(a: string, b: string): number {
  const va = bounds(a);
  const vb = bounds(b);
  if (va.epoch !== vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  const upstream = verrevcmp(a, va.start, va.upstreamEnd, b, vb.start, vb.upstreamEnd);
  if (upstream !== 0) return Math.sign(upstream);
  const aRev = va.upstreamEnd < va.end ? va.upstreamEnd + 1 : va.end;
  const bRev = vb.upstreamEnd < vb.end ? vb.upstreamEnd + 1 : vb.end;
  return Math.sign(verrevcmp(a, aRev, va.end, b, bRev, vb.end));
}
