// Wires image analysis into the operator: the analyzer with the registry
// address policy from flags and configuration, pull secrets read through the
// API server, and the scanner that the reconciler asks about images.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import {
  ImageScanner,
  imageScanKey,
  pullCredentialsFromApi,
  type CredentialsFor,
  type ScanCredentials,
} from './image-service.js';
import { createImageAnalyzer } from './analyzer-setup.js';
import type { Logger } from '../runtime/log.js';

export interface ImageScanningSettings {
  registryConfig?: string;
  allow: string[];
  plainHttp: string[];
  cacheDir?: string;
  /** "namespace/name" of a pull secret tried after the pod's own. */
  operatorPullSecret?: string;
  onResult: (image: string, namespace: string) => void;
  log: Logger;
}

export async function createImageScanner(
  kc: KubeConfig,
  settings: ImageScanningSettings,
): Promise<ImageScanner> {
  const { analyzer } = await createImageAnalyzer({
    registryConfig: settings.registryConfig,
    allow: settings.allow,
    plainHttp: settings.plainHttp,
    cacheDir: settings.cacheDir,
  });
  let operatorSecret: { namespace: string; name: string } | undefined;
  if (settings.operatorPullSecret !== undefined) {
    const [namespace, name, ...rest] = settings.operatorPullSecret.split('/');
    if (!namespace || !name || rest.length > 0) {
      throw new Error(`--operator-pull-secret must be namespace/name, not "${settings.operatorPullSecret}"`);
    }
    operatorSecret = { namespace, name };
  }
  return new ImageScanner({
    analyzer,
    credentialsFor: remembered(pullCredentialsFromApi(kc.makeApiClient(CoreV1Api), operatorSecret)),
    onResult: settings.onResult,
    logger: {
      debug: (message, fields) => settings.log.debug(message, { controller: 'image', ...fields }),
      info: (message, fields) => settings.log.info(message, { controller: 'image', ...fields }),
      warn: (message, fields) => settings.log.warn(message, { controller: 'image', ...fields }),
    },
  });
}

/** How long pull credentials read from the API server are reused; retries of failing scans would re-read them. */
const CREDENTIALS_TTL_MS = 60_000;
const MAX_REMEMBERED = 512;

/** Reuses the credentials of one namespace + service account + secret names for a minute. */
export function remembered(credentialsFor: CredentialsFor, now: () => number = Date.now): CredentialsFor {
  const cache = new Map<string, { at: number; value: Promise<ScanCredentials> }>();
  return (namespace, podSpec) => {
    const key = imageScanKey(namespace, podSpec, '');
    const hit = cache.get(key);
    if (hit && now() - hit.at < CREDENTIALS_TTL_MS) return hit.value;
    const value = credentialsFor(namespace, podSpec);
    // A failed read is not remembered: the next scan asks again.
    value.catch(() => cache.delete(key));
    if (cache.size >= MAX_REMEMBERED) cache.delete(cache.keys().next().value!);
    cache.set(key, { at: now(), value });
    return value;
  };
}
