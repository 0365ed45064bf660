// Public surface of signature verification (cosign classic layout, sigstore bundles, attestations).
export * from './types.js';
export { parsePublicKey, parseCertificate } from './keys.js';
export { parseTrustedRoot, type TrustedRoot } from './trusted-root.js';
export { classicEvidence, bundleEvidence, type SignatureEvidence, type SignedStatement } from './evidence.js';
export {
  SignatureDiscovery,
  digestTag,
  type SignatureRegistry,
  type DiscoveredSignatures,
} from './discovery.js';
export { prepareAttestor, compileStringMatch, type PreparedAttestor } from './attestor.js';
export { evaluateSignatures, predicateField, conditionProblem } from './evaluate.js';
export { SignatureVerifier, type SignatureVerifierOptions } from './verifier.js';
export { fromPolicyAttestor, ruleFromPolicy, type PolicyAttestorDefaults } from './policy.js';
