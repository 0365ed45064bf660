// Workload fixtures for e2e tests and benchmarks: the one container spec that passes the pod-spec
// rules (restricted Pod Security Standard, resources, probes; the image, and so its tag, is the
// caller's) and a Deployment around containers that runs on the kwok fake nodes. A test that needs a
// violation starts from these and changes the field it is about, so "compliant" is written once.
import type { V1Container, V1Deployment } from '@kubernetes/client-node';

/** A container that satisfies the restricted PSS level, resource, probe and pull rules. */
export function compliantContainer(image: string, name = 'app'): V1Container {
  return {
    name,
    image,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 1000,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
    livenessProbe: { httpGet: { path: '/healthz', port: 8080 } },
    readinessProbe: { httpGet: { path: '/readyz', port: 8080 } },
  };
}

/**
 * A one-replica Deployment labelled `app: <name>`, scheduled on the kwok nodes (`type: kwok`) and
 * without a mounted ServiceAccount token (so it needs no ServiceAccount in a fresh namespace).
 */
export function kwokDeployment(name: string, containers: V1Container | readonly V1Container[]): V1Deployment {
  const labels = { app: name };
  return {
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { type: 'kwok' },
          automountServiceAccountToken: false,
          containers: ([] as V1Container[]).concat(containers),
        },
      },
    },
  };
}
