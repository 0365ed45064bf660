// Workloads and their pod templates: every kind that makes pods is evaluated
// through the pod spec it would create, with a per-container view that
// resolves pod-level vs container-level security settings once.
import { LRUCache } from 'lru-cache';
import type {
  KubernetesObject,
  V1AppArmorProfile,
  V1Container,
  V1ObjectMeta,
  V1PodSpec,
  V1SeccompProfile,
  V1SecurityContext,
  V1SELinuxOptions,
} from '@kubernetes/client-node';
import type { ContainerKind } from '../api/report-types.js';
import { parseContainerImage, type ContainerImage } from './container-image.js';

export interface PodTemplate {
  metadata: V1ObjectMeta;
  spec: V1PodSpec;
}

/** Any object that may carry a pod template; kind decides where it is. */
export type WorkloadObject = KubernetesObject & { spec?: unknown; template?: unknown };

interface WithTemplate {
  template?: { metadata?: V1ObjectMeta; spec?: V1PodSpec };
}

/** The pod template of a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob or PodTemplate. */
export function podTemplateOf(workload: WorkloadObject): PodTemplate | undefined {
  const spec = workload.spec as Record<string, unknown> | undefined;
  let template: WithTemplate['template'];
  switch (workload.kind) {
    case 'Pod':
      return spec ? { metadata: workload.metadata ?? {}, spec: spec as unknown as V1PodSpec } : undefined;
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'ReplicationController':
    case 'Job':
      template = (spec as WithTemplate | undefined)?.template;
      break;
    case 'CronJob':
      template = (spec?.jobTemplate as { spec?: WithTemplate } | undefined)?.spec?.template;
      break;
    case 'PodTemplate':
      template = (workload as WithTemplate).template;
      break;
    default:
      // A bare pod spec without kind, as some callers pass it.
      if (workload.kind === undefined && Array.isArray(spec?.containers)) {
        return { metadata: workload.metadata ?? {}, spec: spec as unknown as V1PodSpec };
      }
      return undefined;
  }
  if (!template?.spec) return undefined;
  return { metadata: template.metadata ?? {}, spec: template.spec };
}

export interface ContainerView {
  name: string;
  kind: ContainerKind;
  /** Ephemeral containers share V1Container's shape for everything rules read. */
  container: V1Container;
  image: ContainerImage;
  securityContext: V1SecurityContext | undefined;
  /** An init container with restartPolicy Always: it runs beside the app containers. */
  sidecar: boolean;
  /** Effective values: the container's own setting, else the pod's. */
  runAsNonRoot: boolean | undefined;
  runAsUser: number | undefined;
  seLinuxOptions: V1SELinuxOptions | undefined;
  seccompProfile: V1SeccompProfile | undefined;
  appArmorProfile: V1AppArmorProfile | undefined;
}

export interface PodView {
  /** The workload kind the template came from. */
  workloadKind: string;
  workloadName: string;
  namespace: string;
  metadata: V1ObjectMeta;
  labels: Record<string, string>;
  spec: V1PodSpec;
  containers: ContainerView[];
}

const imageCache = new LRUCache<string, ContainerImage>({ max: 50_000 });

/** Parses an image reference, memoized: the same few images appear in thousands of pods. */
export function imageOf(raw: string): ContainerImage {
  let ref = imageCache.get(raw);
  if (!ref) {
    ref = parseContainerImage(raw);
    imageCache.set(raw, ref);
  }
  return ref;
}

function view(container: V1Container, kind: ContainerKind, spec: V1PodSpec): ContainerView {
  const sc = container.securityContext;
  const pod = spec.securityContext;
  return {
    name: container.name,
    kind,
    container,
    image: imageOf(container.image ?? ''),
    securityContext: sc,
    sidecar: kind === 'initContainer' && container.restartPolicy === 'Always',
    runAsNonRoot: sc?.runAsNonRoot ?? pod?.runAsNonRoot,
    runAsUser: sc?.runAsUser ?? pod?.runAsUser,
    seLinuxOptions: sc?.seLinuxOptions ?? pod?.seLinuxOptions,
    seccompProfile: sc?.seccompProfile ?? pod?.seccompProfile,
    appArmorProfile: sc?.appArmorProfile ?? pod?.appArmorProfile,
  };
}

export function podViewOf(workload: WorkloadObject, template: PodTemplate): PodView {
  const spec = template.spec;
  const containers: ContainerView[] = [];
  for (const c of spec.initContainers ?? []) containers.push(view(c, 'initContainer', spec));
  for (const c of spec.containers ?? []) containers.push(view(c, 'container', spec));
  for (const c of spec.ephemeralContainers ?? [])
    containers.push(view(c as V1Container, 'ephemeralContainer', spec));
  return {
    workloadKind: workload.kind ?? 'Pod',
    workloadName: workload.metadata?.name ?? template.metadata.name ?? '',
    namespace: workload.metadata?.namespace ?? template.metadata.namespace ?? 'default',
    metadata: template.metadata,
    labels: template.metadata.labels ?? {},
    spec,
    containers,
  };
}

const KIND_WORDS: Record<ContainerKind, string> = {
  container: 'container',
  initContainer: 'init container',
  ephemeralContainer: 'ephemeral container',
};

/** `container "app"`, `init container "setup"`: how messages name a container. */
export function describeContainer(c: ContainerView): string {
  return `${KIND_WORDS[c.kind]} "${c.name}"`;
}
