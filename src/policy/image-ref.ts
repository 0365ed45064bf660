// Image references as pod specs write them ("nginx", "ghcr.io/o/r:1.2@sha256:…"),
// split and normalized the way the container runtime resolves them, so rules
// and globs see registry, repository, tag and digest separately.

export interface ImageReference {
  /** As written in the pod spec. */
  raw: string;
  /** Registry host, with port: docker.io, ghcr.io, localhost:5000. */
  registry: string;
  /** Repository path without registry: library/nginx. */
  repository: string;
  tag?: string;
  digest?: string;
  /** registry/repository[:tag][@digest], with docker.io and library/ filled in. */
  normalized: string;
}

const DEFAULT_REGISTRY = 'docker.io';

export function parseImageReference(raw: string): ImageReference {
  let rest = raw.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  let registry = DEFAULT_REGISTRY;
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      repository = rest.slice(slash + 1);
    }
  }
  if (registry === 'index.docker.io') registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) repository = `library/${repository}`;
  const normalized = `${registry}/${repository}${tag !== undefined ? `:${tag}` : ''}${digest !== undefined ? `@${digest}` : ''}`;
  return { raw, registry, repository, tag, digest, normalized };
}
