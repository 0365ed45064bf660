// The pure rule engine: workloads and policies in, findings out.
export * from './finding.js';
export * from './image-facts.js';
export * from './container-image.js';
export * from './glob.js';
export * from './selector.js';
export * from './workload.js';
export * from './compile.js';
export * from './match.js';
export * from './target.js';
export * from './evaluate.js';
export * from './default-policy.js';
export {
  RULES,
  ruleById,
  ruleInfo,
  podSecurityRuleInfo,
  podSecuritySeverity,
  type RuleInfo,
} from './rules/catalog.js';
export type { RuleDefinition, RuleHit, AnyRule } from './rules/rule.js';
export { looksLikeCredential } from './rules/secrets.js';
