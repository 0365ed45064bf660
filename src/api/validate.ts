// Offline checks of an object against a CRD schema: types, enums, patterns,
// bounds, required fields and unknown fields, plus the schema defaults. It does
// not run CEL (only the API server does); it lets `shipshape audit --policy`
// and the tests catch structural mistakes without a cluster.
import type { JSONSchema } from './schema.js';

export interface SchemaViolation {
  /** The field, in the API server's notation: spec.rules.disabled[0]. */
  path: string;
  message: string;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

export function validateAgainstSchema(schema: JSONSchema, value: unknown, path = ''): SchemaViolation[] {
  const out: SchemaViolation[] = [];
  check(schema, value, path, out);
  return out;
}

function check(schema: JSONSchema, value: unknown, path: string, out: SchemaViolation[]): void {
  const at = path || '<root>';
  if (value === null || value === undefined) {
    if (!schema.nullable) out.push({ path: at, message: `${at}: must not be null` });
    return;
  }
  const actual = typeOf(value);
  if (schema.type && !(actual === schema.type || (schema.type === 'number' && actual === 'integer'))) {
    out.push({ path: at, message: `${at}: must be of type ${schema.type}, not ${actual}` });
    return;
  }
  if (schema.enum && !schema.enum.includes(value as string)) {
    out.push({
      path: at,
      message: `${at}: Unsupported value: ${JSON.stringify(value)}: supported values: ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`,
    });
  }
  if (typeof value === 'string') {
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      out.push({ path: at, message: `${at}: may not be longer than ${schema.maxLength}` });
    if (schema.minLength !== undefined && value.length < schema.minLength)
      out.push({ path: at, message: `${at}: should be at least ${schema.minLength} chars long` });
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value))
      out.push({ path: at, message: `${at}: should match '${schema.pattern}'` });
    if (schema.format === 'date-time' && !DATE_TIME.test(value))
      out.push({ path: at, message: `${at}: must be of type date-time: ${JSON.stringify(value)}` });
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      out.push({ path: at, message: `${at}: should be greater than or equal to ${schema.minimum}` });
    if (schema.maximum !== undefined && value > schema.maximum)
      out.push({ path: at, message: `${at}: should be less than or equal to ${schema.maximum}` });
  }
  if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      out.push({ path: at, message: `${at}: must have at most ${schema.maxItems} items` });
    if (schema.minItems !== undefined && value.length < schema.minItems)
      out.push({ path: at, message: `${at}: should have at least ${schema.minItems} items` });
    if (schema['x-kubernetes-list-type'] === 'set') {
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const key = JSON.stringify(item);
        if (seen.has(key))
          out.push({ path: `${path}[${i}]`, message: `${path}[${i}]: Duplicate value: ${key}` });
        seen.add(key);
      });
    }
    if (schema.items)
      value.forEach((item, i) => check(schema.items as JSONSchema, item, `${path}[${i}]`, out));
  }
  if (actual === 'object') {
    const record = value as Record<string, unknown>;
    for (const name of schema.required ?? []) {
      if (record[name] === undefined)
        out.push({ path: join(path, name), message: `${join(path, name)}: Required value` });
    }
    if (schema.maxProperties !== undefined && Object.keys(record).length > schema.maxProperties)
      out.push({ path: at, message: `${at}: must have at most ${schema.maxProperties} properties` });
    for (const [name, child] of Object.entries(record)) {
      const childSchema = schema.properties?.[name];
      if (childSchema) check(childSchema, child, join(path, name), out);
      else if (typeof schema.additionalProperties === 'object')
        check(schema.additionalProperties, child, join(path, name), out);
      else if (schema.properties && !schema['x-kubernetes-preserve-unknown-fields'])
        out.push({ path: join(path, name), message: `${join(path, name)}: unknown field "${name}"` });
    }
  }
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

/** A copy of `value` with schema defaults filled in, the way the API server defaults on write. */
export function applyDefaults<T>(schema: JSONSchema, value: T): T {
  return fill(schema, value) as T;
}

function fill(schema: JSONSchema, value: unknown): unknown {
  if (Array.isArray(value))
    return schema.items ? value.map((v) => fill(schema.items as JSONSchema, v)) : value;
  if (value === null || typeof value !== 'object') return value;
  const record: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    if (record[name] === undefined && child.default !== undefined)
      record[name] = structuredClone(child.default);
    if (record[name] !== undefined) record[name] = fill(child, record[name]);
  }
  return record;
}

/** What a status object's schemas refuse in it, as "path: message" lines the API server would print. */
export function statusObjectProblems(
  specSchema: JSONSchema,
  statusSchema: JSONSchema,
  object: { spec?: unknown; status?: unknown },
): string[] {
  return [
    ...validateAgainstSchema(specSchema, object.spec, 'spec'),
    ...validateAgainstSchema(statusSchema, object.status ?? {}, 'status'),
  ].map((v) => `${v.path}: ${v.message}`);
}
