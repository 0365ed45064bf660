// Python distributions: *.dist-info/METADATA (wheels, pip) and *.egg-info/PKG-INFO
// (setuptools; old distutils installs write *.egg-info as a single file).
import type { DetectedPackage } from '../types.js';
import { controlParagraphs } from './analyzer.js';
import type { Analyzer, AnalyzerOutput } from './analyzer.js';

const METADATA =
  /(?:^|\/)[^/]+\.dist-info\/METADATA$|(?:^|\/)[^/]+\.egg-info\/PKG-INFO$|(?:^|\/)[^/]+\.egg-info$/;
const MAX_METADATA_BYTES = 8 * 1024 * 1024;

export const pythonAnalyzer: Analyzer = {
  name: 'python',
  version: 1,
  wants: (path, info) => info.size <= MAX_METADATA_BYTES && METADATA.test(path),
  analyze(file): AnalyzerOutput {
    const pkg = parsePythonMetadata(file.content.toString('utf8'), file.path);
    return { packages: pkg === undefined ? [] : [pkg] };
  },
};

export function parsePythonMetadata(text: string, location: string): DetectedPackage | undefined {
  // Only the header block: the long description follows the first blank line.
  const headers = controlParagraphs(text).next().value;
  const name = headers?.get('Name');
  const version = headers?.get('Version');
  if (name === undefined || version === undefined || name === '' || version === '') return undefined;
  const pkg: DetectedPackage = { name, version, ecosystem: 'pypi', location };
  const license = headers?.get('License-Expression') ?? headers?.get('License');
  // Some projects paste the whole license text into License:; only a short one is a name.
  if (
    license !== undefined &&
    license !== '' &&
    license !== 'UNKNOWN' &&
    !license.includes('\n') &&
    license.length <= 100
  ) {
    pkg.license = license;
  }
  return pkg;
}
