// Builds an ImageAnalyzer from user-facing settings (a registry config file
// and --allow-registry / --plain-http flags), shared by `shipshape sbom` and
// the operator so both apply the same address policy.
import { VERSION } from '../version.js';
import type { CredentialSource } from '../registry/auth.js';
import { RegistryClient } from '../registry/client.js';
import { TieredInventoryCache } from '../sbom/cache.js';
import { ImageAnalyzer } from './image-analyzer.js';
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
