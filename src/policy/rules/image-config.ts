// Image configuration rules: what the image itself says (user, HEALTHCHECK, env,
// size, age), read from the ImageFacts the image analyzer supplies. An image
// without facts (not analysed yet, or analysis failed) gets no finding here:
// the report shows its analysis status instead. Without any facts source these
// rules return at once, so plain spec evaluation pays nothing for them.
import { LRUCache } from 'lru-cache';
import { DEFAULT_MAX_IMAGE_AGE_DAYS, DEFAULT_MAX_IMAGE_SIZE_MB } from '../../api/policy-types.js';
import { lookupImageFacts, type ImageFacts } from '../image-facts.js';
import { describeContainer, type ContainerView, type PodView } from '../workload.js';
import { needsProbes } from './probes.js';
import { NO_HITS, quote, type RuleDefinition, type RuleHit, type RuleInput } from './rule.js';
import type { PolicyPattern } from '../pattern.js';
import { looksLikeCredentialName, prepareCredentialNames, type EnvCredentialParams } from './secrets.js';

const MB = 1_000_000;
const DAY_MS = 86_400_000;

/** Adapts a per-container test of an image's facts to a rule check; containers without facts are skipped. */
function eachImage<P>(
  test: (c: ContainerView, facts: ImageFacts, params: P, input: RuleInput) => string | undefined,
  applies?: (c: ContainerView, pod: PodView) => boolean,
): (input: RuleInput, params: P) => RuleHit[] {
  return (input, params) => {
    const source = input.imageFacts;
    if (source === undefined) return NO_HITS;
    let hits: RuleHit[] | undefined;
    for (const c of input.pod.containers) {
      if (applies !== undefined && !applies(c, input.pod)) continue;
      const facts = lookupImageFacts(source, c.image.raw);
      if (facts === undefined) continue;
      const problem = test(c, facts, params, input);
      if (problem !== undefined)
        (hits ??= []).push({ container: c, message: `${describeContainer(c)} ${problem}` });
    }
    return hits ?? NO_HITS;
  };
}

/** '', 'root', '0' and 'root:<group>' or '0:<group>' run as uid 0; any other user does not. */
export function isRootImageUser(user: string): boolean {
  const name = (user.split(':')[0] ?? '').trim();
  return name === '' || name === 'root' || /^0+$/.test(name);
}

export const imageRunsAsRoot: RuleDefinition = {
  id: 'image.runsAsRoot',
  title: 'Image runs as root',
  severity: 'High',
  category: 'image',
  description:
    'The image configures no USER, or USER root / 0, and the pod does not override it with a non-zero runAsUser (container setting first, then pod), so the process runs as root. A runAsUser in the pod spec makes the image user irrelevant; runAsNonRoot: true without a runAsUser makes the kubelet refuse to start such an image. Windows images are not checked. Needs image analysis.',
  remediation:
    'Build the image with a non-root USER (a numeric UID such as 10001), or set securityContext.runAsUser to a non-zero UID.',
  check: eachImage((c, facts) => {
    if (facts.user === undefined || facts.os === 'windows' || !isRootImageUser(facts.user)) return undefined;
    if (c.runAsUser !== undefined && c.runAsUser !== 0) return undefined;
    const user =
      facts.user.trim() === ''
        ? 'configures no USER, so it runs as root'
        : `configures USER ${quote(facts.user)} (root)`;
    const image = `uses image ${quote(c.image.raw)}, which ${user}`;
    if (c.runAsUser === 0) return `${image}, and its securityContext sets runAsUser: 0 as well`;
    if (c.runAsNonRoot === true)
      return `${image}; with runAsNonRoot: true and no runAsUser the kubelet refuses to start it`;
    return `${image}, and no securityContext runAsUser overrides it`;
  }),
};

export const imageHealthcheck: RuleDefinition = {
  id: 'image.healthcheck',
  title: 'Image has no HEALTHCHECK and the container no probes',
  severity: 'Low',
  category: 'image',
  optional: true,
  description:
    'Kubernetes ignores a Docker HEALTHCHECK and uses probes instead, so this only reports long-running containers of restarting pods whose image declares no HEALTHCHECK and that define neither a livenessProbe nor a readinessProbe: nothing at all checks their health. Needs image analysis.',
  remediation:
    'Add a livenessProbe and a readinessProbe to the container (and, for use outside Kubernetes, a HEALTHCHECK to the image).',
  check: eachImage((c, facts) => {
    if (facts.healthcheck !== false) return undefined;
    if (c.container.livenessProbe || c.container.readinessProbe) return undefined;
    return `uses image ${quote(c.image.raw)}, which declares no HEALTHCHECK, and has no livenessProbe or readinessProbe`;
  }, needsProbes),
};

/** Env names of an image that look like credentials: by name, or flagged by the analyzer for their value. */
export function secretImageEnvKeys(facts: ImageFacts, extraNames: readonly PolicyPattern[] = []): string[] {
  const keys = new Set(facts.secretEnvKeys ?? []);
  for (const key of facts.envKeys ?? []) if (looksLikeCredentialName(key, extraNames)) keys.add(key);
  return [...keys];
}

export const imageSecretEnv: RuleDefinition<EnvCredentialParams> = {
  id: 'image.secretEnv',
  title: 'Credential in the image environment',
  severity: 'High',
  category: 'image',
  description:
    'An ENV baked into the image config is readable by anyone who can pull the image (docker inspect), and stays in the image even when the pod spec sets the variable from a Secret. Detected by the variable name, with the heuristics and spec.rules.secrets.credentialNamePatterns of secrets.envLiteral, and by values the analyzer recognised as credentials. Only names are reported, never values. Needs image analysis.',
  remediation:
    'Remove the ENV from the Dockerfile (and rotate the credential: it is in every copy of the image), then pass it at run time from a Secret.',
  prepare(rules) {
    const patterns = rules.secrets?.credentialNamePatterns ?? [];
    return { key: JSON.stringify(patterns), params: prepareCredentialNames(patterns) };
  },
  check: eachImage((c, facts, p: EnvCredentialParams) => {
    const keys = secretImageEnvKeys(facts, p.extraNames);
    return keys.length > 0
      ? `uses image ${quote(c.image.raw)}, whose config sets env ${keys.map(quote).join(', ')}, which look like credentials`
      : undefined;
  }),
};

/** Megabytes with one decimal, rounded up so that a size just above a limit never prints as the limit. */
function megabytes(bytes: number): string {
  return String(Math.ceil(bytes / (MB / 10)) / 10);
}

export const imageSize: RuleDefinition<number> = {
  id: 'image.size',
  title: 'Image is larger than the limit',
  severity: 'Low',
  category: 'image',
  description: `Large images pull slowly, which delays scale-up and recovery, and usually carry tools and packages the app does not need, each a possible vulnerability. Compares the compressed size (what nodes download) with spec.rules.image.maxSizeMB (default ${DEFAULT_MAX_IMAGE_SIZE_MB} MB). Needs image analysis.`,
  remediation:
    'Use a slim or distroless base image and a multi-stage build that copies only the app into the final image.',
  prepare(rules) {
    const limit = rules.image?.maxSizeMB ?? DEFAULT_MAX_IMAGE_SIZE_MB;
    return { key: String(limit), params: limit };
  },
  check: eachImage((c, facts, limitMB: number) =>
    facts.sizeBytes !== undefined && facts.sizeBytes > limitMB * MB
      ? `uses image ${quote(c.image.raw)} of ${megabytes(facts.sizeBytes)} MB compressed, above the policy limit of ${limitMB} MB`
      : undefined,
  ),
};

const createdTimes = new LRUCache<string, number>({ max: 10_000 });

/** Epoch milliseconds of a creation time, NaN when unusable; memoized, as few distinct images recur in many pods. */
function createdTime(created: string): number {
  let t = createdTimes.get(created);
  if (t === undefined) {
    t = Date.parse(created);
    createdTimes.set(created, t);
  }
  return t;
}

export const imageAge: RuleDefinition<number> = {
  id: 'image.age',
  title: 'Image is older than the limit',
  severity: 'Medium',
  category: 'image',
  description: `An image built long ago has not picked up base-image and package fixes since. Compares the creation time in the image config with spec.rules.image.maxAgeDays (default ${DEFAULT_MAX_IMAGE_AGE_DAYS} days). Reproducible builds that set the creation time to 1970-01-01 (ko, Bazel, distroless, Nix) carry no age and are not reported. Needs image analysis.`,
  remediation: 'Rebuild the image on a current base image regularly (for example from a scheduled CI job).',
  prepare(rules) {
    const days = rules.image?.maxAgeDays ?? DEFAULT_MAX_IMAGE_AGE_DAYS;
    return { key: String(days), params: days };
  },
  check: eachImage((c, facts, maxDays: number, input) => {
    if (facts.created === undefined) return undefined;
    const created = createdTime(facts.created);
    // NaN fails the test; zero and earlier are the placeholder times of reproducible builds.
    if (!(created > 0)) return undefined;
    // Whole days, so the message never says "365 days ago, older than 365 days".
    const days = Math.floor((input.now - created) / DAY_MS);
    if (days <= maxDays) return undefined;
    const date = new Date(created).toISOString().slice(0, 10);
    return `uses image ${quote(c.image.raw)} created ${days} days ago (${date}), older than the policy limit of ${maxDays} days`;
  }),
};

export const imageConfigRules = [imageRunsAsRoot, imageHealthcheck, imageSecretEnv, imageSize, imageAge];
