// Builds image analysis from user-facing settings (a registry config file and
// --allow-registry / --plain-http flags): the ImageAnalyzer that `shipshape sbom`
// uses (analyzer-setup.ts), and for the operator the ImageService whose scans run
// in a pool of worker processes with heap, time and size budgets (analysis-pool.ts),
// with pull secrets read through the API server (the caller passes the API
// client, so `shipshape sbom` never loads the Kubernetes client), and signature
// verdicts checked through a registry client with the same address policy.
import type { AnalyzerLogger } from './image-analyzer.js';
import { AnalysisPool, DEFAULT_ANALYSIS_HEAP_MIB, DEFAULT_ANALYSIS_TIMEOUT_MS } from './analysis-pool.js';
import { AnalyzerSettingsError, createRegistryClient, type AnalyzerSettings } from './analyzer-setup.js';
import { pullCredentialsFromApi, remembered, type SecretReader } from './credentials.js';
import { ImageService, type ImageServiceOptions } from './image-service.js';
import {
  SignatureService,
  trustMaterialFromApi,
  type SignatureServiceOptions,
  type TrustMaterialReader,
} from './signature-service.js';
import { SignatureVerifier } from '../signature/index.js';
import type { VulnerabilityDatabaseProvider } from '../vuln/provider.js';

export {
  AnalyzerSettingsError,
  createImageAnalyzer,
  createRegistryClient,
  type AnalyzerSettings,
} from './analyzer-setup.js';

export interface ImageServiceSettings extends Omit<AnalyzerSettings, 'credentials'> {
  /** "namespace/name" of a pull secret tried after the pod's own. */
  operatorPullSecret?: string;
  /** Scans at once (default: one per analysis worker). */
  concurrency?: number;
  /** Analysis worker processes (default: os.availableParallelism()). */
  analysisWorkers?: number;
  /** Heap of each analysis worker, MiB (default 256). */
  analysisHeapMiB?: number;
  /** Wall-clock budget of one image's analysis (default 120 s). */
  analysisTimeoutMs?: number;
  /** Wall-clock budget of one layer (default half the image's budget). */
  analysisLayerTimeoutMs?: number;
  /** Tests only: see AnalysisWorkerSettings.analyzerModule. */
  analyzerModule?: string;
  logger?: AnalyzerLogger;
  /** How long a signature verdict stands before it is verified again (default 10 min). */
  signatureTtlMs?: number;
  /** When an Error signature verdict is tried again (default 30 s). */
  signatureRetryMs?: number;
  onSignatureVerification?: SignatureServiceOptions['onVerification'];
  /** The vulnerability database analysed images are matched against; none: matching is off. */
  vulnerabilities?: VulnerabilityDatabaseProvider;
}

/** An ImageService whose shutdown also stops its analysis workers. */
class PooledImageService extends ImageService {
  constructor(
    options: ImageServiceOptions,
    private readonly pool: AnalysisPool,
  ) {
    super(options);
  }

  override async shutdown(): Promise<void> {
    await super.shutdown();
    await this.pool.shutdown();
  }
}

/** `core` reads pull secrets, service accounts and trust material (client-node's CoreV1Api fits). */
export async function createImageService(
  core: SecretReader & TrustMaterialReader,
  settings: ImageServiceSettings,
): Promise<ImageService> {
  // Built here, so a bad registry config stops the start, not every scan in a worker;
  // signature verification (in this process) goes through it.
  const client = await createRegistryClient(settings);
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
  const heapMiB = settings.analysisHeapMiB;
  const timeoutMs = settings.analysisTimeoutMs;
  const pool = new AnalysisPool({
    settings: {
      analyzer: {
        ...(settings.registryConfig === undefined ? {} : { registryConfig: settings.registryConfig }),
        ...(settings.allow === undefined ? {} : { allow: settings.allow }),
        ...(settings.plainHttp === undefined ? {} : { plainHttp: settings.plainHttp }),
        ...(settings.cacheDir === undefined ? {} : { cacheDir: settings.cacheDir }),
        ...(settings.limits === undefined ? {} : { limits: settings.limits }),
        // The inventory cache lives in each worker's heap: a quarter of it at most.
        cacheMemoryBytes:
          settings.cacheMemoryBytes ?? Math.floor(((heapMiB ?? DEFAULT_ANALYSIS_HEAP_MIB) * 1024 * 1024) / 4),
      },
      ...(settings.analyzerModule === undefined ? {} : { analyzerModule: settings.analyzerModule }),
    },
    ...(settings.analysisWorkers === undefined ? {} : { size: settings.analysisWorkers }),
    ...(heapMiB === undefined ? {} : { heapMiB }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    layerTimeoutMs:
      settings.analysisLayerTimeoutMs ?? Math.ceil((timeoutMs ?? DEFAULT_ANALYSIS_TIMEOUT_MS) / 2),
    ...(settings.logger === undefined ? {} : { logger: settings.logger }),
  });
  // Every worker forked now, while the operator is small and idle (see prestart).
  await pool.prestart();
  const credentialsFor = remembered(pullCredentialsFromApi(core, operatorSecret));
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
  return new PooledImageService(
    {
      analyzer: (imageRef, options) => pool.analyze(imageRef, options),
      credentialsFor,
      signatures,
      ...(settings.vulnerabilities === undefined ? {} : { vulnerabilities: settings.vulnerabilities }),
      concurrency: settings.concurrency ?? pool.workers,
      ...(settings.logger === undefined ? {} : { logger: settings.logger }),
    },
    pool,
  );
}
