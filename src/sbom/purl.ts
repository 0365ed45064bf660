// package-url strings (github.com/package-url/purl-spec) for detected packages.
// The distro qualifier needs the image's OS, so purls are made after the merge.
import type { DetectedPackage, OsInfo } from './types.js';

/** Percent-encodes everything but unreserved characters; ':' stays, as the spec allows in versions. */
function encode(part: string, keepColon = false): string {
  const out = encodeURIComponent(part).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return keepColon ? out.replace(/%3A/g, ':') : out;
}

function build(
  type: string,
  namespace: string[],
  name: string,
  version: string,
  qualifiers: Record<string, string | undefined>,
): string {
  const ns = namespace
    .filter((s) => s !== '')
    .map((s) => `${encode(s)}/`)
    .join('');
  const q = Object.entries(qualifiers)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${encode(v)}`)
    .join('&');
  return `pkg:${type}/${ns}${encode(name)}${version === '' ? '' : `@${encode(version, true)}`}${q === '' ? '' : `?${q}`}`;
}

function distro(os: OsInfo | undefined): string | undefined {
  if (os === undefined) return undefined;
  return os.versionId === undefined ? os.id : `${os.id}-${os.versionId}`;
}

export function purlFor(pkg: DetectedPackage, os: OsInfo | undefined): string {
  switch (pkg.ecosystem) {
    case 'deb':
      return build('deb', [os?.id ?? 'debian'], pkg.name, pkg.version, {
        arch: pkg.arch,
        distro: distro(os),
      });
    case 'apk':
      return build('apk', [os?.id ?? 'alpine'], pkg.name, pkg.version, {
        arch: pkg.arch,
        distro: distro(os),
      });
    case 'rpm':
      return build('rpm', [os?.id ?? ''], pkg.name, pkg.version, {
        arch: pkg.arch,
        epoch: pkg.epoch === undefined ? undefined : String(pkg.epoch),
        distro: distro(os),
      });
    case 'npm': {
      const scoped = /^(@[^/]+)\/(.+)$/.exec(pkg.name);
      return scoped === null
        ? build('npm', [], pkg.name, pkg.version, {})
        : build('npm', [scoped[1] ?? ''], scoped[2] ?? '', pkg.version, {});
    }
    case 'pypi':
      // PyPI names are case-insensitive and treat '_' and '-' alike; purl uses the lower-case '-' form.
      return build('pypi', [], pkg.name.toLowerCase().replace(/[-_.]+/g, '-'), pkg.version, {});
    case 'golang': {
      const parts = pkg.name.split('/');
      const name = parts.pop() ?? pkg.name;
      return build('golang', parts, name, pkg.version, {});
    }
    case 'maven': {
      const [group, artifact] = pkg.name.split(':');
      return build('maven', [group ?? ''], artifact ?? pkg.name, pkg.version, {});
    }
  }
}
