// Admission warnings for Warn policies, within the limits the API server keeps:
// it truncates a warning beyond 256 characters and drops warnings once their
// total passes 4,096, so we cut first and say so ourselves ("... and N more")
// rather than let the most useful line vanish silently.
import type { Finding } from '../policy/finding.js';

/** Control characters (newlines included) would break a header line or a terminal; tenants choose names. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

export const MAX_WARNING_LENGTH = 256;
export const MAX_WARNINGS_TOTAL = 4096;

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never split a surrogate pair: a half character is not valid UTF-8 on the wire.
  let end = max - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

function summary(remaining: number, subject: string): string {
  return `shipshape: ... and ${remaining} more violation${remaining === 1 ? '' : 's'} of Warn policies for ${subject}; see its SecurityReport`;
}

/** Warnings for `findings` (of Warn policies): each <= 256 characters, together <= 4,096. */
export function warningsFor(findings: readonly Finding[], subject: string): string[] {
  const out: string[] = [];
  let total = 0;
  for (let i = 0; i < findings.length; i++) {
    const f = findings[i]!;
    const line = cut(
      `shipshape [${f.ruleId}] (policy ${f.policy}): ${oneLine(f.message)}`,
      MAX_WARNING_LENGTH,
    );
    // Room for the summary must remain whenever more findings follow this one.
    const reserve =
      i + 1 < findings.length ? cut(summary(findings.length, subject), MAX_WARNING_LENGTH).length : 0;
    if (total + line.length + reserve > MAX_WARNINGS_TOTAL) {
      out.push(cut(summary(findings.length - i, subject), MAX_WARNING_LENGTH));
      return out;
    }
    out.push(line);
    total += line.length;
  }
  return out;
}
