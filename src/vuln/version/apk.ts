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

type TokenValue = number | bigint;

/** Equality across number and bigint (=== would call 1 and 1n different). */
function same(a: TokenValue, b: TokenValue): boolean {
  return !(a < b) && !(a > b);
}

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

/**
 * Reads one token value. apk compares 64-bit integers (_pre20191002222144); runs
 * of up to 15 digits are exact as numbers, longer ones become bigints.
 */
function getToken(c: Cursor): TokenValue {
  if (c.pos >= c.text.length) {
    c.type = Token.End;
    return 0;
  }
  let value: TokenValue;
  let length = 0;
  let nextType: Token = Token.Invalid;
  if (c.type === Token.DigitOrZero && c.text[c.pos] === '0') {
    // Leading zeros make a component sort as a fraction: 1.01 < 1.1.
    while (c.pos + length < c.text.length && c.text[c.pos + length] === '0') length++;
    nextType = Token.Digit;
    value = -length;
  } else {
    switch (c.type) {
      case Token.DigitOrZero:
      case Token.Digit:
      case Token.SuffixNo:
      case Token.RevisionNo: {
        const start = c.pos;
        while (c.pos + length < c.text.length && isDigit(c.text.charCodeAt(c.pos + length))) length++;
        const digits = c.text.slice(start, start + length);
        value = length === 0 ? 0 : length <= 15 ? Number(digits) : BigInt.asIntN(64, BigInt(digits));
        break;
      }
      case Token.Letter:
        value = c.text.charCodeAt(c.pos);
        length = 1;
        break;
      case Token.Suffix: {
        const rest = c.text.slice(c.pos);
        const pre = PRE_SUFFIXES.findIndex((s) => rest.startsWith(s));
        const post = POST_SUFFIXES.findIndex((s) => rest.startsWith(s));
        if (pre >= 0) {
          value = pre - PRE_SUFFIXES.length;
          length = PRE_SUFFIXES[pre]!.length;
        } else if (post >= 0) {
          value = post;
          length = POST_SUFFIXES[post]!.length;
        } else {
          c.type = Token.Invalid;
          return -1;
        }
        break;
      }
      default:
        c.type = Token.Invalid;
        return -1;
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
  let av: TokenValue = 0;
  let bv: TokenValue = 0;
  while (ca.type === cb.type && ca.type !== Token.End && ca.type !== Token.Invalid && same(av, bv)) {
    av = getToken(ca);
    bv = getToken(cb);
  }
  if (av < bv) return -1;
  if (av > bv) return 1;
  if (ca.type === cb.type) return 0;
  // Equal so far: the longer version is newer unless what follows is a pre-release suffix.
  if (ca.type === Token.Suffix && getToken({ ...ca }) < 0) return -1;
  if (cb.type === Token.Suffix && getToken({ ...cb }) < 0) return 1;
  if (ca.type > cb.type) return -1;
  if (cb.type > ca.type) return 1;
  return 0;
}
