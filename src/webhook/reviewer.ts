// Admission with the operator's live state: the policies and namespaces from
// the manager's informer cache, image facts from the image service. The
// decision itself is decideAdmission (pure); this adds the one wait the
// webhook may do: when a Warn/Enforce policy needs facts of an image nobody has
// analysed yet, it waits for the analysis (already started by asking) within
// a budget well below the webhook timeout, then decides with what it has.
import type { KubernetesObject, V1Namespace, V1PodSpec } from '@kubernetes/client-node';
import type { AnySecurityPolicy } from '../api/policy-types.js';
import type { ImageStatus } from '../image/image-service.js';
import type { ImageFactsSource } from '../policy/image-facts.js';
import { podTemplateOf } from '../policy/workload.js';
import type { ObjectStore } from '../runtime/cluster-cache.js';
import { decideAdmission, type AdmissionContext, type AdmissionDecision } from './decision.js';
import type { AdmissionRequest } from './review.js';

/** The image service, by what admission needs of it. */
export interface AdmissionImages {
  statusOf(namespace: string, podSpec: V1PodSpec, image: string): ImageStatus;
  factsSource(namespace: string, podSpec: V1PodSpec): ImageFactsSource;
}

export interface AdmissionReviewerOptions {
  store: Pick<ObjectStore, 'get' | 'list'>;
  images?: AdmissionImages;
  excludedNamespaces: ReadonlySet<string>;
  /** How long a request may wait for image analysis on a cache miss. */
  imageBudgetMs: number;
  skipRule?: AdmissionContext['skipRule'];
  /** How often a waiting request looks again (the lookup is a map read). */
  pollMs?: number;
  now?: () => number;
}

export class AdmissionReviewer {
  constructor(private readonly options: AdmissionReviewerOptions) {}

  async review(request: AdmissionRequest): Promise<AdmissionDecision> {
    const { store, images, excludedNamespaces, skipRule } = this.options;
    const namespace = request.namespace ?? request.object?.metadata?.namespace ?? '';
    const policies = [
      ...store.list<AnySecurityPolicy & KubernetesObject>('SecurityPolicy', namespace),
      ...store.list<AnySecurityPolicy & KubernetesObject>('ClusterSecurityPolicy'),
    ];
    const namespaceLabels = store.get<V1Namespace>('Namespace', undefined, namespace)?.metadata?.labels;
    const spec = request.object
      ? podTemplateOf({ ...request.object, kind: request.kind.kind })?.spec
      : undefined;
    const context: AdmissionContext = { policies, namespaceLabels, excludedNamespaces, skipRule };
    if (images && spec) {
      context.imageFacts = images.factsSource(namespace, spec);
      context.imageKnown = (image) => images.statusOf(namespace, spec, image).state === 'Analyzed';
    }
    const decision = decideAdmission(request, context);
    if (decision.unknownImages.length === 0 || !images || !spec) return decision;

    // Only images still being analysed are worth waiting for; a failed analysis will not change in time.
    const now = this.options.now ?? Date.now;
    const deadline = now() + this.options.imageBudgetMs;
    const pending = (image: string) => images.statusOf(namespace, spec, image).state === 'Pending';
    if (!decision.unknownImages.some(pending)) return decision;
    while (decision.unknownImages.some(pending) && now() < deadline) {
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(1, Math.min(this.options.pollMs ?? 20, deadline - now()))),
      );
    }
    return decideAdmission(request, context);
  }
}
