// Alpine packages from the apk database (lib/apk/db/installed): blank-line
// separated records of single-letter fields (P name, V version, A arch, o origin, L license).
import type { DetectedPackage } from '../types.js';
import { AnalyzerLimitError } from './analyzer.js';
import type { Analyzer, AnalyzerOutput } from './analyzer.js';

/**
 * Most packages read from one database. Alpine's main and community repositories
 * together hold about 30,000 packages per architecture; a forged 60 MiB database
 * holds a million, whose package objects alone exhaust a worker's heap.
 */
export const MAX_APK_PACKAGES = 100_000;

export const apkAnalyzer: Analyzer = {
  name: 'apk',
  version: 3,
  packageDatabase: true,
  wants: (path) => path === 'lib/apk/db/installed',
  analyze(file): AnalyzerOutput {
    return { packages: parseApkInstalled(file.content.toString('utf8'), file.path) };
  },
};

export function parseApkInstalled(text: string, location: string): DetectedPackage[] {
  const packages: DetectedPackage[] = [];
  let fields = new Map<string, string>();
  const flush = (): void => {
    const name = fields.get('P');
    const version = fields.get('V');
    if (name !== undefined && version !== undefined) {
      if (packages.length >= MAX_APK_PACKAGES) {
        throw new AnalyzerLimitError(
          { name: 'packagesPerFile', value: MAX_APK_PACKAGES },
          `apk database has more than ${MAX_APK_PACKAGES} packages (MAX_APK_PACKAGES)`,
        );
      }
      const pkg: DetectedPackage = { name, version, ecosystem: 'apk', location };
      const arch = fields.get('A');
      if (arch !== undefined) pkg.arch = arch;
      pkg.sourceName = fields.get('o') ?? name;
      pkg.sourceVersion = version;
      const license = fields.get('L');
      if (license !== undefined && license !== '') pkg.license = license;
      packages.push(pkg);
    }
    fields = new Map();
  };
  // Line by line without split(): a database lists every file of every package, and an
  // array of all its lines would be the largest thing the analysis holds.
  for (let start = 0; start <= text.length;) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.trim() === '') {
      flush();
      continue;
    }
    // Only the first of repeated letters matters here (F:/R: repeat per file).
    if (line[1] === ':' && !fields.has(line[0] ?? '')) fields.set(line[0] ?? '', line.slice(2).trim());
  }
  flush();
  return packages;
}
