// Pod builders for the Pod Security Standards unit tests: a minimal pod that passes
// restricted at latest, and small edits of it.
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import type { PodSecuritySubject } from '../../../../src/policy/pss/index.js';

export function restrictedContainer(name: string, extra: Partial<V1Container> = {}): V1Container {
  return {
    name,
    image: 'registry.k8s.io/pause',
    ...extra,
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      ...extra.securityContext,
    },
  };
}

/** Passes restricted at every version: the shape of Kubernetes' own base.yaml fixture. */
export function restrictedPod(spec: Partial<V1PodSpec> = {}): PodSecuritySubject {
  return {
    metadata: { name: 'web' },
    spec: {
      containers: [restrictedContainer('app')],
      ...spec,
      securityContext: {
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
        ...spec.securityContext,
      },
    },
  };
}

/** A bare pod (no security settings at all): passes baseline, fails restricted. */
export function plainPod(spec: Partial<V1PodSpec> = {}): PodSecuritySubject {
  return {
    metadata: { name: 'web' },
    spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause' }], ...spec },
  };
}
