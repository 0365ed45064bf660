// Test namespaces that are ready for pods: the ServiceAccount admission
// plugin refuses pods until the controller-manager has made "default".
import type { CoreV1Api } from '@kubernetes/client-node';
import { eventually } from './wait.js';

export async function createReadyNamespace(core: CoreV1Api, name: string): Promise<void> {
  await core.createNamespace({ body: { metadata: { name } } }).catch((e: { code?: number }) => {
    if (e.code !== 409) throw e;
  });
  await eventually(`the default ServiceAccount in ${name}`, async () =>
    core.readNamespacedServiceAccount({ namespace: name, name: 'default' }).then(
      () => true,
      () => false,
    ),
  );
}
