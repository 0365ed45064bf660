// OpenAPI v3 structural schema objects, written as TypeScript data in the wire
// form that CRD manifests carry, and small builders that keep every field
// described and bounded (the API server needs bounds to cost CEL rules).

export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

/** One `x-kubernetes-validations` entry: a CEL rule and the message naming the field it refuses. */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

export interface JSONSchema {
  type?: SchemaType;
  description?: string;
  properties?: Record<string, JSONSchema>;
  required?: string[];
  items?: JSONSchema;
  additionalProperties?: JSONSchema | boolean;
  enum?: (string | number | boolean)[];
  default?: unknown;
  pattern?: string;
  format?: 'date-time' | 'int64' | 'int32';
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  minimum?: number;
  maximum?: number;
  nullable?: boolean;
  'x-kubernetes-validations'?: ValidationRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
}

type Extra = Omit<JSONSchema, 'type' | 'description' | 'properties' | 'items'>;

export function str(description: string, extra: Extra = {}): JSONSchema {
  return { type: 'string', description, maxLength: 256, ...extra };
}

export function enumStr(description: string, values: readonly string[], extra: Extra = {}): JSONSchema {
  return { type: 'string', description, enum: [...values], ...extra };
}

export function bool(description: string, defaultValue?: boolean): JSONSchema {
  return defaultValue === undefined
    ? { type: 'boolean', description }
    : { type: 'boolean', description, default: defaultValue };
}

export function int(description: string, extra: Extra = {}): JSONSchema {
  return { type: 'integer', description, format: 'int64', ...extra };
}

export function obj(
  description: string,
  properties: Record<string, JSONSchema>,
  extra: Extra = {},
): JSONSchema {
  return { type: 'object', description, properties, ...extra };
}

export function arr(description: string, items: JSONSchema, maxItems: number, extra: Extra = {}): JSONSchema {
  return { type: 'array', description, items, maxItems, ...extra };
}

/** A list of distinct strings (`x-kubernetes-list-type: set` refuses duplicates). */
export function stringSet(
  description: string,
  item: JSONSchema,
  maxItems: number,
  extra: Extra = {},
): JSONSchema {
  return arr(description, item, maxItems, { 'x-kubernetes-list-type': 'set', ...extra });
}

export function stringMap(description: string, maxProperties: number, value: JSONSchema): JSONSchema {
  return { type: 'object', description, additionalProperties: value, maxProperties };
}

export function cel(
  rule: string,
  message: string,
  extra: Omit<ValidationRule, 'rule' | 'message'> = {},
): ValidationRule {
  return { rule, message, ...extra };
}

/** RFC 3339 timestamp, as Kubernetes stores them. */
export function timestamp(description: string, extra: Extra = {}): JSONSchema {
  return { type: 'string', description, format: 'date-time', ...extra };
}
