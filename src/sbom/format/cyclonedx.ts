// CycloneDX (1.5 / 1.6) JSON for an image inventory: the image is the BOM's
// subject (metadata component), the OS and every package are components. The
// document is built as a @cyclonedx/cyclonedx-library model and normalised by
// the library for the requested spec version, so field names, enum values and
// per-version differences come from the library instead of from here.
import { randomUUID } from 'node:crypto';

import { Enums, Models, Serialize, Spec } from '@cyclonedx/cyclonedx-library';

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

/** The BOM as a JSON-ready object (undefined fields are dropped by JSON.stringify). */
export type CycloneDxBom = Serialize.JSON.Types.Normalized.Bom;

const SPECS: Record<CycloneDxSpecVersion, typeof Spec.Spec1dot6> = {
  '1.5': Spec.Spec1dot5,
  '1.6': Spec.Spec1dot6,
};

/** The inventory as a CycloneDX library model, for callers that serialise it themselves. */
export function cycloneDxModelOf(inventory: ImageInventory, options: CycloneDxOptions): Models.Bom {
  const subject = new Models.Component(Enums.ComponentType.Container, options.imageName, {
    bomRef: `image:${options.imageDigest ?? options.imageName}`,
    ...(options.imageDigest === undefined ? {} : { version: options.imageDigest }),
  });
  const bom = new Models.Bom({
    serialNumber: options.serialNumber ?? `urn:uuid:${randomUUID()}`,
    metadata: new Models.Metadata({
      timestamp: options.timestamp ?? new Date(),
      tools: new Models.Tools({
        components: new Models.ComponentRepository([
          new Models.Component(Enums.ComponentType.Application, 'shipshape', {
            version: options.toolVersion,
          }),
        ]),
      }),
      component: subject,
    }),
  });

  if (inventory.os !== undefined) {
    bom.components.add(
      new Models.Component(Enums.ComponentType.OperatingSystem, inventory.os.id, {
        bomRef: `os:${inventory.os.id}`,
        ...(inventory.os.versionId === undefined ? {} : { version: inventory.os.versionId }),
      }),
    );
  }
  // One component per purl; the same package found in several files lists every location.
  const byPurl = new Map<string, { first: InventoryPackage; locations: Set<string> }>();
  for (const pkg of inventory.packages) {
    const seen = byPurl.get(pkg.purl);
    if (seen === undefined) byPurl.set(pkg.purl, { first: pkg, locations: new Set([pkg.location]) });
    else seen.locations.add(pkg.location);
  }
  for (const { first, locations } of byPurl.values()) bom.components.add(componentOf(first, locations));

  for (const component of bom.components) subject.dependencies.add(component.bomRef);
  return bom;
}

export function toCycloneDx(inventory: ImageInventory, options: CycloneDxOptions): CycloneDxBom {
  const spec = SPECS[options.specVersion ?? '1.6'];
  const normalized = new Serialize.JSON.Normalize.Factory(spec)
    .makeForBom()
    .normalize(cycloneDxModelOf(inventory, options), { sortLists: false });
  // The library lists every component in the dependency graph, those without
  // dependencies with none, which CycloneDX reads as "has no dependencies". We
  // only know that the image contains each package, not what each package
  // needs, so only the subject's edge is stated and the rest stay unknown.
  const subjectRef = normalized.metadata?.component?.['bom-ref'];
  if (normalized.dependencies !== undefined) {
    normalized.dependencies = normalized.dependencies.filter((d) => d.ref === subjectRef);
  }
  return normalized;
}

/** The BOM as the JSON text `shipshape sbom --format cyclonedx` prints. */
export function serializeCycloneDx(inventory: ImageInventory, options: CycloneDxOptions): string {
  return `${JSON.stringify(toCycloneDx(inventory, options), null, 2)}\n`;
}

function componentOf(pkg: InventoryPackage, locations: Set<string>): Models.Component {
  const properties = new Models.PropertyRepository([
    ...[...locations].sort().map((location) => new Models.Property('shipshape:location', location)),
    new Models.Property('shipshape:ecosystem', pkg.ecosystem),
    new Models.Property('shipshape:layer', pkg.layerDigest),
  ]);
  if (pkg.sourceName !== undefined)
    properties.add(new Models.Property('shipshape:source-package', pkg.sourceName));
  if (pkg.sourceVersion !== undefined) {
    properties.add(new Models.Property('shipshape:source-version', pkg.sourceVersion));
  }
  return new Models.Component(Enums.ComponentType.Library, pkg.name, {
    bomRef: pkg.purl,
    version: pkg.version,
    purl: pkg.purl,
    properties,
    ...(pkg.license === undefined
      ? {}
      : { licenses: new Models.LicenseRepository([new Models.NamedLicense(pkg.license)]) }),
  });
}
