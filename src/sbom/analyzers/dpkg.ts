// Debian packages from the dpkg database: var/lib/dpkg/status, and the
// one-file-per-package var/lib/dpkg/status.d/ that distroless images use.
import type { DetectedPackage } from '../types.js';
import { AnalyzerLimitError, controlParagraphs } from './analyzer.js';
import type { Analyzer, AnalyzerOutput } from './analyzer.js';

/**
 * Most stanzas read from one status file. Debian's whole archive is about 65,000
 * binary packages per architecture and a large desktop install a few thousand; a
 * forged 60 MiB file holds a million, whose maps and package objects alone exhaust
 * a worker's heap.
 */
export const MAX_DPKG_PACKAGES = 100_000;

const STATUS_D = /^var\/lib\/dpkg\/status\.d\/[^/]+$/;

export const dpkgAnalyzer: Analyzer = {
  name: 'dpkg',
  version: 3,
  packageDatabase: true,
  wants: (path) => path === 'var/lib/dpkg/status' || (STATUS_D.test(path) && !path.endsWith('.md5sums')),
  analyze(file): AnalyzerOutput {
    // status.d files are written by image builders, not dpkg, and carry no Status field.
    const requireStatus = file.path === '/var/lib/dpkg/status';
    return { packages: parseDpkgStatus(file.content.toString('utf8'), file.path, requireStatus) };
  },
};

export function parseDpkgStatus(text: string, location: string, requireStatus = true): DetectedPackage[] {
  const packages: DetectedPackage[] = [];
  let stanzas = 0;
  for (const p of controlParagraphs(text)) {
    if (++stanzas > MAX_DPKG_PACKAGES) {
      throw new AnalyzerLimitError(
        { name: 'packagesPerFile', value: MAX_DPKG_PACKAGES },
        `dpkg status has more than ${MAX_DPKG_PACKAGES} packages (MAX_DPKG_PACKAGES)`,
      );
    }
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
