// Benchmark: signature verification of many distinct signed images through the real registry
// client, cold (fresh caches) and cached, with the registry requests each verification costs
// (target: at most 3 per image cold, 0 cached). Runs against both test registries: CNCF
// distribution (bundles found through the referrers tag) and go-containerregistry's registry
// (referrers API). Half the images carry a cosign classic `.sig` signature, half a cosign v3 style
// bundle, signed in process with an ECDSA P-256 key (test/support/signing.ts makes the same
// layouts cosign does; test/e2e/signatures.test.ts proves them against the real cosign).
// Not a timed test.
//
// Usage: node dist/bench/signatures.js [--images N] [--concurrency N]
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { RegistryClient } from '../src/registry/client.js';
import { SignatureVerifier, type SignatureRule } from '../src/signature/index.js';
import { startStandaloneRegistry } from '../test/e2e/harness.js';
import { pushImage } from '../test/support/oci-push.js';
import { startReferrersRegistry } from '../test/support/referrers-registry.js';
import {
  classicLayer,
  dsseBundle,
  generateKey,
  inTotoStatement,
  pushBundleReferrer,
  pushClassicSignatures,
  simpleSigningPayload,
} from '../test/support/signing.js';
import { tar } from '../test/support/tar.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '8' },
  },
});
const imageCount = Number(values.images);
const concurrency = Number(values.concurrency);

interface Pass {
  seconds: number;
  requests: number;
  p50: number;
  p95: number;
  statuses: Record<string, number>;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

async function pass(
  verifier: SignatureVerifier,
  host: string,
  images: readonly { repository: string; digest: string }[],
  rule: SignatureRule,
  counter: { requests: number },
): Promise<Pass> {
  const before = counter.requests;
  const durations: number[] = [];
  const statuses: Record<string, number> = {};
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < images.length) {
        const image = images[next++];
        if (image === undefined) break;
        const t = performance.now();
        const v = await verifier.verify({ registry: host, repository: image.repository }, image.digest, rule);
        durations.push(performance.now() - t);
        statuses[v.status] = (statuses[v.status] ?? 0) + 1;
      }
    }),
  );
  durations.sort((a, b) => a - b);
  return {
    seconds: (performance.now() - start) / 1000,
    requests: counter.requests - before,
    p50: percentile(durations, 50),
    p95: percentile(durations, 95),
    statuses,
  };
}

async function benchRegistry(label: string, host: string, stop: () => Promise<void>): Promise<void> {
  try {
    const key = generateKey('p256');
    const images: { repository: string; digest: string }[] = [];
    const pushStart = performance.now();
    for (let i = 0; i < imageCount; i++) {
      const repository = `bench/app-${i % 20}`;
      const pushed = await pushImage(host, repository, `v${i}`, [
        tar([{ path: 'id', content: `${label} ${i}\n` }]),
      ]);
      if (i % 2 === 0) {
        const payload = simpleSigningPayload(`${host}/${repository}`, pushed.digest);
        await pushClassicSignatures(host, repository, pushed.digest, [classicLayer(key, payload)]);
      } else {
        const subject = {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: pushed.digest,
          size: pushed.manifest.length,
        };
        await pushBundleReferrer(host, repository, subject, dsseBundle(key, inTotoStatement(pushed.digest)), {
          fallbackTag: label.startsWith('distribution'),
        });
      }
      images.push({ repository, digest: pushed.digest });
    }
    const pushSeconds = (performance.now() - pushStart) / 1000;
    const counter = { requests: 0 };
    const client = new RegistryClient({
      config: { policy: { allow: ['127.0.0.1:*'] }, hosts: { [host]: { plainHttp: true } } },
      logger: { debug: (message) => void (message === 'registry request' && counter.requests++) },
    });
    const rule: SignatureRule = {
      attestors: [
        { kind: 'key', name: 'bench', publicKey: key.publicPem, transparencyLog: { threshold: 0 } },
      ],
    };
    const verifier = new SignatureVerifier({ registry: client });
    const cold = await pass(verifier, host, images, rule, counter);
    const cached = await pass(verifier, host, images, rule, counter);
    client.close();
    const row = (name: string, p: Pass): string =>
      `${label.padEnd(34)} ${name.padEnd(7)} ${String(images.length).padStart(6)} ${p.seconds.toFixed(3).padStart(8)} ${(
        (p.seconds * 1000) /
        images.length
      )
        .toFixed(2)
        .padStart(
          9,
        )} ${p.p50.toFixed(2).padStart(8)} ${p.p95.toFixed(2).padStart(8)} ${String(p.requests).padStart(8)} ${(
        p.requests / images.length
      )
        .toFixed(2)
        .padStart(8)}  ${JSON.stringify(p.statuses)}`;
    console.log(`(${label}: ${images.length} images signed and pushed in ${pushSeconds.toFixed(1)} s)`);
    console.log(row('cold', cold));
    console.log(row('cached', cached));
  } finally {
    await stop();
  }
}

console.log(
  `${'registry'.padEnd(34)} ${'pass'.padEnd(7)} ${'images'.padStart(6)} ${'total s'.padStart(8)} ${'ms/image'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'requests'.padStart(8)} ${'req/img'.padStart(8)}  verdicts`,
);
const distribution = await startStandaloneRegistry();
await benchRegistry('distribution (referrers tag)', distribution.host, distribution.stop);
const referrers = await startReferrersRegistry();
await benchRegistry('go-containerregistry (referrers API)', referrers.host, referrers.stop);
