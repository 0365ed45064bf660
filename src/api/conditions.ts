// Status conditions as Kubernetes conventions want them: lastTransitionTime
// moves only when the condition's status changes.
import type { Condition } from './policy-types.js';

export function withTransition(
  previous: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: string,
): Condition {
  const before = previous?.find((c) => c.type === next.type);
  return {
    ...next,
    lastTransitionTime: before && before.status === next.status ? before.lastTransitionTime : now,
  };
}
