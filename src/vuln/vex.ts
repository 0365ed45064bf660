// OpenVEX documents (openvex.dev, spec v0.2.0, and the v0.0.x shapes where the
// vulnerability is a string and products are plain ids) reduced to the statements
// that can suppress a finding: which flaws (name and aliases), which products (an
// image by digest or pkg:oci purl, with package subcomponents, or a package purl),
// the status and its justification. Statements come out in time order (document
// order breaks ties), so the last one about a product wins, as the spec says.
// Hand-written: no maintained npm library parses OpenVEX, and the subset read
// here is a few fields. A document is a tenant's input: its size and statement
// count are bounded, and a malformed one is an error value, never a throw.

/** One statement, reduced to what suppresses a finding (the rule engine's VexStatementFact has this shape). */
export interface VexStatementFact {
  /** The vulnerability name and its aliases. */
  vulnerabilities: readonly string[];
  /** An image (digest or pkg:oci purl) with package subcomponents, or a package purl alone. */
  products: readonly { id: string; subcomponents: readonly string[] }[];
  status: 'not_affected' | 'fixed' | 'affected' | 'under_investigation';
  justification?: string;
  impactStatement?: string;
  /** Where the statement came from: the ConfigMap and key, and the document id. */
  source: string;
}

export const MAX_VEX_STATEMENTS = 10_000;
export const MAX_VEX_BYTES = 1024 * 1024;
const MAX_PRODUCTS_PER_STATEMENT = 256;
const MAX_IDS = 64;
const STATUSES = new Set(['not_affected', 'fixed', 'affected', 'under_investigation']);

export type VexParseResult =
  | { ok: true; statements: VexStatementFact[]; skipped: number }
  | { ok: false; reason: 'TooLarge' | 'NotJson' | 'NotOpenVex'; message: string };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v.slice(0, 1024) : undefined;

function idOf(v: unknown): string | undefined {
  if (typeof v === 'string') return text(v);
  if (isObject(v)) return text(v['@id']) ?? text(v.name);
  return undefined;
}

function vulnerabilityIds(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (!isObject(v)) return [];
  const ids = [text(v.name), text(v['@id'])].filter((x): x is string => x !== undefined);
  if (Array.isArray(v.aliases)) for (const a of v.aliases.slice(0, MAX_IDS)) if (text(a)) ids.push(text(a)!);
  return [...new Set(ids)];
}

function productsOf(v: unknown): VexStatementFact['products'] {
  if (!Array.isArray(v)) return [];
  const out: { id: string; subcomponents: string[] }[] = [];
  for (const p of v.slice(0, MAX_PRODUCTS_PER_STATEMENT)) {
    const id = idOf(p);
    if (id === undefined) continue;
    const subs =
      isObject(p) && Array.isArray(p.subcomponents)
        ? p.subcomponents
            .slice(0, MAX_PRODUCTS_PER_STATEMENT)
            .map(idOf)
            .filter((x): x is string => x !== undefined)
        : [];
    out.push({ id, subcomponents: subs });
  }
  return out;
}

/** The statements of one OpenVEX document; `source` names where it was read (ConfigMap ns/name/key). */
export function parseOpenVex(json: string, source: string): VexParseResult {
  if (json.length > MAX_VEX_BYTES)
    return {
      ok: false,
      reason: 'TooLarge',
      message: `${source} holds more than ${MAX_VEX_BYTES} bytes of VEX`,
    };
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    return { ok: false, reason: 'NotJson', message: `${source} is not JSON: ${(err as Error).message}` };
  }
  if (!isObject(doc) || !Array.isArray(doc.statements))
    return {
      ok: false,
      reason: 'NotOpenVex',
      message: `${source} is not an OpenVEX document (no statements array)`,
    };
  if (doc.statements.length > MAX_VEX_STATEMENTS)
    return {
      ok: false,
      reason: 'TooLarge',
      message: `${source} holds ${doc.statements.length} VEX statements, more than ${MAX_VEX_STATEMENTS}`,
    };
  const docTime = Date.parse(text(doc.timestamp) ?? '') || 0;
  const docId = text(doc['@id']);
  const timed: { at: number; order: number; statement: VexStatementFact }[] = [];
  let skipped = 0;
  doc.statements.forEach((s: unknown, order: number) => {
    const status = isObject(s) ? text(s.status) : undefined;
    const vulnerabilities = isObject(s) ? vulnerabilityIds(s.vulnerability) : [];
    const products = isObject(s) ? productsOf(s.products) : [];
    if (
      !isObject(s) ||
      status === undefined ||
      !STATUSES.has(status) ||
      vulnerabilities.length === 0 ||
      products.length === 0
    ) {
      skipped++;
      return;
    }
    const justification = text(s.justification);
    const impactStatement = text(s.impact_statement);
    const statement: VexStatementFact = {
      vulnerabilities,
      products,
      status: status as VexStatementFact['status'],
      ...(justification === undefined ? {} : { justification }),
      ...(impactStatement === undefined ? {} : { impactStatement: impactStatement.slice(0, 256) }),
      source: docId === undefined ? source : `${source} (${docId.slice(0, 128)})`,
    };
    timed.push({ at: Date.parse(text(s.timestamp) ?? '') || docTime, order, statement });
  });
  timed.sort((a, b) => a.at - b.at || a.order - b.order);
  return { ok: true, statements: timed.map((t) => t.statement), skipped };
}
