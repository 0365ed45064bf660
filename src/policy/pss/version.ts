// Pod Security Standards policy versions ("latest" or "v1.N"), parsed exactly as
// k8s.io/pod-security-admission/api.ParseVersion accepts them.

export type PodSecurityVersion =
  { readonly latest: true } | { readonly latest: false; readonly minor: number };

const versionPattern = /^v1\.([0-9]|[1-9][0-9]*)$/;

/** Parses 'latest' or 'v1.N' (no leading zeros, no patch); throws on anything else. */
export function parsePodSecurityVersion(version: string): PodSecurityVersion {
  if (version === 'latest') return { latest: true };
  const match = versionPattern.exec(version);
  const minor = match?.[1] === undefined ? NaN : Number(match[1]);
  if (!Number.isSafeInteger(minor)) {
    throw new Error(
      `invalid Pod Security Standards version ${JSON.stringify(version)}: must be "latest" or "v1.x"`,
    );
  }
  return { latest: false, minor };
}

export function formatPodSecurityVersion(version: PodSecurityVersion): string {
  return version.latest ? 'latest' : `v1.${version.minor}`;
}
