// Operating system identification: os-release (etc, then usr/lib), and the
// distro version files that carry the point release os-release leaves out.
import type { OsInfo } from '../types.js';
import type { Analyzer, AnalyzerOutput, OsReleaseFragment } from './analyzer.js';

const PATHS = new Set(['etc/os-release', 'usr/lib/os-release', 'etc/debian_version', 'etc/alpine-release']);

export const osReleaseAnalyzer: Analyzer = {
  name: 'os-release',
  version: 1,
  wants: (path) => PATHS.has(path),
  analyze(file): AnalyzerOutput {
    const text = file.content.toString('utf8');
    if (file.path.endsWith('/os-release')) return { packages: [], os: parseOsRelease(text) };
    const version = text.trim().split(/\s+/)[0] ?? '';
    if (version === '') return { packages: [] };
    if (file.path === '/etc/alpine-release')
      return { packages: [], os: { id: 'alpine', versionId: version } };
    // debian_version holds "12.5" on releases and "trixie/sid" on testing.
    return { packages: [], os: { id: 'debian', versionId: version } };
  },
};

/** os-release: KEY=value lines, values optionally quoted with shell-style escapes. */
export function parseOsRelease(text: string): OsReleaseFragment {
  const values = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m === null) continue;
    let value = (m[2] ?? '').trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\(["\\$`])/g, '$1');
    }
    values.set(m[1] ?? '', value);
  }
  const fragment: OsReleaseFragment = {};
  const id = values.get('ID');
  if (id !== undefined && id !== '') fragment.id = id.toLowerCase();
  const versionId = values.get('VERSION_ID');
  if (versionId !== undefined && versionId !== '') fragment.versionId = versionId;
  const codename = values.get('VERSION_CODENAME');
  if (codename !== undefined && codename !== '') fragment.versionCodename = codename;
  const pretty = values.get('PRETTY_NAME');
  if (pretty !== undefined && pretty !== '') fragment.prettyName = pretty;
  return fragment;
}

const PRECEDENCE = ['/etc/os-release', '/usr/lib/os-release', '/etc/alpine-release', '/etc/debian_version'];

/**
 * Combines the fragments of the visible files: os-release wins (etc over usr/lib,
 * as systemd reads them), and a distro version file only fills in what it lacks.
 */
export function detectOs(
  fragments: ReadonlyArray<{ path: string; fragment: OsReleaseFragment }>,
): OsInfo | undefined {
  const ordered = [...fragments]
    .filter((f) => PRECEDENCE.includes(f.path))
    .sort((a, b) => PRECEDENCE.indexOf(a.path) - PRECEDENCE.indexOf(b.path));
  const primary = ordered.find((f) => f.fragment.id !== undefined);
  if (primary === undefined || primary.fragment.id === undefined) return undefined;
  const os: OsInfo = { id: primary.fragment.id, source: primary.path };
  Object.assign(os, withoutId(primary.fragment));
  if (os.versionId === undefined) {
    const filler = ordered.find(
      (f) =>
        f.fragment.id === os.id && f.fragment.versionId !== undefined && /^\d/.test(f.fragment.versionId),
    );
    if (filler?.fragment.versionId !== undefined) os.versionId = filler.fragment.versionId;
  }
  return os;
}

function withoutId(fragment: OsReleaseFragment): Partial<OsInfo> {
  const out: Partial<OsInfo> = {};
  if (fragment.versionId !== undefined) out.versionId = fragment.versionId;
  if (fragment.versionCodename !== undefined) out.versionCodename = fragment.versionCodename;
  if (fragment.prettyName !== undefined) out.prettyName = fragment.prettyName;
  return out;
}

/** "debian 12", "alpine 3.20.3": the distribution as a short label, when one was found. */
export function osLabel(os: OsInfo | undefined): string | undefined {
  if (os === undefined) return undefined;
  return (os.versionId === undefined ? os.id : `${os.id} ${os.versionId}`).slice(0, 128);
}
