// Image rules: tags, digests, registries, pull policy and pull secrets.
import type { PullPolicy } from '../../api/policy-types.js';
import { compileGlobs, type GlobMatcher } from '../glob.js';
import type { ContainerImage } from '../container-image.js';
import { eachContainer, quote, type RuleDefinition } from './rule.js';

export const imageTag: RuleDefinition = {
  id: 'image.tag',
  title: 'Image tag is missing or latest',
  severity: 'Medium',
  category: 'image',
  description:
    'An image without a tag, or with the tag latest, changes under the workload without a change to its spec: rollouts are not reproducible and rollbacks do not roll back.',
  remediation: 'Use an immutable version tag (for example nginx:1.27.2) or pin the image by digest.',
  check: eachContainer((c) => {
    if (c.image.digest !== undefined) return undefined;
    if (c.image.tag === undefined)
      return `uses image ${quote(c.image.raw)} without a tag (it resolves to latest)`;
    if (c.image.tag === 'latest') return `uses image ${quote(c.image.raw)} with the tag latest`;
    return undefined;
  }),
};

export const imageDigest: RuleDefinition = {
  id: 'image.digest',
  title: 'Image is not pinned by digest',
  severity: 'Low',
  category: 'image',
  optional: true,
  description:
    'A tag can be moved to other content; only a digest names exactly the image that was reviewed and scanned.',
  remediation: 'Reference the image as name:tag@sha256:<digest> (tools such as crane digest print it).',
  check: eachContainer((c) =>
    c.image.digest === undefined ? `uses image ${quote(c.image.raw)} without a digest` : undefined,
  ),
};

interface RegistryParams {
  allowed: GlobMatcher | undefined;
  denied: GlobMatcher;
}

function registryMatches(match: GlobMatcher, image: ContainerImage): boolean {
  return match(image.registry) || match(`${image.registry}/${image.repository}`);
}

export const imageRegistry: RuleDefinition<RegistryParams> = {
  id: 'image.registry',
  title: 'Image registry is not allowed',
  severity: 'High',
  category: 'image',
  description:
    'Images should come only from registries the organisation trusts (spec.rules.image.allowedRegistries) and never from denied ones (spec.rules.image.deniedRegistries). Entries match the registry host or registry/repository.',
  remediation: 'Mirror the image into an allowed registry and reference it from there.',
  prepare(rules) {
    const allowed = rules.image?.allowedRegistries ?? [];
    const denied = rules.image?.deniedRegistries ?? [];
    if (allowed.length === 0 && denied.length === 0) return undefined;
    return {
      key: JSON.stringify([allowed, denied]),
      params: {
        allowed: allowed.length > 0 ? compileGlobs(allowed) : undefined,
        denied: compileGlobs(denied),
      },
    };
  },
  check: eachContainer((c, p: RegistryParams) => {
    if (registryMatches(p.denied, c.image))
      return `uses image ${quote(c.image.raw)} from registry ${quote(c.image.registry)}, which is denied`;
    if (p.allowed && !registryMatches(p.allowed, c.image))
      return `uses image ${quote(c.image.raw)} from registry ${quote(c.image.registry)}, which is not in the allowed registries`;
    return undefined;
  }),
};

/** The pull policy Kubernetes fills in when the spec leaves it empty. */
export function effectivePullPolicy(policy: string | undefined, image: ContainerImage): string {
  if (policy) return policy;
  return image.digest === undefined && (image.tag === undefined || image.tag === 'latest')
    ? 'Always'
    : 'IfNotPresent';
}

export const imagePullPolicy: RuleDefinition<PullPolicy> = {
  id: 'image.pullPolicy',
  title: 'imagePullPolicy differs from the required one',
  severity: 'Low',
  category: 'image',
  optional: true,
  description:
    'With Always, every start checks the registry, so a node never runs a stale or tampered cached image and pull credentials are always checked (spec.rules.image.requiredPullPolicy).',
  remediation: 'Set imagePullPolicy to the policy’s required value.',
  prepare(rules) {
    const required = rules.image?.requiredPullPolicy ?? 'Always';
    return { key: required, params: required };
  },
  check: eachContainer((c, required: PullPolicy) => {
    const actual = effectivePullPolicy(c.container.imagePullPolicy, c.image);
    return actual === required ? undefined : `has imagePullPolicy ${actual}, the policy requires ${required}`;
  }),
};

export const imagePullSecrets: RuleDefinition<GlobMatcher> = {
  id: 'image.pullSecrets',
  title: 'Private registry image without imagePullSecrets',
  severity: 'Medium',
  category: 'image',
  optional: true,
  description:
    'Images from registries listed in spec.rules.image.privateRegistries need credentials; a pod without imagePullSecrets depends on node-wide credentials or fails to start. (Pull secrets attached to the service account are not visible in the pod spec.)',
  remediation: 'Add a docker-registry Secret for the registry to spec.imagePullSecrets.',
  prepare(rules) {
    const registries = rules.image?.privateRegistries ?? [];
    if (registries.length === 0) return undefined;
    return { key: JSON.stringify(registries), params: compileGlobs(registries) };
  },
  check: eachContainer((c, isPrivate: GlobMatcher, input) =>
    registryMatches(isPrivate, c.image) && (input.pod.spec.imagePullSecrets ?? []).length === 0
      ? `uses image ${quote(c.image.raw)} from private registry ${quote(c.image.registry)} but the pod has no imagePullSecrets`
      : undefined,
  ),
};

export const imageRules = [imageTag, imageDigest, imageRegistry, imagePullPolicy, imagePullSecrets];
