// Work queue keys for workloads: "Kind/namespace/name". One key per top-level
// workload (Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet,
// ReplicationController or bare Pod), which owns one SecurityReport.
import { createHash } from 'node:crypto';

export interface WorkloadKey {
  kind: string;
  namespace: string;
  name: string;
}

export function formatWorkloadKey({ kind, namespace, name }: WorkloadKey): string {
  return `${kind}/${namespace}/${name}`;
}

export function parseWorkloadKey(key: string): WorkloadKey {
  const [kind, namespace, name, ...rest] = key.split('/');
  if (!kind || !namespace || !name || rest.length > 0) throw new Error(`malformed workload key "${key}"`);
  return { kind, namespace, name };
}

const MAX_NAME_LENGTH = 253;

/** The SecurityReport of a workload is named after it: "deployment-web". */
export function reportNameFor({ kind, name }: WorkloadKey): string {
  const full = `${kind.toLowerCase()}-${name}`;
  if (full.length <= MAX_NAME_LENGTH) return full;
  // A bare cut would give two long names with one prefix the same report (each
  // overwriting the other's) and could end the name in '-' or '.', which the
  // API server refuses; a hash of the full name keeps it unique and valid.
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 10);
  const prefix = full.slice(0, MAX_NAME_LENGTH - hash.length - 1).replace(/[-.]+$/, '');
  return `${prefix}-${hash}`;
}
