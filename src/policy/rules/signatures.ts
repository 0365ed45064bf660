// The signature rule: when a policy's spec.signatures.required is true, every container whose image
// matches spec.signatures.images must have a Verified verdict for that requirement. Verdicts come
// as image facts (the image service verifies; this stays pure); an image without a verdict yet
// gets no finding, the report's signed state says Pending. Error is a violation in its own words
// ("could not verify"), never reported as Unsigned.
import { compileGlobs, type GlobMatcher } from '../glob.js';
import { lookupImageFacts, signatureRequirementKey } from '../image-facts.js';
import { describeContainer } from '../workload.js';
import { NO_HITS, quote, type RuleDefinition, type RuleHit } from './rule.js';

export interface SignatureRuleParams {
  requirement: string;
  images: GlobMatcher | undefined;
  attestors: readonly string[];
}

/** Whether a container's image falls under the requirement's image globs (absent: every image). */
function covered(images: GlobMatcher | undefined, raw: string, normalized: string): boolean {
  return images === undefined || images(raw) || images(normalized);
}

export const signaturesVerified: RuleDefinition<SignatureRuleParams> = {
  id: 'signatures.verified',
  title: 'Image signature not verified',
  severity: 'High',
  category: 'signatures',
  description:
    "With spec.signatures.required, each image matching spec.signatures.images must carry cosign signatures (classic .sig tags or sigstore bundles) by `count` of the policy's attestors, with the required annotations and attestations. Verdicts are per image digest: Unsigned (no signature), Invalid (signatures that do not satisfy the policy, and why) and Error (the registry or the trust material could not be read; retried, and never taken for Unsigned) are violations. Needs image analysis.",
  remediation:
    'Sign the image digest with a key or identity of one of the attestors (cosign sign --key ... image@digest), or fix the registry access or trust material the message names.',
  prepare(_rules, policy) {
    const settings = policy.spec.signatures;
    if (settings?.required !== true || (settings.attestors ?? []).length === 0) return undefined;
    const requirement = signatureRequirementKey(settings, policy.namespace);
    const globs = settings.images ?? [];
    return {
      key: `${requirement}\u0000${JSON.stringify(globs)}`,
      params: {
        requirement,
        images: globs.length === 0 ? undefined : compileGlobs(globs),
        attestors: (settings.attestors ?? []).map((a) => a.name),
      },
    };
  },
  check(input, params) {
    const source = input.imageFacts;
    if (source === undefined) return NO_HITS;
    let hits: RuleHit[] | undefined;
    for (const c of input.pod.containers) {
      if (!covered(params.images, c.image.raw, c.image.normalized)) continue;
      const fact = lookupImageFacts(source, c.image.raw)?.signatures?.[params.requirement];
      if (fact === undefined || fact.verdict === 'Verified') continue;
      const image = quote(c.image.raw);
      const by = params.attestors.join(', ');
      const problem =
        fact.verdict === 'Unsigned'
          ? `image ${image} is Unsigned (the policy requires a signature by ${by}): ${fact.message}`
          : fact.verdict === 'Invalid'
            ? `image ${image} has an Invalid signature${fact.reason === undefined ? '' : ` (${fact.reason})`}: ${fact.message}`
            : `image ${image}: could not verify the signature (Error${fact.reason === undefined ? '' : `, ${fact.reason}`}; retrying): ${fact.message}`;
      (hits ??= []).push({ container: c, message: `${describeContainer(c)} ${problem}` });
    }
    return hits ?? NO_HITS;
  },
};

export const signatureRules = [signaturesVerified];
