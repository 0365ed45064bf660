// npm packages: the package.json at the root of each installed package, i.e.
// directly under node_modules/<name>/ or node_modules/@scope/<name>/. Manifests of
// a package's own subfolders, and files without a name and version, are not packages.
import type { DetectedPackage } from '../types.js';
import type { Analyzer, AnalyzerOutput } from './analyzer.js';

const PACKAGE_ROOT = /(?:^|\/)node_modules\/(?:@[^/]+\/)?[^/@.][^/]*\/package\.json$/;
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export const npmAnalyzer: Analyzer = {
  name: 'npm',
  version: 1,
  wants: (path, info) => info.size <= MAX_MANIFEST_BYTES && PACKAGE_ROOT.test(path),
  analyze(file): AnalyzerOutput {
    const pkg = parseNpmManifest(file.content.toString('utf8'), file.path);
    return { packages: pkg === undefined ? [] : [pkg] };
  },
};

export function parseNpmManifest(text: string, location: string): DetectedPackage | undefined {
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof manifest !== 'object' || manifest === null) return undefined;
  const { name, version, license } = manifest as Record<string, unknown>;
  if (typeof name !== 'string' || typeof version !== 'string' || name === '' || version === '')
    return undefined;
  const pkg: DetectedPackage = { name, version, ecosystem: 'npm', location };
  if (typeof license === 'string' && license !== '') pkg.license = license;
  else if (typeof license === 'object' && license !== null) {
    const type = (license as { type?: unknown }).type;
    if (typeof type === 'string') pkg.license = type;
  }
  return pkg;
}
