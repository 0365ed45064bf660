// CycloneDX output: what the document says about an inventory, and that it is
// valid by the CycloneDX JSON schema shipped inside @cyclonedx/cyclonedx-library
// (strict validator, ajv), for each spec version `shipshape sbom` can write.
import assert from 'node:assert/strict';

import { Spec, Validation } from '@cyclonedx/cyclonedx-library';

import { serializeCycloneDx, toCycloneDx } from '../../../src/sbom/format/cyclonedx.js';
import type { CycloneDxBom, CycloneDxSpecVersion } from '../../../src/sbom/format/cyclonedx.js';
import type { ImageInventory, InventoryPackage } from '../../../src/sbom/types.js';

const LAYER = `sha256:${'a'.repeat(64)}`;
const DIGEST = `sha256:${'b'.repeat(64)}`;

function pkg(
  overrides: Partial<InventoryPackage> & Pick<InventoryPackage, 'name' | 'version' | 'purl'>,
): InventoryPackage {
  return { ecosystem: 'deb', location: '/var/lib/dpkg/status', layerDigest: LAYER, ...overrides };
}

const inventory: ImageInventory = {
  kind: 'ImageInventory',
  os: { id: 'debian', versionId: '12', source: '/etc/os-release' },
  packages: [
    pkg({
      name: 'libc6',
      version: '2.36-9+deb12u4',
      purl: 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12',
      sourceName: 'glibc',
      sourceVersion: '2.36-9+deb12u4',
      license: 'LGPL-2.1-or-later',
    }),
    pkg({
      name: 'requests',
      version: '2.31.0',
      ecosystem: 'pypi',
      purl: 'pkg:pypi/requests@2.31.0',
      location: '/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA',
      license: 'Apache 2.0',
    }),
    // The same package in a second place: one component, both locations.
    pkg({
      name: 'requests',
      version: '2.31.0',
      ecosystem: 'pypi',
      purl: 'pkg:pypi/requests@2.31.0',
      location: '/opt/venv/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA',
      license: 'Apache 2.0',
    }),
    pkg({
      name: '@babel/code-frame',
      version: '7.23.5',
      ecosystem: 'npm',
      purl: 'pkg:npm/%40babel/code-frame@7.23.5',
      location: '/srv/app/node_modules/@babel/code-frame/package.json',
    }),
  ],
  facts: {
    user: '10001',
    runsAsRoot: false,
    exposedPorts: [],
    secretEnvKeys: [],
    layerCount: 1,
    compressedBytes: 1,
    uncompressedBytes: 1,
    baseImage: { hints: [] },
  },
  layers: [{ digest: LAYER, uncompressedBytes: 1, entries: 3 }],
  analyzerVersion: 'test',
  warnings: [],
};

const options = {
  imageName: 'registry.local/team/app:1.0',
  imageDigest: DIGEST,
  toolVersion: '0.1.0',
  timestamp: new Date('2024-01-01T00:00:00Z'),
};

/** The document exactly as the CLI prints it, read back. */
function printed(inv: ImageInventory, opts: Parameters<typeof serializeCycloneDx>[1]): CycloneDxBom {
  return JSON.parse(serializeCycloneDx(inv, opts)) as CycloneDxBom;
}

async function schemaErrors(json: string, version: CycloneDxSpecVersion): Promise<unknown> {
  const spec = version === '1.5' ? Spec.Version.v1dot5 : Spec.Version.v1dot6;
  return new Validation.JsonStrictValidator(spec).validate(json);
}

describe('CycloneDX output', () => {
  it('names the image as the subject and the tool that wrote the BOM', () => {
    const bom = printed(inventory, options);
    assert.equal(bom.bomFormat, 'CycloneDX');
    assert.equal(bom.specVersion, '1.6');
    assert.equal(bom.$schema, 'http://cyclonedx.org/schema/bom-1.6.schema.json');
    assert.equal(bom.version, 1);
    assert.match(
      bom.serialNumber ?? '',
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    assert.equal(bom.metadata?.timestamp, '2024-01-01T00:00:00.000Z');
    assert.deepEqual(bom.metadata?.component, {
      type: 'container',
      'bom-ref': `image:${DIGEST}`,
      name: options.imageName,
      version: DIGEST,
    });
    assert.deepEqual(bom.metadata?.tools, {
      components: [{ type: 'application', name: 'shipshape', version: '0.1.0' }],
    });
  });

  it('lists the OS, then one component per purl with every location it was found at', () => {
    const bom = printed(inventory, options);
    const components = bom.components ?? [];
    assert.deepEqual(components[0], {
      type: 'operating-system',
      'bom-ref': 'os:debian',
      name: 'debian',
      version: '12',
    });
    assert.deepEqual(
      components.map((c) => c['bom-ref']),
      [
        'os:debian',
        inventory.packages[0]?.purl,
        'pkg:pypi/requests@2.31.0',
        'pkg:npm/%40babel/code-frame@7.23.5',
      ],
    );
    const requests = components.find((c) => c.name === 'requests');
    assert.deepEqual(requests, {
      type: 'library',
      name: 'requests',
      version: '2.31.0',
      'bom-ref': 'pkg:pypi/requests@2.31.0',
      purl: 'pkg:pypi/requests@2.31.0',
      licenses: [{ license: { name: 'Apache 2.0' } }],
      properties: [
        {
          name: 'shipshape:location',
          value: '/opt/venv/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA',
        },
        {
          name: 'shipshape:location',
          value: '/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA',
        },
        { name: 'shipshape:ecosystem', value: 'pypi' },
        { name: 'shipshape:layer', value: LAYER },
      ],
    });
    const libc = components.find((c) => c.name === 'libc6');
    assert.deepEqual(
      libc?.properties?.filter((p) => p.name?.startsWith('shipshape:source-')),
      [
        { name: 'shipshape:source-package', value: 'glibc' },
        { name: 'shipshape:source-version', value: '2.36-9+deb12u4' },
      ],
    );
  });

  it('states only that the image contains each component, not what each package depends on', () => {
    const bom = printed(inventory, options);
    assert.deepEqual(bom.dependencies, [
      {
        ref: `image:${DIGEST}`,
        dependsOn: (bom.components ?? []).map((c) => c['bom-ref']),
      },
    ]);
  });

  it('prints the same document as the JSON-ready object', () => {
    const timed = { ...options, serialNumber: 'urn:uuid:00000000-0000-4000-8000-000000000000' };
    assert.equal(
      serializeCycloneDx(inventory, timed),
      `${JSON.stringify(toCycloneDx(inventory, timed), null, 2)}\n`,
    );
  });

  for (const version of ['1.5', '1.6'] as const) {
    it(`is valid CycloneDX ${version} JSON by the library's schema`, async () => {
      const json = serializeCycloneDx(inventory, { ...options, specVersion: version });
      assert.equal((JSON.parse(json) as CycloneDxBom).specVersion, version);
      assert.equal(await schemaErrors(json, version), null);
    });

    it(`is valid CycloneDX ${version} JSON for an image without OS, digest or packages`, async () => {
      const empty: ImageInventory = { ...inventory, packages: [] };
      delete empty.os;
      const json = serializeCycloneDx(empty, { imageName: 'app', toolVersion: '0', specVersion: version });
      const bom = JSON.parse(json) as CycloneDxBom;
      assert.deepEqual(bom.components, []);
      assert.deepEqual(bom.metadata?.component, { type: 'container', 'bom-ref': 'image:app', name: 'app' });
      assert.equal(await schemaErrors(json, version), null);
    });
  }

  it('the schema check refuses a document with a broken field', async () => {
    // Proves the validator is live: the same document with one wrong enum value must fail.
    const bom = printed(inventory, options);
    const broken = { ...bom, components: [{ ...bom.components?.[0], type: 'not-a-component-type' }] };
    assert.notEqual(await schemaErrors(JSON.stringify(broken), '1.6'), null);
  });
});
