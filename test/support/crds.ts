// Installs Shipshape's CRDs (from the one schema source in src/api) into a
// cluster and waits until the API server serves them.
import { ApiextensionsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { crdManifests } from '../../src/api/crds.js';
import { eventually } from './wait.js';

export async function installCrds(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  for (const crd of crdManifests()) {
    const name = crd.metadata?.name ?? '';
    try {
      const existing = await api.readCustomResourceDefinition({ name });
      await api.replaceCustomResourceDefinition({
        name,
        body: { ...crd, metadata: { ...crd.metadata, resourceVersion: existing.metadata?.resourceVersion } },
      });
    } catch (error) {
      if ((error as { code?: number }).code !== 404) throw error;
      await api.createCustomResourceDefinition({ body: crd });
    }
    await eventually(`CRD ${name} to be Established`, async () => {
      const current = await api.readCustomResourceDefinition({ name });
      return current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    });
  }
}
