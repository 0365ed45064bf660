// Schema pieces shared by several CRDs: status conditions and severity counts.
import { SEVERITIES } from './severity.js';
import { arr, enumStr, int, obj, str, timestamp, type JSONSchema } from './schema.js';

export const conditionsSchema: JSONSchema = arr(
  'The latest observations of the object’s state (Ready and friends).',
  obj(
    'One condition, in the Kubernetes metav1.Condition shape.',
    {
      type: str('The condition type, in CamelCase.', { maxLength: 316 }),
      status: enumStr('True, False or Unknown.', ['True', 'False', 'Unknown']),
      reason: str('A CamelCase reason for the last transition.', { maxLength: 1024, minLength: 1 }),
      message: str('A human readable message about the transition.', { maxLength: 32768 }),
      observedGeneration: int('The generation the condition was set for.', { minimum: 0 }),
      lastTransitionTime: timestamp('When the status last changed.'),
    },
    { required: ['type', 'status', 'reason', 'lastTransitionTime'] },
  ),
  16,
  { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
);

/** Counts by severity, keyed by lowercase severity name (critical, high, ...). */
export function severityCountsSchema(description: string): JSONSchema {
  const properties: Record<string, JSONSchema> = {};
  for (const severity of SEVERITIES) {
    properties[severity.toLowerCase()] = int(`${severity} count.`, { minimum: 0 });
  }
  return obj(description, properties);
}
