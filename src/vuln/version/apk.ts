// Alpine (apk-tools) version order: Gentoo-style `digits{.digits}[letter]{_suffix[n]}[-rN]`
// tokens compared left to right, pre-release suffixes (_alpha, _beta, _pre, _rc)
// below the release and post-release ones (_cvs, _svn, _git, _hg, _p) above.
// Hand-written after apk-tools' version.c token machine (there is no npm
// implementation); proven against apk-tools' own test/version.data vectors.

const enum Token {
  Invalid = -1,
  DigitOrZero = 0,
  Digit = 1,
  Letter = 2,
  Suffix = 3,
  SuffixNo = 4,
  RevisionNo = 5,
  End = 6,
}

const PRE_SUFFIXES = ['alpha', 'beta', 'pre', 'rc'];
const POST_SUFFIXES = ['cvs', 'svn', 'git', 'hg', 'p'];

interface Cursor {
  text: string;
  pos: number;
  type: Token;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isLower(code: number): boolean {
  return code >= 97 && code <= 122;
}

function nextToken(c: Cursor): void {
  let next: Token = Token.Invalid;
  const code = c.text.charCodeAt(c.pos);
  if (c.pos >= c.text.length || code === 0) {
    next = Token.End;
  } else if ((c.type === Token.Digit || c.type === Token.DigitOrZero) && isLower(code)) {
    next = Token.Letter;
  } else if (c.type === Token.Letter && isDigit(code)) {
    next = Token.Digit;
  } else if (c.type === Token.Suffix && isDigit(code)) {
    next = Token.SuffixNo;
  } else {
    const ch = c.text[c.pos];
    if (ch === '.') next = Token.DigitOrZero;
    else if (ch === '_') next = Token.Suffix;
    else if (ch === '-' && c.text[c.pos + 1] === 'r') {
      next = Token.RevisionNo;
      c.pos++;
    }
    c.pos++;
  }
  if (next < c.type) {
    const allowed =
      (next === Token.DigitOrZero && c.type === Token.Digit) ||
      (next === Token.Suffix && c.type === Token.SuffixNo) ||
      (next === Token.Digit && c.type === Token.Letter);
    if (!allowed) next = Token.Invalid;
  }
  c.type = next;
}

/** Reads one token value (a bigint: apk compares 64-bit numbers such as _pre20191002222144). */
function getToken(c: Cursor): bigint {
  if (c.pos >= c.text.length) {
    c.type = Token.End;
    return 0n;
  }
  let value: bigint;
  let length = 0;
  let nextType: Token = Token.Invalid;
  if (c.type === Token.DigitOrZero && c.text[c.pos] === '0') {
    // Leading zeros make a component sort as a fraction: 1.01 < 1.1.
    while (c.pos + length < c.text.length && c.text[c.pos + length] === '0') length++;
    nextType = Token.Digit;
    value = BigInt(-length);
  } else {
    switch (c.type) {
      case Token.DigitOrZero:
      case Token.Digit:
      case Token.SuffixNo:
      case Token.RevisionNo: {
        const start = c.pos;
        while (c.pos + length < c.text.length && isDigit(c.text.charCodeAt(c.pos + length))) length++;
        value = length === 0 ? 0n : BigInt.asIntN(64, BigInt(c.text.slice(start, start + length)));
        break;
      }
      case Token.Letter:
        value = BigInt(c.text.charCodeAt(c.pos));
        length = 1;
        break;
      case Token.Suffix: {
        const rest = c.text.slice(c.pos);
        const pre = PRE_SUFFIXES.findIndex((s) => rest.startsWith(s));
        const post = POST_SUFFIXES.findIndex((s) => rest.startsWith(s));
        if (pre >= 0) {
          value = BigInt(pre - PRE_SUFFIXES.length);
          length = PRE_SUFFIXES[pre]!.length;
        } else if (post >= 0) {
          value = BigInt(post);
          length = POST_SUFFIXES[post]!.length;
        } else {
          c.type = Token.Invalid;
          return -1n;
        }
        break;
      }
      default:
        c.type = Token.Invalid;
        return -1n;
    }
  }
  c.pos += length;
  if (c.pos >= c.text.length) c.type = Token.End;
  else if (nextType !== Token.Invalid) c.type = nextType;
  else nextToken(c);
  return value;
}

/** Compares two apk versions: negative, zero or positive like a sort comparator. */
export function compareApkVersions(a: string, b: string): number {
  const ca: Cursor = { text: a, pos: 0, type: Token.Digit };
  const cb: Cursor = { text: b, pos: 0, type: Token.Digit };
  let av = 0n;
  let bv = 0n;
  while (ca.type === cb.type && ca.type !== Token.End && ca.type !== Token.Invalid && av === bv) {
    av = getToken(ca);
    bv = getToken(cb);
  }
  if (av < bv) return -1;
  if (av > bv) return 1;
  if (ca.type === cb.type) return 0;
  // Equal so far: the longer version is newer unless what follows is a pre-release suffix.
  if (ca.type === Token.Suffix && getToken({ ...ca }) < 0n) return -1;
  if (cb.type === Token.Suffix && getToken({ ...cb }) < 0n) return 1;
  if (ca.type > cb.type) return -1;
  if (cb.type > ca.type) return 1;
  return 0;
}
