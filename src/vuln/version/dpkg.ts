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

function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(a.charCodeAt(i));
      const bc = order(b.charCodeAt(j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 48) i++;
    while (b.charCodeAt(j) === 48) j++;
    while (isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a.charCodeAt(i))) return 1;
    if (isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Compares two Debian versions: negative, zero or positive like a sort comparator. */
export function compareDebianVersions(a: string, b: string): number {
  const va = parseDebianVersion(a);
  const vb = parseDebianVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  const upstream = verrevcmp(va.upstream, vb.upstream);
  if (upstream !== 0) return Math.sign(upstream);
  return Math.sign(verrevcmp(va.revision, vb.revision));
}
