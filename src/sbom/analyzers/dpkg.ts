// Debian packages from the dpkg database: var/lib/dpkg/status, and the
// one-file-per-package var/lib/dpkg/status.d/ that distroless images use.
import type { DetectedPackage } from '../types.js';
import { parseControlParagraphs } from './analyzer.js';
import type { Analyzer, AnalyzerOutput } from './analyzer.js';

const STATUS_D = /^var\/lib\/dpkg\/status\.d\/[^/]+$/;

export const dpkgAnalyzer: Analyzer = {
  name: 'dpkg',
  version: 1,
  wants: (path) => path === 'var/lib/dpkg/status' || (STATUS_D.test(path) && !path.endsWith('.md5sums')),
  analyze(file): AnalyzerOutput {
    // status.d files are written by image builders, not dpkg, and carry no Status field.
    const requireStatus = file.path === '/var/lib/dpkg/status';
    return { packages: parseDpkgStatus(file.content.toString('utf8'), file.path, requireStatus) };
  },
};

export function parseDpkgStatus(text: string, location: string, requireStatus = true): DetectedPackage[] {
  const packages: DetectedPackage[] = [];
  for (const p of parseControlParagraphs(text)) {
    const name = p.get('Package');
    const version = p.get('Version');
    if (name === undefined || version === undefined || name === '' || version === '') continue;
    const status = p.get('Status');
    // "want flag status": only the last word says whether the files are on disk.
    if (status !== undefined ? status.split(/\s+/)[2] !== 'installed' : requireStatus) continue;
    const pkg: DetectedPackage = { name, version, ecosystem: 'deb', location };
    const arch = p.get('Architecture');
    if (arch !== undefined && arch !== '') pkg.arch = arch;
    const source = /^(\S+)(?:\s+\((\S+)\))?/.exec(p.get('Source') ?? '');
    pkg.sourceName = source?.[1] ?? name;
    pkg.sourceVersion = source?.[2] ?? version;
    packages.push(pkg);
  }
  return packages;
}
