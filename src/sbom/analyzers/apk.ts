// Alpine packages from the apk database (lib/apk/db/installed): blank-line
// separated records of single-letter fields (P name, V version, A arch, o origin, L license).
import type { DetectedPackage } from '../types.js';
import type { Analyzer, AnalyzerOutput } from './analyzer.js';

export const apkAnalyzer: Analyzer = {
  name: 'apk',
  version: 1,
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
  for (const line of text.split('\n')) {
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
