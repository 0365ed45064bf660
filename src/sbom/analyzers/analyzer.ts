// The contract of a package analyzer: it declares up front which files it needs
// (so the walker reads nothing else), and turns one file's bytes into packages.
// Analyzers are pure: no I/O, no clock, no knowledge of layers or of other files.
import type { DetectedPackage, LimitName } from '../types.js';

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
  /**
   * The file is the image's OS package database: when the analyzer refuses it or cannot
   * read it, the image's inventory is unknown, and the image fails rather than reading
   * as one with fewer (or no) packages.
   */
  readonly packageDatabase?: boolean;
}

/**
 * An analyzer's input is over one of its own bounds (packages in one database): the
 * image is over its analysis budget, not partially analysed. analyzeFile keeps the
 * limit, and analyzeImage fails the image with it, so a capped database never reads
 * as a smaller, clean inventory.
 */
export class AnalyzerLimitError extends Error {
  constructor(
    readonly limit: { readonly name: LimitName; readonly value: number },
    message: string,
  ) {
    super(message);
    this.name = 'AnalyzerLimitError';
  }
}

/**
 * RFC 822-style "Key: value" paragraphs with indented continuation lines (dpkg, METADATA),
 * one at a time: a 60 MiB status file of a million stanzas is never split into millions
 * of lines or maps at once, and a caller that stops early reads no further.
 */
export function* controlParagraphs(text: string): Generator<Map<string, string>> {
  let current = new Map<string, string>();
  let lastKey: string | undefined;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const raw = text.slice(start, end);
    start = end + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') {
      if (current.size > 0) yield current;
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
  if (current.size > 0) yield current;
}
