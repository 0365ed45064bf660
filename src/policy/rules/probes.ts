// Health rules: liveness and readiness probes on long-running containers.
// Batch pods (restartPolicy Never or OnFailure, as Jobs use) are not checked:
// a process that exits is their health signal.
import type { ContainerView, PodView } from '../workload.js';
import { eachContainer, isLongRunning, type RuleDefinition } from './rule.js';

/** Long-running containers of pods that restart them: the ones health checks are for. */
export function needsProbes(c: ContainerView, pod: PodView): boolean {
  const restart = pod.spec.restartPolicy;
  return isLongRunning(c) && restart !== 'Never' && restart !== 'OnFailure';
}

export const livenessProbe: RuleDefinition = {
  id: 'probes.liveness',
  title: 'Liveness probe missing',
  severity: 'Low',
  category: 'probes',
  description: 'Without a liveness probe a hung process keeps its pod Running and is never restarted.',
  remediation: 'Add a livenessProbe (httpGet, tcpSocket, grpc or exec) that fails when the process is stuck.',
  check: eachContainer((c) => (c.container.livenessProbe ? undefined : 'has no livenessProbe'), needsProbes),
};

export const readinessProbe: RuleDefinition = {
  id: 'probes.readiness',
  title: 'Readiness probe missing',
  severity: 'Low',
  category: 'probes',
  description:
    'Without a readiness probe the pod receives traffic before it can serve it, and during overload.',
  remediation: 'Add a readinessProbe that succeeds only when the container can serve requests.',
  check: eachContainer(
    (c) => (c.container.readinessProbe ? undefined : 'has no readinessProbe'),
    needsProbes,
  ),
};

export const probeRules = [livenessProbe, readinessProbe];
