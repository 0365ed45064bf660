// The CRDs on a real API server: they install and become Established, every
// bad policy under test/fixtures/bad-policies is refused with a 422 naming the
// field, the server fills in schema defaults, and every sample applies cleanly.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  type KubernetesObject,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { crdManifests } from '../../src/api/crds.js';

const ROOT = join(import.meta.dirname, '../../..');
const EXPECT_ANNOTATION = 'shipshape.dev/expect-error';

type Manifest = KubernetesObject & { spec?: Record<string, unknown> };

function manifestsIn(dir: string): { file: string; object: Manifest }[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), 'utf8'))
        .map((d) => d.toJS() as Manifest | null)
        .filter((o): o is Manifest => o !== null && o.kind !== 'Kustomization')
        .map((object) => ({ file, object })),
    );
}

function statusMessage(err: unknown): { code: number; message: string } {
  if (!(err instanceof ApiException)) throw err;
  const body: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
  return { code: err.code, message: (body as { message?: string }).message ?? String(err.body) };
}

async function installCrd(api: ApiextensionsV1Api, crd: V1CustomResourceDefinition): Promise<void> {
  const name = crd.metadata!.name!;
  try {
    const current = await api.readCustomResourceDefinition({ name });
    await api.replaceCustomResourceDefinition({
      name,
      body: { ...crd, metadata: { ...crd.metadata, resourceVersion: current.metadata?.resourceVersion } },
    });
  } catch (err) {
    if (!(err instanceof ApiException) || err.code !== 404) throw err;
    await api.createCustomResourceDefinition({ body: crd });
  }
}

async function waitEstablished(api: ApiextensionsV1Api, name: string): Promise<V1CustomResourceDefinition> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const crd = await api.readCustomResourceDefinition({ name });
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return crd;
    if (Date.now() > deadline)
      throw new Error(`CRD ${name} not Established: ${JSON.stringify(crd.status?.conditions)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('shipshape.dev CRDs on the API server', function () {
  this.timeout(180_000);
  const kc = new KubeConfig();
  let extensions: ApiextensionsV1Api;
  let objects: KubernetesObjectApi;

  before(async () => {
    kc.loadFromDefault();
    extensions = kc.makeApiClient(ApiextensionsV1Api);
    objects = KubernetesObjectApi.makeApiClient(kc);
    for (const crd of crdManifests()) await installCrd(extensions, crd);
    for (const crd of crdManifests()) {
      const installed = await waitEstablished(extensions, crd.metadata!.name!);
      assert.ok(
        !installed.status?.conditions?.some((c) => c.type === 'NonStructuralSchema' && c.status === 'True'),
        `${crd.metadata!.name} has a structural schema`,
      );
    }
    // Discovery can lag Established by a moment; wait until a dry-run create is routed.
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await objects.create(probePolicy(), undefined, 'All');
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  });

  function probePolicy(): Manifest {
    return {
      apiVersion: 'shipshape.dev/v1alpha1',
      kind: 'SecurityPolicy',
      metadata: { name: 'defaults-probe', namespace: 'default' },
      spec: {},
    };
  }

  it('installs all four CRDs', async () => {
    const names = (await extensions.listCustomResourceDefinition()).items.map((c) => c.metadata?.name);
    for (const crd of crdManifests()) assert.ok(names.includes(crd.metadata!.name), crd.metadata!.name);
  });

  it('fills in schema defaults on write', async () => {
    const created = (await objects.create(probePolicy(), undefined, 'All')) as Manifest;
    const spec = created.spec as Record<string, Record<string, unknown>>;
    assert.equal(spec.enforcement, 'Audit');
    assert.deepEqual(spec.rescan, { schedule: '0 */6 * * *' });
    assert.deepEqual((spec.rules!.resources as Record<string, unknown>).requests, ['cpu', 'memory']);
  });

  const bad = manifestsIn(join(ROOT, 'test/fixtures/bad-policies'));

  it('has at least 15 bad policies, each naming the field it expects in the error', () => {
    assert.ok(bad.length >= 15, `${bad.length} bad policies`);
    for (const { file, object } of bad) assert.ok(object.metadata?.annotations?.[EXPECT_ANNOTATION], file);
  });

  for (const { file, object } of bad) {
    const expected = object.metadata?.annotations?.[EXPECT_ANNOTATION] ?? '';
    it(`refuses ${file} naming ${expected}`, async () => {
      let refusal: { code: number; message: string } | undefined;
      try {
        await objects.create(object, undefined, 'All');
      } catch (err) {
        refusal = statusMessage(err);
      }
      assert.ok(refusal, `${file} was accepted`);
      assert.equal(refusal.code, 422, refusal.message);
      assert.ok(refusal.message.includes(expected), `expected "${expected}" in: ${refusal.message}`);
    });
  }

  for (const { file, object } of manifestsIn(join(ROOT, 'config/samples'))) {
    it(`applies the sample ${object.kind} ${object.metadata?.name} from ${file}`, async () => {
      try {
        await objects.create(object, undefined, 'All');
      } catch (err) {
        const { code, message } = statusMessage(err);
        assert.fail(`${file} refused (${code}): ${message}`);
      }
    });
  }
});
