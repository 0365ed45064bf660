// Maven version order with the semantics of maven-artifact 3.9's
// ComparableVersion: items split at `.`, `-` and digit/letter transitions,
// nested lists after `-`, known qualifiers (alpha < beta < milestone < rc <
// snapshot < "" = ga = final = release < sp) before unknown ones (lexical), and
// trailing null items (0, "", empty lists) dropped. Hand-written because npm has
// no maintained port; proven against the real ComparableVersion (run with java)
// in the conformance test.

import { LRUCache } from 'lru-cache';

type MavenItem =
  { kind: 'int'; value: bigint } | { kind: 'string'; value: string } | { kind: 'list'; items: MavenItem[] };

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const ALIASES: Record<string, string> = { ga: '', final: '', release: '', cr: 'rc' };
const RELEASE_INDEX = String(QUALIFIERS.indexOf(''));

function comparableQualifier(qualifier: string): string {
  const index = QUALIFIERS.indexOf(qualifier);
  return index === -1 ? `${QUALIFIERS.length}-${qualifier}` : String(index);
}

function stringItem(text: string, followedByDigit: boolean): MavenItem {
  let value = text;
  if (followedByDigit && value.length === 1) {
    if (value === 'a') value = 'alpha';
    else if (value === 'b') value = 'beta';
    else if (value === 'm') value = 'milestone';
  }
  return { kind: 'string', value: ALIASES[value] ?? value };
}

function parseItem(isDigit: boolean, text: string): MavenItem {
  return isDigit ? { kind: 'int', value: BigInt(text) } : stringItem(text, false);
}

function lexical(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isNullItem(item: MavenItem): boolean {
  switch (item.kind) {
    case 'int':
      return item.value === 0n;
    case 'string':
      return comparableQualifier(item.value) === RELEASE_INDEX;
    case 'list':
      return item.items.length === 0;
  }
}

function normalize(list: MavenItem[]): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const last = list[i]!;
    if (isNullItem(last)) list.splice(i, 1);
    else if (last.kind !== 'list') break;
  }
}

function isAsciiDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9';
}

/** Parses a version into ComparableVersion's item tree. */
export function parseMavenVersion(version: string): MavenItem[] {
  const text = version.toLowerCase();
  const root: MavenItem[] = [];
  let list = root;
  const stack: MavenItem[][] = [root];
  const openList = (): void => {
    const child: MavenItem[] = [];
    list.push({ kind: 'list', items: child });
    list = child;
    stack.push(child);
  };
  let isDigit = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '.') {
      list.push(i === start ? { kind: 'int', value: 0n } : parseItem(isDigit, text.slice(start, i)));
      start = i + 1;
    } else if (ch === '-') {
      list.push(i === start ? { kind: 'int', value: 0n } : parseItem(isDigit, text.slice(start, i)));
      start = i + 1;
      openList();
    } else if (isAsciiDigit(ch)) {
      if (!isDigit && i > start) {
        // 1.0.0.X1 < 1.0.0-X2: a qualifier after a dot starts a sub-list like one after a dash.
        if (list.length > 0) openList();
        list.push(stringItem(text.slice(start, i), true));
        start = i;
        openList();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.push(parseItem(true, text.slice(start, i)));
        start = i;
        openList();
      }
      isDigit = false;
    }
  }
  if (text.length > start) {
    if (!isDigit && list.length > 0) openList();
    list.push(parseItem(isDigit, text.slice(start)));
  }
  while (stack.length > 0) normalize(stack.pop()!);
  return root;
}

/** Compares one item with another, or with "nothing" (the shorter side ran out). */
function compareItem(left: MavenItem, right: MavenItem | undefined): number {
  if (right === undefined) {
    switch (left.kind) {
      case 'int':
        return left.value === 0n ? 0 : 1;
      case 'string':
        return lexical(comparableQualifier(left.value), RELEASE_INDEX);
      case 'list':
        for (const item of left.items) {
          const result = compareItem(item, undefined);
          if (result !== 0) return result;
        }
        return 0;
    }
  }
  switch (left.kind) {
    case 'int':
      if (right.kind === 'int') return left.value < right.value ? -1 : left.value > right.value ? 1 : 0;
      return 1;
    case 'string':
      if (right.kind === 'string')
        return lexical(comparableQualifier(left.value), comparableQualifier(right.value));
      return -1;
    case 'list':
      if (right.kind === 'int') return -1;
      if (right.kind === 'string') return 1;
      return compareLists(left.items, right.items);
  }
}

function compareLists(left: MavenItem[], right: MavenItem[]): number {
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) {
    const l = left[i];
    const r = right[i];
    const result = l === undefined ? (r === undefined ? 0 : -compareItem(r, undefined)) : compareItem(l, r);
    if (result !== 0) return result;
  }
  return 0;
}

// The matcher compares one installed version with many range events: parse once per string.
const parsed = new LRUCache<string, MavenItem[]>({ max: 100_000 });

function cachedParse(version: string): MavenItem[] {
  let items = parsed.get(version);
  if (items === undefined) {
    items = parseMavenVersion(version);
    parsed.set(version, items);
  }
  return items;
}

/** Compares two Maven versions: negative, zero or positive like a sort comparator. */
export function compareMavenVersions(a: string, b: string): number {
  return compareLists(cachedParse(a), cachedParse(b));
}
