// Work queue keys for workloads: "Kind/namespace/name". One key per top-level
// workload (Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet,
// ReplicationController or bare Pod), which owns one SecurityReport.
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

/** The SecurityReport of a workload is named after it: "deployment-web". */
export function reportNameFor({ kind, name }: WorkloadKey): string {
  const full = `${kind.toLowerCase()}-${name}`;
  return full.length <= 253 ? full : full.slice(0, 253);
}
