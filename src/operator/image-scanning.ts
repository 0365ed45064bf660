// Wires image analysis into the operator: the analyzer with the registry
// address policy from flags and configuration, pull secrets read through the
// API server, and the scanner that the reconciler asks about images.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ImageScanner, pullCredentialsFromApi } from '../controller/image-scanner.js';
import { createImageAnalyzer } from '../image/analyzer-setup.js';
import type { Logger } from '../log.js';

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
    credentialsFor: pullCredentialsFromApi(kc.makeApiClient(CoreV1Api), operatorSecret),
    onResult: settings.onResult,
    logger: {
      debug: (message, fields) => settings.log.debug(message, { controller: 'image', ...fields }),
      info: (message, fields) => settings.log.info(message, { controller: 'image', ...fields }),
      warn: (message, fields) => settings.log.warn(message, { controller: 'image', ...fields }),
    },
  });
}
