// An image as a container names it ("nginx", "ghcr.io/o/r:1.2@sha256:…"), for
// rules and globs: split and normalized by the registry's parser — the one
// grammar, Docker's — so policy and pulls can never disagree about a reference.
// An invalid reference is kept with its parse error: it cannot be pulled, rules
// still see it (by what was written), and it belongs to no registry.
import { formatImageReference, tryParseImageReference } from '../registry/reference.js';

export interface ContainerImage {
  /** As written in the pod spec. */
  raw: string;
  /** Registry host, with port: docker.io, ghcr.io, localhost:5000; '' when invalid. */
  registry: string;
  /** Repository path without registry: library/nginx. */
  repository: string;
  tag?: string;
  digest?: string;
  /** registry/repository[:tag][@digest], with docker.io and library/ filled in. */
  normalized: string;
  /** Why the reference is not one the container runtime could pull, when it is not. */
  invalid?: string;
}

export function parseContainerImage(raw: string): ContainerImage {
  const parsed = tryParseImageReference(raw.trim());
  if (!parsed.ok) return { raw, registry: '', repository: raw, normalized: raw, invalid: parsed.error };
  const { registry, repository, tag, digest } = parsed.reference;
  return {
    raw,
    registry,
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
    normalized: formatImageReference(parsed.reference),
  };
}
