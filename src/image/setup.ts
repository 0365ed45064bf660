// Builds image analysis from user-facing settings (a registry config file and
// --allow-registry / --plain-http flags): the ImageAnalyzer that `shipshape sbom`
// and the operator share, so both apply the same address policy, and for the
// operator the ImageService with pull secrets read through the API server (the
// caller passes the API client, so `shipshape sbom` never loads the Kubernetes client).
import { VERSION } from '../version.js';
import type { CredentialSource } from '../registry/auth.js';
import { RegistryClient } from '../registry/client.js';
import { TieredInventoryCache } from '../sbom/cache.js';
import { ImageAnalyzer, type AnalyzerLogger } from './image-analyzer.js';
import { pullCredentialsFromApi, remembered, type SecretReader } from './credentials.js';
import { ImageService } from './image-service.js';
import {
  SignatureService,
  trustMaterialFromApi,
  type SignatureServiceOptions,
  type TrustMaterialReader,
} from './signature-service.js';
import { SignatureVerifier } from '../signature/index.js';
import {
  applyRegistryFlags,
  defaultRegistrySettings,
  loadRegistrySettings,
  toRegistryClientConfig,
} from './registry-config.js';

export interface AnalyzerSettings {
  registryConfig?: string;
  allow?: string[];
  plainHttp?: string[];
  cacheDir?: string;
  credentials?: CredentialSource;
}

export class AnalyzerSettingsError extends Error {}

export async function createImageAnalyzer(
  settings: AnalyzerSettings,
): Promise<{ analyzer: ImageAnalyzer; client: RegistryClient }> {
  let base = defaultRegistrySettings();
  if (settings.registryConfig !== undefined) {
    const loaded = await loadRegistrySettings(settings.registryConfig);
    if (!loaded.ok) throw new AnalyzerSettingsError(loaded.error);
    base = loaded.settings;
  }
  const merged = applyRegistryFlags(base, {
    allow: settings.allow ?? [],
    plainHttp: settings.plainHttp ?? [],
  });
  if (!merged.ok) throw new AnalyzerSettingsError(merged.error);
  const config = await toRegistryClientConfig(merged.settings).catch((err: unknown) => {
    throw new AnalyzerSettingsError(err instanceof Error ? err.message : String(err));
  });
  const client = new RegistryClient({
    config: { userAgent: `shipshape/${VERSION}`, ...config },
    ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
  });
  const analyzer = new ImageAnalyzer({
    registry: client,
    cache: new TieredInventoryCache(settings.cacheDir === undefined ? {} : { directory: settings.cacheDir }),
  });
  return { analyzer, client };
}

export interface ImageServiceSettings extends Omit<AnalyzerSettings, 'credentials'> {
  /** "namespace/name" of a pull secret tried after the pod's own. */
  operatorPullSecret?: string;
  /** Scans at once (default 2). */
  concurrency?: number;
  logger?: AnalyzerLogger;
  /** How long a signature verdict stands before it is verified again (default 10 min). */
  signatureTtlMs?: number;
  /** When an Error signature verdict is tried again (default 30 s). */
  signatureRetryMs?: number;
  onSignatureVerification?: SignatureServiceOptions['onVerification'];
}

/** `core` reads pull secrets, service accounts and trust material (client-node's CoreV1Api fits). */
export async function createImageService(
  core: SecretReader & TrustMaterialReader,
  settings: ImageServiceSettings,
): Promise<ImageService> {
  const { analyzer, client } = await createImageAnalyzer(settings);
  let operatorSecret: { namespace: string; name: string } | undefined;
  if (settings.operatorPullSecret !== undefined) {
    const [namespace, name, ...rest] = settings.operatorPullSecret.split('/');
    if (!namespace || !name || rest.length > 0) {
      throw new AnalyzerSettingsError(
        `--operator-pull-secret must be namespace/name, not "${settings.operatorPullSecret}"`,
      );
    }
    operatorSecret = { namespace, name };
  }
  const credentialsFor = remembered(pullCredentialsFromApi(core, operatorSecret));
  // Signatures go through the analysis' registry client: the same address policy, TLS and limits.
  const verifier = new SignatureVerifier({
    registry: client,
    trustMaterial: trustMaterialFromApi(core),
    ...(settings.signatureTtlMs === undefined ? {} : { ttlMs: settings.signatureTtlMs }),
  });
  const signatures = new SignatureService({
    verify: (image, digest, rule, options) => verifier.verify(image, digest, rule, options),
    credentialsFor,
    ...(settings.signatureTtlMs === undefined ? {} : { ttlMs: settings.signatureTtlMs }),
    ...(settings.signatureRetryMs === undefined ? {} : { retryMs: settings.signatureRetryMs }),
    ...(settings.onSignatureVerification === undefined
      ? {}
      : { onVerification: settings.onSignatureVerification }),
    ...(settings.logger === undefined ? {} : { logger: settings.logger }),
  });
  return new ImageService({
    analyzer,
    credentialsFor,
    signatures,
    ...(settings.concurrency === undefined ? {} : { concurrency: settings.concurrency }),
    ...(settings.logger === undefined ? {} : { logger: settings.logger }),
  });
}
