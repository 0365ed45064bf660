// What evaluation returns: one Finding per rule a container or pod breaks
// under one policy.
import type { Severity } from '../api/severity.js';

export const RULE_CATEGORY_TITLES = {
  image: 'Image',
  securityContext: 'Security context',
  resources: 'Resources',
  probes: 'Health probes',
  secrets: 'Secrets',
  pss: 'Pod Security Standards',
  vulnerabilities: 'Vulnerabilities',
  signatures: 'Signatures',
} as const;

export type RuleCategory = keyof typeof RULE_CATEGORY_TITLES;

export interface Finding {
  ruleId: string;
  title: string;
  severity: Severity;
  category: RuleCategory;
  /** namespace/name for a SecurityPolicy, name for a ClusterSecurityPolicy. */
  policy: string;
  /** The container, for container-level findings. */
  container?: string;
  /** The image of that container. */
  image?: string;
  /** What the finding is about within its rule and container (a vulnerability id): part of its identity. */
  subject?: string;
  /** Names the container and the offending value; never a secret's value. */
  message: string;
  remediation: string;
}
