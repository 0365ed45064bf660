// Builds an ImageAnalyzer from user-facing settings (a registry config file and
// --allow-registry / --plain-http flags), so `shipshape sbom`, the operator and
// every analysis worker thread apply the same address policy. Kept apart from
// setup.ts, which also builds the operator's ImageService: a worker thread loads
// only this and the registry/sbom layers, not the Kubernetes client, so its small
// heap budget goes to the image it analyses.
import { VERSION } from '../version.js';
import type { CredentialSource } from '../registry/auth.js';
import { RegistryClient, type RegistryClientConfig } from '../registry/client.js';
import { TieredInventoryCache } from '../sbom/cache.js';
import type { WalkLimits } from '../sbom/types.js';
import { ImageAnalyzer, type ImageSource } from './image-analyzer.js';
import {
  applyRegistryFlags,
  defaultRegistrySettings,
  loadRegistrySettings,
  toRegistryClientConfig,
} from './registry-config.js';

/** Plain data (no class instances but `credentials`): what a worker thread is started with. */
export interface AnalyzerSettings {
  registryConfig?: string;
  allow?: string[];
  plainHttp?: string[];
  cacheDir?: string;
  /** Most bytes of inventories the in-memory cache tier keeps (default 256 MiB). */
  cacheMemoryBytes?: number;
  /** Walk limits over the defaults (bytes, entries, layers per image). */
  limits?: Partial<WalkLimits>;
  credentials?: CredentialSource;
}

export class AnalyzerSettingsError extends Error {}

/** The registry client configuration the settings describe; AnalyzerSettingsError says what is wrong. */
export async function resolveRegistryClientConfig(settings: AnalyzerSettings): Promise<RegistryClientConfig> {
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
  return toRegistryClientConfig(merged.settings).catch((err: unknown) => {
    throw new AnalyzerSettingsError(err instanceof Error ? err.message : String(err));
  });
}

/** A registry client for the settings, with their address policy and default credentials. */
export async function createRegistryClient(settings: AnalyzerSettings): Promise<RegistryClient> {
  const config = await resolveRegistryClientConfig(settings);
  return new RegistryClient({
    config: { userAgent: `shipshape/${VERSION}`, ...config },
    ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
  });
}

/** An analyzer over `source` with the settings' inventory cache and walk limits. */
export function analyzerOver(source: ImageSource, settings: AnalyzerSettings): ImageAnalyzer {
  return new ImageAnalyzer({
    registry: source,
    cache: new TieredInventoryCache({
      ...(settings.cacheDir === undefined ? {} : { directory: settings.cacheDir }),
      ...(settings.cacheMemoryBytes === undefined ? {} : { maxMemoryBytes: settings.cacheMemoryBytes }),
    }),
    ...(settings.limits === undefined ? {} : { limits: settings.limits }),
  });
}

export async function createImageAnalyzer(
  settings: AnalyzerSettings,
): Promise<{ analyzer: ImageAnalyzer; client: RegistryClient }> {
  const client = await createRegistryClient(settings);
  return { analyzer: analyzerOver(client, settings), client };
}
