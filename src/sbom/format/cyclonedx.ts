// CycloneDX (1.5 / 1.6) JSON for an image inventory, written directly: the
// document is small and flat (one component per package, the image as the
// metadata component), so a builder library would add more than it saves.
import { randomUUID } from 'node:crypto';

import type { ImageInventory, InventoryPackage } from '../types.js';

export type CycloneDxSpecVersion = '1.5' | '1.6';

export interface CycloneDxOptions {
  specVersion?: CycloneDxSpecVersion;
  /** Image reference shown as the BOM's subject, e.g. "registry.local/app:1.0". */
  imageName: string;
  imageDigest?: string;
  toolVersion: string;
  /** Injected so output is reproducible in tests. */
  timestamp?: Date;
  serialNumber?: string;
}

export interface CycloneDxProperty {
  name: string;
  value: string;
}

export interface CycloneDxComponent {
  type: 'library' | 'operating-system' | 'container';
  'bom-ref': string;
  name: string;
  version?: string;
  group?: string;
  purl?: string;
  licenses?: Array<{ license: { name: string } }>;
  properties?: CycloneDxProperty[];
}

export interface CycloneDxBom {
  $schema: string;
  bomFormat: 'CycloneDX';
  specVersion: CycloneDxSpecVersion;
  serialNumber: string;
  version: 1;
  metadata: {
    timestamp: string;
    tools: { components: Array<{ type: 'application'; name: string; version: string }> };
    component: CycloneDxComponent;
  };
  components: CycloneDxComponent[];
  dependencies: Array<{ ref: string; dependsOn: string[] }>;
}

export function toCycloneDx(inventory: ImageInventory, options: CycloneDxOptions): CycloneDxBom {
  const spec = options.specVersion ?? '1.6';
  const imageRef = `image:${options.imageDigest ?? options.imageName}`;
  const subject: CycloneDxComponent = { type: 'container', 'bom-ref': imageRef, name: options.imageName };
  if (options.imageDigest !== undefined) subject.version = options.imageDigest;

  const components: CycloneDxComponent[] = [];
  if (inventory.os !== undefined) {
    const osComponent: CycloneDxComponent = {
      type: 'operating-system',
      'bom-ref': `os:${inventory.os.id}`,
      name: inventory.os.id,
    };
    if (inventory.os.versionId !== undefined) osComponent.version = inventory.os.versionId;
    components.push(osComponent);
  }
  // One component per purl; the same package found in several files lists every location.
  const byPurl = new Map<string, { component: CycloneDxComponent; locations: Set<string> }>();
  for (const pkg of inventory.packages) {
    const existing = byPurl.get(pkg.purl);
    if (existing !== undefined) {
      existing.locations.add(pkg.location);
      continue;
    }
    byPurl.set(pkg.purl, { component: componentOf(pkg), locations: new Set([pkg.location]) });
  }
  for (const { component, locations } of byPurl.values()) {
    component.properties = [
      ...[...locations].sort().map((value) => ({ name: 'shipshape:location', value })),
      ...(component.properties ?? []),
    ];
    components.push(component);
  }

  return {
    $schema: `http://cyclonedx.org/schema/bom-${spec}.schema.json`,
    bomFormat: 'CycloneDX',
    specVersion: spec,
    serialNumber: options.serialNumber ?? `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: (options.timestamp ?? new Date()).toISOString(),
      tools: { components: [{ type: 'application', name: 'shipshape', version: options.toolVersion }] },
      component: subject,
    },
    components,
    dependencies: [{ ref: imageRef, dependsOn: components.map((c) => c['bom-ref']) }],
  };
}

function componentOf(pkg: InventoryPackage): CycloneDxComponent {
  const component: CycloneDxComponent = {
    type: 'library',
    'bom-ref': pkg.purl,
    name: pkg.name,
    version: pkg.version,
    purl: pkg.purl,
  };
  if (pkg.license !== undefined) component.licenses = [{ license: { name: pkg.license } }];
  const properties: CycloneDxProperty[] = [
    { name: 'shipshape:ecosystem', value: pkg.ecosystem },
    { name: 'shipshape:layer', value: pkg.layerDigest },
  ];
  if (pkg.sourceName !== undefined)
    properties.push({ name: 'shipshape:source-package', value: pkg.sourceName });
  if (pkg.sourceVersion !== undefined) {
    properties.push({ name: 'shipshape:source-version', value: pkg.sourceVersion });
  }
  component.properties = properties;
  return component;
}
