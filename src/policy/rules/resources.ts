// Resource rules: requests and limits that a policy requires on every container.
import type { ResourceName } from '../../api/policy-types.js';
import { eachContainer, notEphemeral, type RuleDefinition } from './rule.js';

function missing(have: Record<string, unknown> | undefined, wanted: readonly ResourceName[]): ResourceName[] {
  return wanted.filter((r) => have?.[r] === undefined || have[r] === '');
}

export const resourceRequests: RuleDefinition<readonly ResourceName[]> = {
  id: 'resources.requests',
  title: 'Resource requests missing',
  severity: 'Medium',
  category: 'resources',
  description:
    'Without requests the scheduler cannot place the pod sensibly and the pod is the first to be evicted. Which requests are required: spec.rules.resources.requests (default cpu and memory).',
  remediation:
    'Set resources.requests for the listed resources on every container, including init containers.',
  prepare(rules) {
    const wanted = rules.resources?.requests ?? ['cpu', 'memory'];
    return wanted.length > 0 ? { key: wanted.join(','), params: wanted } : undefined;
  },
  check: eachContainer((c, wanted: readonly ResourceName[]) => {
    const absent = missing(c.container.resources?.requests, wanted);
    return absent.length > 0 ? `has no resource requests for ${absent.join(', ')}` : undefined;
  }, notEphemeral),
};

export const resourceLimits: RuleDefinition<readonly ResourceName[]> = {
  id: 'resources.limits',
  title: 'Resource limits missing',
  severity: 'Medium',
  category: 'resources',
  description:
    'Without limits one container can take a node’s memory or disk from every other pod. Which limits are required: spec.rules.resources.limits (default memory).',
  remediation: 'Set resources.limits for the listed resources on every container, including init containers.',
  prepare(rules) {
    const wanted = rules.resources?.limits ?? ['memory'];
    return wanted.length > 0 ? { key: wanted.join(','), params: wanted } : undefined;
  },
  check: eachContainer((c, wanted: readonly ResourceName[]) => {
    const absent = missing(c.container.resources?.limits, wanted);
    return absent.length > 0 ? `has no resource limits for ${absent.join(', ')}` : undefined;
  }, notEphemeral),
};

export const resourceRules = [resourceRequests, resourceLimits];
