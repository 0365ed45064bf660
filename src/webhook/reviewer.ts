// Admission with the operator's live state: the policies and namespaces from
// the manager's informer cache, image facts from the image service. The
// decision itself is decideAdmission (pure); this adds the one wait the
// webhook may do: when a Warn/Enforce policy needs facts of an image nobody has
// analysed yet, or a signature verdict nobody has verified yet, it waits for
// the analysis and verification (already started by asking) within a budget
// well below the webhook timeout, then decides with what it has. Signature
// verdicts come from the image service's signature service, by the same
// function the workload reconciler uses, so admission and report agree. The
// OpenVEX statements policies name are read (cached) within a budget of their own;
// when they cannot be had in time, nothing is suppressed: admission errs strict.
import type { KubernetesObject, V1Namespace, V1PodSpec } from '@kubernetes/client-node';
import type { AnySecurityPolicy } from '../api/policy-types.js';
import type { ImageStatus } from '../image/image-service.js';
import { requirementOf, type SignatureService } from '../image/signature-service.js';
import { signatureVerdicts, withSignatures } from '../controllers/workload/reconciler.js';
import { podImages } from '../policy/target.js';
import type { ImageFactsSource } from '../policy/image-facts.js';
import { podTemplateOf } from '../policy/workload.js';
import type { ObjectStore } from '../runtime/cluster-cache.js';
import { decideAdmission, type AdmissionContext, type AdmissionDecision } from './decision.js';
import type { AdmissionRequest } from './review.js';
import { vexStatementsOf, withVex, type VexSource } from '../controllers/workload/vex.js';
import type { VexStatementFact } from '../policy/image-facts.js';

/** The image service, by what admission needs of it. */
export interface AdmissionImages {
  statusOf(namespace: string, podSpec: V1PodSpec, image: string): ImageStatus;
  factsSource(namespace: string, podSpec: V1PodSpec): ImageFactsSource;
  /** Signature verification; without it signature rules see no verdicts. */
  readonly signatures?: Pick<SignatureService, 'verdictOf' | 'defaults'> | undefined;
}

export interface AdmissionReviewerOptions {
  store: Pick<ObjectStore, 'get' | 'list'>;
  images?: AdmissionImages;
  excludedNamespaces: ReadonlySet<string>;
  /** How long a request may wait for image analysis on a cache miss. */
  imageBudgetMs: number;
  skipRule?: AdmissionContext['skipRule'];
  /** OpenVEX statements from the ConfigMaps policies name (spec.vulnerabilities.vex). */
  vex?: VexSource;
  /** How long a request may wait for VEX documents not in the cache (default 1 s). */
  vexBudgetMs?: number;
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
      const vex = await this.vexStatements(policies);
      const facts = withVex(images.factsSource(namespace, spec), vex);
      context.imageFacts = facts;
      context.imageKnown = (image) => images.statusOf(namespace, spec, image).state === 'Analyzed';
      const service = images.signatures;
      if (service)
        context.imageFactsFor = (judged) => {
          // Only a policy that requires signatures makes the pod's images worth a lookup (which starts analysis).
          if (!judged.some((p) => requirementOf(p, service.defaults) !== undefined))
            return { facts, unverified: [] };
          const status = new Map<string, ImageStatus>(
            podImages(spec).map((image) => [image, images.statusOf(namespace, spec, image)]),
          );
          const verdicts = signatureVerdicts(service, namespace, spec, judged, status);
          const unverified = [...verdicts]
            .filter(([, byKey]) => [...byKey.values()].some((fact) => fact === undefined))
            .map(([image]) => image);
          return { facts: withSignatures(facts, verdicts), unverified };
        };
    }
    let decision = decideAdmission(request, context);
    if (decision.unknownImages.length === 0 || !images || !spec) return decision;

    // Only images still being analysed or verified are worth waiting for; a failed analysis will not change in time.
    const now = this.options.now ?? Date.now;
    const deadline = now() + this.options.imageBudgetMs;
    const coming = (image: string) => images.statusOf(namespace, spec, image).state !== 'Failed';
    while (decision.unknownImages.some(coming) && now() < deadline) {
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(1, Math.min(this.options.pollMs ?? 20, deadline - now()))),
      );
      decision = decideAdmission(request, context);
    }
    return decision;
  }

  private async vexStatements(
    policies: readonly AnySecurityPolicy[],
  ): Promise<ReadonlyMap<string, readonly VexStatementFact[]>> {
    const source = this.options.vex;
    if (source === undefined) return new Map();
    const named = policies.map((p) => ({
      spec: p.spec ?? {},
      namespace: p.kind === 'SecurityPolicy' ? (p.metadata.namespace ?? 'default') : undefined,
      name: p.metadata.name ?? '',
    }));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Map<string, readonly VexStatementFact[]>>((resolve) => {
      timer = setTimeout(() => resolve(new Map()), this.options.vexBudgetMs ?? 1000);
    });
    try {
      return await Promise.race([vexStatementsOf(source, named), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
