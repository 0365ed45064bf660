// The four CRDs of shipshape.dev/v1alpha1, built from the schemas in this
// folder. `crdDocuments()` gives them in wire form (what crds/*.yaml holds);
// `crdManifests()` gives them as @kubernetes/client-node models for installing.
import type { V1CustomResourceDefinition, V1JSONSchemaProps } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION } from './policy-types.js';
import { policySpecSchema, policyStatusSchema } from './policy-schema.js';
import {
  imageReportSpecSchema,
  imageReportStatusSchema,
  securityReportSpecSchema,
  securityReportStatusSchema,
} from './report-schema.js';
import type { JSONSchema } from './schema.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'date' | 'number';
  jsonPath: string;
  description: string;
  priority?: number;
}

/** A CRD in wire form, as kubectl reads it from YAML. */
export interface CrdDocument {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    scope: 'Namespaced' | 'Cluster';
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: JSONSchema };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
    }[];
  };
}

interface KindDefinition {
  kind: string;
  plural: string;
  shortNames: string[];
  scope: 'Namespaced' | 'Cluster';
  description: string;
  spec: JSONSchema;
  status: JSONSchema;
  columns: PrinterColumn[];
}

const age: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since the object was created.',
};

const policyColumns: PrinterColumn[] = [
  {
    name: 'Enforcement',
    type: 'string',
    jsonPath: '.spec.enforcement',
    description: 'Audit, Warn or Enforce.',
  },
  {
    name: 'Level',
    type: 'string',
    jsonPath: '.spec.podSecurity.level',
    description: 'Pod Security Standards level.',
  },
  {
    name: 'Ready',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    description: 'Whether the operator accepted the policy.',
  },
  {
    name: 'Matched',
    type: 'integer',
    jsonPath: '.status.summary.workloadsMatched',
    description: 'Workloads the policy applies to.',
  },
  {
    name: 'Violations',
    type: 'integer',
    jsonPath: '.status.summary.violations',
    description: 'Findings across those workloads.',
  },
  age,
];

const count = (name: string, path: string): PrinterColumn => ({
  name,
  type: 'integer',
  jsonPath: path,
  description: `${name} findings.`,
});

const KINDS: KindDefinition[] = [
  {
    kind: 'SecurityPolicy',
    plural: 'securitypolicies',
    shortNames: ['secpol'],
    scope: 'Namespaced',
    description:
      'SecurityPolicy states the container security practice that workloads in its namespace must follow, and what happens when they do not.',
    spec: policySpecSchema(false),
    status: policyStatusSchema,
    columns: policyColumns,
  },
  {
    kind: 'ClusterSecurityPolicy',
    plural: 'clustersecuritypolicies',
    shortNames: ['csecpol'],
    scope: 'Cluster',
    description:
      'ClusterSecurityPolicy is a SecurityPolicy for the whole cluster, narrowed by a namespace selector and excluded namespaces.',
    spec: policySpecSchema(true),
    status: policyStatusSchema,
    columns: policyColumns,
  },
  {
    kind: 'SecurityReport',
    plural: 'securityreports',
    shortNames: ['secrep'],
    scope: 'Namespaced',
    description:
      'SecurityReport holds the findings of every policy that applies to one workload. Written by the operator.',
    spec: securityReportSpecSchema,
    status: securityReportStatusSchema,
    columns: [
      { name: 'Kind', type: 'string', jsonPath: '.spec.subject.kind', description: 'The workload kind.' },
      { name: 'Workload', type: 'string', jsonPath: '.spec.subject.name', description: 'The workload name.' },
      {
        name: 'Compliant',
        type: 'boolean',
        jsonPath: '.status.compliant',
        description: 'True when no policy reported a finding.',
      },
      {
        name: 'Signed',
        type: 'string',
        jsonPath: '.status.signed',
        description: 'The worst signature verdict of the images a policy requires to be signed.',
      },
      count('Critical', '.status.summary.critical'),
      count('High', '.status.summary.high'),
      count('Medium', '.status.summary.medium'),
      count('Low', '.status.summary.low'),
      { ...count('Info', '.status.summary.info'), priority: 1 },
      age,
    ],
  },
  {
    kind: 'ImageReport',
    plural: 'imagereports',
    shortNames: ['imgrep'],
    scope: 'Cluster',
    description:
      'ImageReport holds what the operator knows about one image digest: OS, packages, vulnerabilities and signatures. Written by the operator.',
    spec: imageReportSpecSchema,
    status: imageReportStatusSchema,
    columns: [
      {
        name: 'Image',
        type: 'string',
        jsonPath: '.spec.references[0]',
        description: 'A reference seen for the image.',
      },
      { name: 'OS', type: 'string', jsonPath: '.status.os.name', description: 'Operating system.' },
      { name: 'Packages', type: 'integer', jsonPath: '.status.packageCount', description: 'Packages found.' },
      { ...count('Critical', '.status.vulnerabilities.critical'), description: 'Critical vulnerabilities.' },
      { ...count('High', '.status.vulnerabilities.high'), description: 'High vulnerabilities.' },
      { name: 'Digest', type: 'string', jsonPath: '.spec.digest', description: 'Image digest.', priority: 1 },
      {
        name: 'Scanned',
        type: 'date',
        jsonPath: '.status.scannedAt',
        description: 'Time since the last scan.',
      },
    ],
  },
];

function crdDocument(def: KindDefinition): CrdDocument {
  const plural = def.plural;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${API_GROUP}`, labels: { 'app.kubernetes.io/part-of': 'shipshape' } },
    spec: {
      group: API_GROUP,
      scope: def.scope,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural,
        singular: def.kind.toLowerCase(),
        shortNames: def.shortNames,
        categories: ['shipshape'],
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: def.description,
              properties: {
                apiVersion: {
                  type: 'string',
                  description: 'APIVersion defines the versioned schema of this representation of an object.',
                },
                kind: {
                  type: 'string',
                  description: 'Kind is a string value representing the REST resource.',
                },
                metadata: { type: 'object' },
                spec: def.spec,
                status: def.status,
              },
              required: ['spec'],
            },
          },
          subresources: { status: {} },
          additionalPrinterColumns: def.columns,
        },
      ],
    },
  };
}

/** The CRDs in wire form, in a stable order. */
export function crdDocuments(): CrdDocument[] {
  return KINDS.map(crdDocument);
}

/** The file name under crds/ for a CRD: `<group>_<plural>.yaml`, as controller-gen names them. */
export function crdFileName(doc: CrdDocument): string {
  return `${API_GROUP}_${doc.spec.names.plural}.yaml`;
}

const WIRE_TO_MODEL: Record<string, string> = {
  default: '_default',
  enum: '_enum',
  $ref: 'ref',
  $schema: 'schema',
  'x-kubernetes-validations': 'x_kubernetes_validations',
  'x-kubernetes-list-type': 'x_kubernetes_list_type',
  'x-kubernetes-list-map-keys': 'x_kubernetes_list_map_keys',
  'x-kubernetes-map-type': 'x_kubernetes_map_type',
  'x-kubernetes-preserve-unknown-fields': 'x_kubernetes_preserve_unknown_fields',
  'x-kubernetes-int-or-string': 'x_kubernetes_int_or_string',
  'x-kubernetes-embedded-resource': 'x_kubernetes_embedded_resource',
};

/** Renames wire keys to the client's model names; the client's serializer renames them back. */
export function schemaToModel(schema: JSONSchema): V1JSONSchemaProps {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    const name = WIRE_TO_MODEL[key] ?? key;
    if (key === 'properties' && value !== undefined) {
      const props: Record<string, V1JSONSchemaProps> = {};
      for (const [p, s] of Object.entries(value as Record<string, JSONSchema>)) props[p] = schemaToModel(s);
      out[name] = props;
    } else {
      // items and additionalProperties are typed `any` in the client, so its
      // serializer sends them verbatim: they stay in wire form.
      out[name] = value;
    }
  }
  return out as V1JSONSchemaProps;
}

/** The CRDs as client models, ready for ApiextensionsV1Api.createCustomResourceDefinition. */
export function crdManifests(): V1CustomResourceDefinition[] {
  return crdDocuments().map((doc) => ({
    ...doc,
    spec: {
      ...doc.spec,
      versions: doc.spec.versions.map((v) => ({
        ...v,
        schema: { openAPIV3Schema: schemaToModel(v.schema.openAPIV3Schema) },
      })),
    },
  }));
}
