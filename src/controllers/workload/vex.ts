// Where the workload reconciler gets the OpenVEX statements a policy names
// (spec.vulnerabilities.vex.configMapRef): the ConfigMap key read through the API
// server (briefly cached, the same reader as signature trust material) and parsed
// once per content. A missing or malformed document suppresses nothing and says
// why, so a broken VEX ConfigMap never hides a vulnerability.
import { LRUCache } from 'lru-cache';

import type { VexStatementFact } from '../../policy/image-facts.js';
import type { TrustMaterialSource } from '../../signature/types.js';
import { errorText } from '../../runtime/text.js';
import { parseOpenVex } from '../../vuln/vex.js';

export type VexReadResult =
  { readonly statements: readonly VexStatementFact[] } | { readonly problem: string };

export interface VexSource {
  read(ref: { namespace: string; name: string; key: string }): Promise<VexReadResult>;
}

export function vexFromTrustMaterial(material: TrustMaterialSource): VexSource {
  const parsed = new LRUCache<string, { text: string; result: VexReadResult }>({ max: 64 });
  return {
    async read(ref) {
      const where = `ConfigMap ${ref.namespace}/${ref.name} key ${ref.key}`;
      let text: string | undefined;
      try {
        text = await material.read({
          kind: 'ConfigMap',
          namespace: ref.namespace,
          name: ref.name,
          key: ref.key,
        });
      } catch (err) {
        return { problem: `${where} could not be read: ${errorText(err)}` };
      }
      if (text === undefined) return { problem: `${where} does not exist` };
      const id = `${ref.namespace}/${ref.name}/${ref.key}`;
      const hit = parsed.get(id);
      if (hit !== undefined && hit.text === text) return hit.result;
      const doc = parseOpenVex(text, where);
      const result: VexReadResult = doc.ok ? { statements: doc.statements } : { problem: doc.message };
      parsed.set(id, { text, result });
      return result;
    },
  };
}
