// The contract of a package analyzer: it declares up front which files it needs
// (so the walker reads nothing else), and turns one file's bytes into packages.
// Analyzers are pure: no I/O, no clock, no knowledge of layers or of other files.
import type { DetectedPackage } from '../types.js';

export interface AnalyzerFile {
  /** Absolute path inside the image. */
  path: string;
  content: Buffer;
  mode: number;
}

/** Facts an OS-release style file contributes; combined image-wide later. */
export interface OsReleaseFragment {
  id?: string;
  versionId?: string;
  versionCodename?: string;
  prettyName?: string;
}

export interface AnalyzerOutput {
  packages: DetectedPackage[];
  os?: OsReleaseFragment;
}

export interface Analyzer {
  readonly name: string;
  /** Bumped whenever the output for the same input changes; part of every cache key. */
  readonly version: number;
  /** Root-relative path (no leading slash) and header facts → does this analyzer need the content? */
  wants(path: string, info: { size: number; mode: number }): boolean;
  /** Content must start with these bytes (checked by the walker before buffering the rest). */
  readonly magic?: Uint8Array;
  analyze(file: AnalyzerFile): AnalyzerOutput;
}

/** RFC 822-style "Key: value" paragraphs with indented continuation lines (dpkg, METADATA). */
export function parseControlParagraphs(text: string): Array<Map<string, string>> {
  const paragraphs: Array<Map<string, string>> = [];
  let current = new Map<string, string>();
  let lastKey: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (current.size > 0) paragraphs.push(current);
      current = new Map();
      lastKey = undefined;
      continue;
    }
    if ((line.startsWith(' ') || line.startsWith('\t')) && lastKey !== undefined) {
      current.set(lastKey, `${current.get(lastKey) ?? ''}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    lastKey = line.slice(0, colon).trim();
    // First occurrence wins: METADATA repeats keys (Classifier) we do not need.
    if (!current.has(lastKey)) current.set(lastKey, line.slice(colon + 1).trim());
  }
  if (current.size > 0) paragraphs.push(current);
  return paragraphs;
}
