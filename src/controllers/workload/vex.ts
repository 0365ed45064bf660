// Where the workload reconciler gets the OpenVEX statements a policy names
// (spec.vulnerabilities.vex.configMapRef): the ConfigMap key read through the API
// server (briefly cached, the same reader as signature trust material) and parsed
// once per content, then merged into the image facts the rule engine reads (the
// workload reconciler and admission both). A missing or malformed document
// suppresses nothing and says why, so a broken VEX ConfigMap never hides a
// vulnerability.
import { LRUCache } from 'lru-cache';

import type { CompiledPolicy } from '../../policy/compile.js';
import {
  lookupImageFacts,
  type ImageFacts,
  type ImageFactsSource,
  type VexStatementFact,
} from '../../policy/image-facts.js';
import { vexSourceOf } from '../../policy/rules/vulnerabilities.js';
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

/**
 * The statements of the VEX ConfigMaps `policies` name, by source key (vexSourceKey); one that
 * cannot be used maps to none and is passed to `unusable`.
 */
export async function vexStatementsOf(
  source: VexSource,
  policies: readonly Pick<CompiledPolicy, 'spec' | 'namespace' | 'name'>[],
  unusable: (policy: Pick<CompiledPolicy, 'name'>, problem: string) => void = () => undefined,
): Promise<Map<string, readonly VexStatementFact[]>> {
  const out = new Map<string, readonly VexStatementFact[]>();
  for (const policy of policies) {
    const ref = vexSourceOf(policy.spec, policy.namespace);
    if (ref === undefined || out.has(ref.sourceKey)) continue;
    const read = await source.read(ref);
    if ('statements' in read) {
      out.set(ref.sourceKey, read.statements);
      continue;
    }
    out.set(ref.sourceKey, []);
    unusable(policy, read.problem);
  }
  return out;
}

/** Facts with the policies' VEX statements merged in, by source key. */
export function withVex(
  source: ImageFactsSource | undefined,
  statements: ReadonlyMap<string, readonly VexStatementFact[]>,
): ImageFactsSource | undefined {
  if (statements.size === 0 || source === undefined) return source;
  const vex = Object.fromEntries(statements);
  return (image: string): ImageFacts | undefined => {
    const base = lookupImageFacts(source, image);
    return base === undefined ? undefined : { ...base, vex };
  };
}
