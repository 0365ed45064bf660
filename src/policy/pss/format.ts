// Go-compatible message helpers, so reasons and details read byte for byte like the
// ones the PodSecurity admission plugin prints (its joinQuote, pluralize, sets.List, %q).

/** Compares like Go's string ordering (by code point; JS's default sort compares UTF-16 units). */
export function compareGoStrings(a: string, b: string): number {
  const left = Array.from(a);
  const right = Array.from(b);
  const n = Math.min(left.length, right.length);
  for (let i = 0; i < n; i++) {
    const x = left[i]!.codePointAt(0)!;
    const y = right[i]!.codePointAt(0)!;
    if (x !== y) return x - y;
  }
  return left.length - right.length;
}

/** Deduplicated and sorted, like Go's sets.String.List(). */
export function sortedSet(values: Iterable<string>): string[] {
  // Checks call this on their (usually empty) lists of offenders whether or not they failed.
  if (Array.isArray(values) && values.length === 0) return [];
  return [...new Set(values)].sort(compareGoStrings);
}

export function joinQuote(items: readonly string[]): string {
  return items.length === 0 ? '' : `"${items.join('", "')}"`;
}

export function pluralize(singular: string, plural: string, count: number): string {
  return count === 1 ? singular : plural;
}

/** "container \"a\"" / "containers \"a\", \"b\"" — the subject most details start with. */
export function containersPhrase(names: readonly string[]): string {
  return `${pluralize('container', 'containers', names.length)} ${joinQuote(names)}`;
}

const goEscapes: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '\\': '\\\\',
  '"': '\\"',
};

/**
 * Go's %q (strconv.Quote) for the annotation values Kubernetes quotes. Exact for ASCII;
 * beyond ASCII it escapes only C1 controls and line/paragraph separators, where Go's
 * unicode.IsPrint table is larger — values like that do not occur in real annotations.
 */
export function goQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    const escape = goEscapes[ch];
    if (escape !== undefined) out += escape;
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if ((cp >= 0x80 && cp <= 0x9f) || cp === 0x2028 || cp === 0x2029 || cp === 0xfeff)
      out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}
