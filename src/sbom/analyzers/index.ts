// The analyzer set of Shipshape, the file selector it implies for the walker, and
// the sink that runs the analyzers on each captured file.
import type { CapturedFile, ContentRequest, FileSelector } from '../layer-walker.js';
import type { DetectedPackage, LimitName } from '../types.js';
import { AnalyzerLimitError } from './analyzer.js';
import type { Analyzer, OsReleaseFragment } from './analyzer.js';
import { apkAnalyzer } from './apk.js';
import { dpkgAnalyzer } from './dpkg.js';
import { goBinaryAnalyzer } from './go-binary.js';
import { npmAnalyzer } from './npm.js';
import { osReleaseAnalyzer } from './os-release.js';
import { pythonAnalyzer } from './python.js';
import { rpmAnalyzer } from './rpm.js';

export const DEFAULT_ANALYZERS: readonly Analyzer[] = Object.freeze([
  osReleaseAnalyzer,
  dpkgAnalyzer,
  apkAnalyzer,
  rpmAnalyzer,
  npmAnalyzer,
  pythonAnalyzer,
  goBinaryAnalyzer,
]);

/** "dpkg@1,apk@1,...": identifies the analyzer set in cache keys and inventories. */
export function analyzerSetVersion(analyzers: readonly Analyzer[]): string {
  return analyzers.map((a) => `${a.name}@${a.version}`).join(',');
}

/** What the analyzers made of one file: JSON-serialisable, so per-layer results can be cached. */
export interface FileAnalysis {
  packages: DetectedPackage[];
  os?: OsReleaseFragment;
  errors?: string[];
  /** An analyzer's own bound this file is over (AnalyzerLimitError): the image fails on it. */
  limit?: { name: LimitName; value: number; message: string };
  /** A package database the analyzer refused or could not read: the image fails on it. */
  unreadable?: { message: string };
}

export function selectorFor(analyzers: readonly Analyzer[]): FileSelector {
  return {
    select(path, info): ContentRequest | undefined {
      let magic: Uint8Array | undefined;
      let sniffOnly = true;
      let any = false;
      for (const a of analyzers) {
        if (!a.wants(path, info)) continue;
        any = true;
        if (a.magic === undefined) sniffOnly = false;
        else if (magic === undefined) magic = a.magic;
        else if (!Buffer.from(magic).equals(Buffer.from(a.magic))) sniffOnly = false;
      }
      if (!any) return undefined;
      return sniffOnly && magic !== undefined ? { magic } : {};
    },
  };
}

/** Runs every analyzer that wants the file; a failing analyzer becomes an error note, not a crash. */
export function analyzeFile(analyzers: readonly Analyzer[], file: CapturedFile): FileAnalysis {
  const result: FileAnalysis = { packages: [] };
  const info = { size: file.size, mode: file.mode };
  for (const a of analyzers) {
    if (!a.wants(file.path, info)) continue;
    if (a.magic !== undefined && !file.content.subarray(0, a.magic.length).equals(a.magic)) continue;
    try {
      const out = a.analyze({ path: `/${file.path}`, content: file.content, mode: file.mode });
      // A loop, not push(...packages): spreading 150,000 packages overflows the stack,
      // and the catch below would have dropped them all as one error note.
      for (const pkg of out.packages) result.packages.push(pkg);
      if (out.os !== undefined) result.os = out.os;
    } catch (err) {
      const message = `${a.name}: /${file.path}: ${err instanceof Error ? err.message : String(err)}`;
      if (err instanceof AnalyzerLimitError) result.limit ??= { ...err.limit, message };
      else if (a.packageDatabase === true) result.unreadable ??= { message };
      (result.errors ??= []).push(message);
    }
  }
  return result;
}

export type { Analyzer, AnalyzerFile, AnalyzerOutput, OsReleaseFragment } from './analyzer.js';
