// Interop with the real cosign: images signed by cosign v2 (classic `.sig` layout) and cosign v3
// (sigstore bundle as an OCI referrer) are verified by src/signature through Shipshape's own
// registry client, against two real registries: CNCF distribution (no referrers API: cosign v3
// writes the `sha256-<hex>` referrers tag) and go-containerregistry's registry with the referrers
// API on. Tampered artifacts are made by rewriting what cosign pushed, over the distribution API.
// Everything is loopback; cosign gets a private HOME and TUF_ROOT and a dead proxy for anything
// that is not 127.0.0.1, keyed signing and no transparency log, so it cannot reach the internet.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { RegistryClient } from '../../src/registry/client.js';
import { SignatureVerifier, type SignatureRule, type SignatureVerdict } from '../../src/signature/index.js';
import { binDir, toolPath } from '../cluster/local-cluster.js';
import { pushBlob, pushImage, pushManifest, sha256 } from '../support/oci-push.js';
import { startReferrersRegistry } from '../support/referrers-registry.js';
import { tar } from '../support/tar.js';
import { startStandaloneRegistry } from './harness.js';

const run = promisify(execFile);
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const SLSA_V1 = 'https://slsa.dev/provenance/v1';
const PROVENANCE = {
  buildDefinition: {
    buildType: 'https://ci.example.test/build/v1',
    externalParameters: { source: 'git+https://git.example.test/team/app@refs/heads/main' },
  },
  runDetails: { builder: { id: 'https://ci.example.test/builder' } },
};
const TOOLS = ['cosign-v2', 'cosign-v3', 'registry', 'referrers-registry'];

interface Image {
  digest: string;
  size: number;
  mediaType: string;
}

let work: string;
let env: NodeJS.ProcessEnv;

async function cosign(version: 'v2' | 'v3', args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(toolPath(`cosign-${version}`), args, {
      env,
      cwd: work,
      timeout: 60_000,
    });
    const output = stdout + stderr;
    // The dead proxy turns any outbound attempt into this error; a mode that tries is a test bug.
    if (/proxyconnect|tuf refresh failed/i.test(output)) {
      throw new Error(`cosign ${version} ${args[0] ?? ''} tried to reach a non-loopback address: ${output}`);
    }
    return output;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`cosign ${version} ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
}

/**
 * Keyed signing, no log, loopback plain-HTTP registry: the only mode that needs no network. cosign v3
 * would otherwise fetch a signing config over TUF; --use-signing-config=false keeps it offline.
 */
function signArgs(version: 'v2' | 'v3', key: string, ref: string): string[] {
  return [
    'sign',
    '--key',
    key,
    '--tlog-upload=false',
    ...(version === 'v3' ? ['--use-signing-config=false'] : []),
    '--allow-http-registry',
    '--allow-insecure-registry',
    '-y',
    ref,
  ];
}

async function getJson(
  host: string,
  repo: string,
  reference: string,
  accept: string,
): Promise<{ bytes: Buffer; doc: Record<string, unknown> }> {
  const response = await fetch(`http://${host}/v2/${repo}/manifests/${reference}`, {
    headers: { Accept: accept },
  });
  assert.equal(response.status, 200, `GET manifest ${reference}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  return { bytes, doc: JSON.parse(bytes.toString()) as Record<string, unknown> };
}

async function getBlob(host: string, repo: string, digest: string): Promise<Buffer> {
  const response = await fetch(`http://${host}/v2/${repo}/blobs/${digest}`);
  assert.equal(response.status, 200, `GET blob ${digest}`);
  return Buffer.from(await response.arrayBuffer());
}

type Layer = { mediaType: string; digest: string; size: number; annotations?: Record<string, string> };

for (const flavour of [
  'distribution (referrers tag fallback)',
  'go-containerregistry (referrers API)',
] as const) {
  const api = flavour.includes('API');

  describe(`signatures made by the real cosign, on ${flavour}`, function () {
    this.timeout(180_000);
    let host: string;
    let stop: (() => Promise<void>) | undefined;
    let client: RegistryClient;
    let requests = 0;
    const images: Record<string, Image> = {};
    let rule: SignatureRule;

    const verify = async (name: string, verifier?: SignatureVerifier): Promise<SignatureVerdict> => {
      const image = images[name];
      assert.ok(image, name);
      return (verifier ?? new SignatureVerifier({ registry: client })).verify(
        { registry: host, repository: `sig/${name}` },
        image.digest,
        rule,
      );
    };

    before(async function () {
      const missing = TOOLS.filter((t) => !existsSync(join(binDir(), t)));
      if (missing.length > 0) {
        console.log(
          `    skipped: ${missing.join(', ')} not built (hack/build-tools.sh ${missing.join(' ')})`,
        );
        this.skip();
      }
      work = mkdtempSync(join(tmpdir(), 'shipshape-cosign-'));
      mkdirSync(join(work, 'home'));
      env = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: join(work, 'home'),
        DOCKER_CONFIG: join(work, 'home', '.docker'),
        TUF_ROOT: join(work, 'home', 'tuf'),
        COSIGN_PASSWORD: 'e2e-test-password',
        // Nothing but loopback is ever dialled: any other destination goes to a closed local port.
        HTTPS_PROXY: 'http://127.0.0.1:9',
        HTTP_PROXY: 'http://127.0.0.1:9',
        NO_PROXY: '127.0.0.1',
      };
      if (api) {
        const registry = await startReferrersRegistry();
        host = registry.host;
        stop = registry.stop;
      } else {
        const registry = await startStandaloneRegistry();
        host = registry.host;
        stop = registry.stop;
      }
      client = new RegistryClient({
        config: {
          policy: { allow: ['127.0.0.1:*'] },
          hosts: { [host]: { plainHttp: true } },
          retry: { maxAttempts: 1 },
        },
        logger: { debug: (message) => void (message === 'registry request' && requests++) },
      });
      await cosign('v2', ['generate-key-pair', '--output-key-prefix', 'team']);
      await cosign('v2', ['generate-key-pair', '--output-key-prefix', 'stranger']);
      rule = {
        attestors: [
          {
            kind: 'key',
            name: 'team',
            publicKey: readFileSync(join(work, 'team.pub'), 'utf8'),
            transparencyLog: { threshold: 0 },
          },
        ],
      };

      for (const name of [
        'v2',
        'v3',
        'v2-stranger',
        'v3-stranger',
        'unsigned',
        'v2-elsewhere',
        'v2-sig-tampered',
        'v2-payload-tampered',
        'v3-source',
        'v3-subject',
        'v3-attested',
      ]) {
        const pushed = await pushImage(host, `sig/${name}`, 'v1', [
          tar([{ path: 'name', content: `${name}\n` }]),
        ]);
        images[name] = { digest: pushed.digest, size: pushed.manifest.length, mediaType: OCI_MANIFEST };
      }
      const ref = (name: string): string => `${host}/sig/${name}@${images[name]?.digest ?? ''}`;
      await cosign('v2', signArgs('v2', 'team.key', ref('v2')));
      await cosign('v3', signArgs('v3', 'team.key', ref('v3')));
      await cosign('v2', signArgs('v2', 'stranger.key', ref('v2-stranger')));
      await cosign('v3', signArgs('v3', 'stranger.key', ref('v3-stranger')));
      for (const name of ['v2-elsewhere', 'v2-sig-tampered', 'v2-payload-tampered'])
        await cosign('v2', signArgs('v2', 'team.key', ref(name)));
      await cosign('v3', signArgs('v3', 'team.key', ref('v3-source')));
      await cosign('v3', signArgs('v3', 'team.key', ref('v3-attested')));
      // attest has no --tlog-upload: a signing config without services, and a local (empty) trusted
      // root so that cosign does not look for one over TUF.
      writeFileSync(
        join(work, 'signing-config.json'),
        JSON.stringify({
          mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
          caUrls: [],
          oidcUrls: [],
          rekorTlogUrls: [],
          tsaUrls: [],
          rekorTlogConfig: { selector: 'ANY' },
          tsaConfig: { selector: 'ANY' },
        }),
      );
      writeFileSync(
        join(work, 'trusted-root.json'),
        JSON.stringify({
          mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
          tlogs: [],
          certificateAuthorities: [],
          ctlogs: [],
          timestampAuthorities: [],
        }),
      );
      writeFileSync(join(work, 'provenance.json'), JSON.stringify(PROVENANCE));
      await cosign('v3', [
        'attest',
        '--key',
        'team.key',
        '--signing-config',
        'signing-config.json',
        '--trusted-root',
        'trusted-root.json',
        '--type',
        'slsaprovenance1',
        '--predicate',
        'provenance.json',
        '--allow-http-registry',
        '--allow-insecure-registry',
        '-y',
        ref('v3-attested'),
      ]);
    });

    after(async () => {
      client?.close();
      await stop?.();
      if (work !== undefined && existsSync(work)) rmSync(work, { recursive: true, force: true });
    });

    it('verifies an image signed by cosign v2 (classic .sig layout)', async () => {
      const v = await verify('v2');
      assert.deepEqual(v, { status: 'Verified', attestors: ['team'], message: 'signed by team' });
    });

    it(`verifies an image signed by cosign v3 (bundle found through the ${api ? 'referrers API' : 'referrers tag'})`, async () => {
      const tags = (await (await fetch(`http://${host}/v2/sig/v3/tags/list`)).json()) as { tags: string[] };
      // cosign v3 writes the fallback tag only where the registry lacks the API.
      assert.equal(
        tags.tags.includes(images['v3']?.digest.replace(':', '-') ?? ''),
        !api,
        JSON.stringify(tags),
      );
      const v = await verify('v3');
      assert.deepEqual(v, { status: 'Verified', attestors: ['team'], message: 'signed by team' });
    });

    it('needs at most 3 registry requests to verify an image cold, and none when cached', async () => {
      const verifier = new SignatureVerifier({ registry: client });
      await verify('unsigned', verifier); // learns whether the registry offers the referrers API
      for (const name of ['v2', 'v3']) {
        requests = 0;
        assert.equal((await verify(name, verifier)).status, 'Verified');
        assert.ok(requests <= 3, `${name}: ${requests} requests cold`);
        requests = 0;
        await verify(name, verifier);
        assert.equal(requests, 0, `${name}: cached`);
      }
    });

    it('refuses images signed with another key (v2 and v3), naming the key for bundles', async () => {
      const v2 = await verify('v2-stranger');
      assert.equal(v2.status === 'Invalid' && v2.reason, 'WrongKey', v2.message);
      assert.match(v2.message, /does not verify with attestor team's ECDSA P-256 key/);
      const v3 = await verify('v3-stranger');
      assert.equal(v3.status === 'Invalid' && v3.reason, 'WrongKey', v3.message);
      assert.match(v3.message, /signed with another key \(key id /);
    });

    it('calls an image without signatures Unsigned', async () => {
      const v = await verify('unsigned');
      assert.equal(v.status, 'Unsigned', v.message);
    });

    it('refuses a cosign signature whose payload names another digest', async () => {
      // Copy v2-elsewhere's signature image, as cosign pushed it, to be the .sig of another image.
      const from = images['v2-elsewhere']?.digest ?? '';
      const sig = await getJson(host, 'sig/v2-elsewhere', `${from.replace(':', '-')}.sig`, OCI_MANIFEST);
      const doc = sig.doc as { config: Layer; layers: Layer[] };
      for (const d of [doc.config, ...doc.layers]) {
        await pushBlob(host, 'sig/copy', await getBlob(host, 'sig/v2-elsewhere', d.digest));
      }
      const pushed = await pushImage(host, 'sig/copy', 'v1', [tar([{ path: 'name', content: 'copy\n' }])]);
      images['copy'] = { digest: pushed.digest, size: pushed.manifest.length, mediaType: OCI_MANIFEST };
      await pushManifest(host, 'sig/copy', `${pushed.digest.replace(':', '-')}.sig`, sig.bytes, OCI_MANIFEST);
      const v = await verify('copy');
      assert.equal(v.status === 'Invalid' && v.reason, 'DigestMismatch', v.message);
      assert.match(v.message, new RegExp(`payload names image ${from}, not ${pushed.digest}`));
    });

    it('refuses a tampered signature and a tampered payload', async () => {
      for (const [name, part] of [
        ['v2-sig-tampered', 'signature'],
        ['v2-payload-tampered', 'payload'],
      ] as const) {
        const repo = `sig/${name}`;
        const tag = `${images[name]?.digest.replace(':', '-') ?? ''}.sig`;
        const sig = await getJson(host, repo, tag, OCI_MANIFEST);
        const doc = sig.doc as { layers: Layer[] };
        const layer = doc.layers[0];
        assert.ok(layer?.annotations);
        if (part === 'signature') {
          const bytes = Buffer.from(layer.annotations['dev.cosignproject.cosign/signature'] ?? '', 'base64');
          bytes[bytes.length - 2] = (bytes[bytes.length - 2] ?? 0) ^ 0x40;
          layer.annotations['dev.cosignproject.cosign/signature'] = bytes.toString('base64');
        } else {
          const payload = JSON.parse((await getBlob(host, repo, layer.digest)).toString()) as Record<
            string,
            unknown
          >;
          payload['optional'] = { approved: 'by-mallory' };
          const altered = Buffer.from(JSON.stringify(payload));
          await pushBlob(host, repo, altered);
          layer.digest = sha256(altered);
          layer.size = altered.length;
        }
        await pushManifest(host, repo, tag, Buffer.from(JSON.stringify(doc)), OCI_MANIFEST);
        const v = await verify(name);
        assert.equal(v.status === 'Invalid' && v.reason, 'WrongKey', `${part}: ${v.message}`);
        assert.match(v.message, /the signature or its payload was altered/);
      }
    });

    it('refuses a cosign v3 bundle whose in-toto subject names another digest', async () => {
      // Re-attach v3-source's bundle (signed by team, about v3-source) to the v3-subject image.
      const source = images['v3-source'];
      const target = images['v3-subject'];
      assert.ok(source && target);
      const index = api
        ? ((await (await fetch(`http://${host}/v2/sig/v3-source/referrers/${source.digest}`)).json()) as {
            manifests: Layer[];
          })
        : ((await getJson(host, 'sig/v3-source', source.digest.replace(':', '-'), OCI_INDEX)).doc as {
            manifests: Layer[];
          });
      const referrer = index.manifests[0];
      assert.ok(referrer, 'cosign v3 attached a referrer');
      const manifest = await getJson(host, 'sig/v3-source', referrer.digest, OCI_MANIFEST);
      const doc = manifest.doc as { config: Layer; layers: Layer[]; subject: Image };
      for (const d of [doc.config, ...doc.layers]) {
        await pushBlob(host, 'sig/v3-subject', await getBlob(host, 'sig/v3-source', d.digest));
      }
      doc.subject = { mediaType: target.mediaType, digest: target.digest, size: target.size };
      const bytes = Buffer.from(JSON.stringify(doc));
      await pushManifest(host, 'sig/v3-subject', sha256(bytes), bytes, OCI_MANIFEST);
      if (!api) {
        const fallback = {
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [{ mediaType: OCI_MANIFEST, digest: sha256(bytes), size: bytes.length }],
        };
        await pushManifest(
          host,
          'sig/v3-subject',
          target.digest.replace(':', '-'),
          Buffer.from(JSON.stringify(fallback)),
          OCI_INDEX,
        );
      }
      const v = await verify('v3-subject');
      assert.equal(v.status === 'Invalid' && v.reason, 'SubjectMismatch', v.message);
      assert.match(
        v.message,
        new RegExp(`in-toto statement's subject is ${source.digest}, not the image ${target.digest}`),
      );
    });

    it('verifies a SLSA provenance attestation made by cosign v3 attest, with predicate conditions', async () => {
      const attested = (buildType: string): SignatureRule => ({
        ...rule,
        attestations: [
          {
            predicateType: SLSA_V1,
            attestors: ['team'],
            conditions: [
              { path: 'buildDefinition.buildType', equals: buildType },
              {
                path: 'buildDefinition.externalParameters.source',
                regExp: 'git\\+https://git\\.example\\.test/team/.+',
              },
            ],
          },
        ],
      });
      const image = images['v3-attested'];
      assert.ok(image);
      const verifier = new SignatureVerifier({ registry: client });
      const target = { registry: host, repository: 'sig/v3-attested' };
      const ok = await verifier.verify(target, image.digest, attested('https://ci.example.test/build/v1'));
      assert.equal(ok.status, 'Verified', ok.message);
      assert.match(ok.message, /attested \(https:\/\/slsa.dev\/provenance\/v1\)/);
      const wrong = await verifier.verify(target, image.digest, attested('https://other.test/build'));
      assert.equal(wrong.status === 'Invalid' && wrong.reason, 'PredicateMismatch', wrong.message);
      assert.match(
        wrong.message,
        /buildDefinition.buildType is "https:\/\/ci.example.test\/build\/v1", not "https:\/\/other.test\/build"/,
      );
      // Signed by team, but never attested.
      const missing = await verifier.verify(
        { registry: host, repository: 'sig/v3' },
        images['v3']?.digest ?? '',
        attested('x'),
      );
      assert.equal(missing.status === 'Invalid' && missing.reason, 'AttestationMissing', missing.message);
    });
  });
}
