// The environment the shipped manifest gives the operator container (config/manager:
// V8 heap and young-generation sizes in NODE_OPTIONS, malloc arenas), so benchmarks
// measure the operator as it is deployed rather than with Node's host-sized defaults.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

interface EnvVar {
  name: string;
  value?: string;
}

/** The manager container's literal env values (valueFrom entries are the cluster's to fill). */
export function shippedOperatorEnv(root = process.cwd()): Record<string, string> {
  const text = readFileSync(join(root, 'config', 'manager', 'manager.yaml'), 'utf8');
  for (const doc of parseAllDocuments(text)) {
    const object = doc.toJS() as {
      kind?: string;
      spec?: { template?: { spec?: { containers?: { name: string; env?: EnvVar[] }[] } } };
    } | null;
    if (object?.kind !== 'Deployment') continue;
    const manager = object.spec?.template?.spec?.containers?.find((c) => c.name === 'manager');
    if (manager === undefined) continue;
    return Object.fromEntries(
      (manager.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value] as const])),
    );
  }
  throw new Error('config/manager/manager.yaml has no Deployment with a manager container');
}
