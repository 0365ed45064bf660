// The credentials a pod's images are pulled with, chosen as the kubelet chooses them:
// the pod's imagePullSecrets, then its ServiceAccount's imagePullSecrets, then the
// operator-wide pull secret. The one module that resolves pull credentials: the core
// is pure (already-fetched objects in, an ordered CredentialSource out); the I/O
// helpers read the Secrets and the ServiceAccount through client-node and remember
// the result for a minute. Secret contents are never logged or put into messages:
// only namespace/name appear, and problems are reported so a user can fix the reference.
import type { V1Pod, V1PodSpec, V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';

import type { CredentialSource } from '../registry/auth.js';
import { errorText, truncate } from '../runtime/text.js';

import {
  DockerConfigCredentialSource,
  parsePullSecret,
  type DockerConfig,
  type PullSecretOrigin,
  type SecretLike,
} from '../registry/docker-config.js';

/** The parts of a pod this module reads (structurally a V1Pod). */
export type PodLike = Pick<V1Pod, 'metadata'> & {
  readonly spec?: Pick<NonNullable<V1Pod['spec']>, 'imagePullSecrets' | 'serviceAccountName'>;
};

export interface PullSecretRefs {
  readonly namespace: string;
  /** Names listed by the pod, in order. */
  readonly pod: readonly string[];
  /** The ServiceAccount whose pull secrets apply. */
  readonly serviceAccountName: string;
}

export interface PullCredentials {
  readonly source: DockerConfigCredentialSource;
  /** The secrets in the order they are tried, as `namespace/name` (origin included). */
  readonly secrets: readonly { readonly name: string; readonly origin: PullSecretOrigin }[];
  /** Referenced secrets that are missing or unusable: the pod may still pull with the others. */
  readonly problems: readonly string[];
}

export interface PullSecretInputs {
  readonly pod: PodLike;
  /** The pod's ServiceAccount, when it exists. */
  readonly serviceAccount?: Pick<V1ServiceAccount, 'imagePullSecrets'>;
  /** Secrets of the pod's namespace by name (those referenced; others are ignored). */
  readonly secrets: ReadonlyMap<string, SecretLike>;
  /** The operator-wide pull secret, tried last. */
  readonly operatorSecret?: SecretLike;
  /** Why referenced secrets absent from `secrets` could not be read, when not simply missing. */
  readonly unreadable?: ReadonlyMap<string, string>;
}

function names(list: readonly { name?: string }[] | undefined): string[] {
  return (list ?? []).map((r) => r.name ?? '').filter((n) => n !== '');
}

/** Which Secrets the pod refers to, directly or through its ServiceAccount. Pure. */
export function pullSecretRefs(pod: PodLike): PullSecretRefs {
  return {
    namespace: pod.metadata?.namespace ?? 'default',
    pod: names(pod.spec?.imagePullSecrets),
    serviceAccountName: pod.spec?.serviceAccountName ?? 'default',
  };
}

/** Builds the ordered credentials for a pod from objects already fetched. Pure. */
export function buildPullCredentials(inputs: PullSecretInputs): PullCredentials {
  const refs = pullSecretRefs(inputs.pod);
  const configs: DockerConfig[] = [];
  const secrets: { name: string; origin: PullSecretOrigin }[] = [];
  const problems: string[] = [];
  const add = (
    secret: SecretLike | undefined,
    name: string,
    origin: PullSecretOrigin,
    whose: string,
  ): void => {
    if (secret === undefined) {
      const why = inputs.unreadable?.get(name.slice(name.indexOf('/') + 1));
      problems.push(
        `${whose} refers to pull secret ${name}, which ${why === undefined ? 'does not exist' : `could not be read: ${why}`}`,
      );
      return;
    }
    const parsed = parsePullSecret(secret, origin);
    if (!parsed.ok) {
      problems.push(`${whose}: ${parsed.error}`);
      return;
    }
    configs.push(parsed.config);
    secrets.push({ name: parsed.config.secretName, origin });
  };
  const podName = `pod ${refs.namespace}/${inputs.pod.metadata?.name ?? ''}`;
  for (const name of refs.pod) add(inputs.secrets.get(name), `${refs.namespace}/${name}`, 'pod', podName);
  const saName = `service account ${refs.namespace}/${refs.serviceAccountName}`;
  for (const name of names(inputs.serviceAccount?.imagePullSecrets)) {
    add(inputs.secrets.get(name), `${refs.namespace}/${name}`, 'serviceAccount', saName);
  }
  if (inputs.operatorSecret !== undefined) {
    const m = inputs.operatorSecret.metadata;
    add(
      inputs.operatorSecret,
      `${m?.namespace ?? ''}/${m?.name ?? ''}`,
      'operator',
      'the operator configuration',
    );
  }
  return { source: new DockerConfigCredentialSource(configs), secrets, problems };
}

/** The two reads this module needs; client-node's CoreV1Api provides them. */
export interface SecretReader {
  readNamespacedSecret(param: { name: string; namespace: string }): Promise<V1Secret>;
  readNamespacedServiceAccount(param: { name: string; namespace: string }): Promise<V1ServiceAccount>;
}

/** Where the operator-wide pull secret lives, if one is configured. */
export interface SecretRef {
  readonly namespace: string;
  readonly name: string;
}

function isNotFound(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  return code === 404;
}

/** Why a read failed, in words that carry no object content. */
function readFailure(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  return typeof code === 'number' ? `the API server answered ${code}` : 'the API server could not be reached';
}

/**
 * Reads the pod's ServiceAccount and every pull secret it and the pod refer to, plus
 * the operator secret, and builds the credentials. Missing objects become problems;
 * other API failures do too (the image may be public), never an exception.
 */
export async function fetchPullCredentials(
  api: SecretReader,
  pod: PodLike,
  operatorSecret?: SecretRef,
): Promise<PullCredentials> {
  const refs = pullSecretRefs(pod);
  const problems: string[] = [];
  let serviceAccount: V1ServiceAccount | undefined;
  try {
    serviceAccount = await api.readNamespacedServiceAccount({
      name: refs.serviceAccountName,
      namespace: refs.namespace,
    });
  } catch (err) {
    if (!isNotFound(err)) {
      problems.push(
        `service account ${refs.namespace}/${refs.serviceAccountName} could not be read: ${readFailure(err)}`,
      );
    }
  }
  const wanted = new Set([...refs.pod, ...names(serviceAccount?.imagePullSecrets)]);
  const secrets = new Map<string, SecretLike>();
  const unreadable = new Map<string, string>();
  await Promise.all(
    [...wanted].map(async (name) => {
      try {
        secrets.set(name, await api.readNamespacedSecret({ name, namespace: refs.namespace }));
      } catch (err) {
        if (!isNotFound(err)) unreadable.set(name, readFailure(err));
      }
    }),
  );
  let operator: SecretLike | undefined;
  if (operatorSecret !== undefined) {
    try {
      operator = await api.readNamespacedSecret({ ...operatorSecret });
    } catch (err) {
      problems.push(
        `the operator pull secret ${operatorSecret.namespace}/${operatorSecret.name} could not be read: ${
          isNotFound(err) ? 'it does not exist' : readFailure(err)
        }`,
      );
    }
  }
  const built = buildPullCredentials({
    pod,
    ...(serviceAccount === undefined ? {} : { serviceAccount }),
    secrets,
    unreadable,
    ...(operator === undefined ? {} : { operatorSecret: operator }),
  });
  return { ...built, problems: [...problems, ...built.problems] };
}

/** The parts of a pod spec that decide which credentials pull its images. */
export type ScannedPodSpec = Pick<V1PodSpec, 'imagePullSecrets' | 'serviceAccountName'>;

/** Credentials for a pod's images; PullCredentials (from fetchPullCredentials) fits. */
export interface ScanCredentials {
  readonly source: CredentialSource;
  /** The secrets tried, by namespace/name only. */
  readonly secrets: readonly { readonly name: string }[];
  /** Referenced secrets that were missing or unreadable, as sentences naming them. */
  readonly problems: readonly string[];
}

export type CredentialsFor = (namespace: string, podSpec: ScannedPodSpec) => Promise<ScanCredentials>;

/**
 * The cache key of a scan: the image as written plus which pull secrets apply
 * (namespace, service account, the pod's secret names sorted). Names only, never contents.
 */
export function imageScanKey(namespace: string, podSpec: ScannedPodSpec, image: string): string {
  return JSON.stringify([namespace, serviceAccountOf(podSpec), podSecretNames(podSpec), image]);
}

/** Production credentials: the pod's and its service account's pull secrets, read through CoreV1Api. */
export function pullCredentialsFromApi(api: SecretReader, operatorSecret?: SecretRef): CredentialsFor {
  return async (namespace, podSpec) => {
    const pod = {
      metadata: { namespace, name: '' },
      spec: { imagePullSecrets: podSpec.imagePullSecrets, serviceAccountName: serviceAccountOf(podSpec) },
    };
    const credentials = await fetchPullCredentials(api, pod, operatorSecret);
    // One scan serves every pod with the same secrets, so no pod name belongs in its messages.
    const podPrefix = `pod ${namespace}/ `;
    return {
      ...credentials,
      problems: credentials.problems.map((p) =>
        p.startsWith(podPrefix) ? `the pod spec in namespace ${namespace} ${p.slice(podPrefix.length)}` : p,
      ),
    };
  };
}

export function serviceAccountOf(podSpec: ScannedPodSpec): string {
  return podSpec.serviceAccountName !== undefined && podSpec.serviceAccountName !== ''
    ? podSpec.serviceAccountName
    : 'default';
}

export function podSecretNames(podSpec: ScannedPodSpec): string[] {
  const names = (podSpec.imagePullSecrets ?? []).map((r) => r.name ?? '').filter((n) => n !== '');
  return [...new Set(names)].sort();
}

/** "service account shop/default and pull secrets shop/a, shop/b": names only. */
export function describeSecrets(namespace: string, podSpec: ScannedPodSpec): string {
  const secrets = podSecretNames(podSpec).map((name) => `${namespace}/${name}`);
  const account = `service account ${namespace}/${serviceAccountOf(podSpec)}`;
  if (secrets.length === 0) return account;
  return `${account} and pull ${secrets.length === 1 ? 'secret' : 'secrets'} ${secrets.join(', ')}`;
}

/** An API failure in words that carry no object content: the status code when there is one. */
export function apiFailure(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  if (typeof code === 'number') {
    return code === 403
      ? 'the API server answered 403 (the operator may lack RBAC permission to read them)'
      : `the API server answered ${code}`;
  }
  return truncate(errorText(err), 200);
}

/** How long pull credentials read from the API server are reused; retries of failing scans would re-read them. */
const CREDENTIALS_TTL_MS = 60_000;
const MAX_REMEMBERED = 512;

/** Reuses the credentials of one namespace + service account + secret names for a minute. */
export function remembered(credentialsFor: CredentialsFor, now: () => number = Date.now): CredentialsFor {
  // Ages are checked here rather than with lru-cache's ttl, so the injected clock may start at 0.
  const cache = new LRUCache<string, { at: number; value: Promise<ScanCredentials> }>({
    max: MAX_REMEMBERED,
  });
  return (namespace, podSpec) => {
    const key = imageScanKey(namespace, podSpec, '');
    const hit = cache.get(key);
    if (hit && now() - hit.at < CREDENTIALS_TTL_MS) return hit.value;
    const value = credentialsFor(namespace, podSpec);
    // A failed read is not remembered: the next scan asks again.
    value.catch(() => {
      if (cache.peek(key)?.value === value) cache.delete(key);
    });
    cache.set(key, { at: now(), value });
    return value;
  };
}
