// Test-only stand-in for the image analyzer inside an analysis worker process (loaded through
// AnalysisWorkerSettings.analyzerModule): the image reference says what a job does —
// answer, spin forever, allocate until the heap is gone, crash, or hit a walk limit —
// so the pool's budgets are tested against a real worker process.
import type { AnalyzeOptions, ImageAnalysis } from '../../../src/image/image-analyzer.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;

function success(imageRef: string, packages: number): ImageAnalysis {
  return {
    ok: true,
    reference: imageRef,
    digest: DIGEST,
    manifestDigest: DIGEST,
    inventory: {
      kind: 'ImageInventory',
      os: { id: 'debian', versionId: '12', source: '/etc/os-release' },
      packages: Array.from({ length: packages }, (_, i) => ({
        name: `pkg${i}`,
        version: '1.0',
        ecosystem: 'deb' as const,
        location: '/var/lib/dpkg/status',
        purl: `pkg:deb/debian/pkg${i}@1.0`,
        layerDigest: DIGEST,
      })),
      facts: {
        user: '',
        runsAsRoot: true,
        exposedPorts: [],
        secretEnvKeys: [],
        layerCount: 1,
        compressedBytes: 1,
        uncompressedBytes: 1,
        baseImage: { hints: [] },
      },
      layers: [{ digest: DIGEST, uncompressedBytes: 1, entries: 1 }],
      analyzerVersion: 'fixture',
      warnings: [],
    },
    facts: {
      digest: DIGEST,
      user: '',
      healthcheck: false,
      envKeys: [],
      secretEnvKeys: [],
      sizeBytes: 1,
      layers: 1,
    },
  };
}

export async function analyze(imageRef: string, options: AnalyzeOptions): Promise<ImageAnalysis> {
  const [, repository = ''] = imageRef.split('/');
  const what = repository.split(':')[0];
  switch (what) {
    case 'spin':
      for (;;) {
        // A hostile image that keeps an analyzer busy forever: no await, no timer ever runs.
      }
    case 'allocate': {
      // One array grown without end: the shape that aborts a whole process from a worker thread.
      const hoard: string[] = [];
      for (;;) hoard.push(`${hoard.length}-${imageRef}`);
    }
    case 'crash':
      return process.exit(3);
    case 'limit':
      return {
        ok: false,
        reference: imageRef,
        reason: 'LimitExceeded',
        message: `${imageRef}: the image has 200 layers, more than the limit of 128 (layers)`,
        retryable: false,
        limit: { name: 'layers', value: 128 },
      };
    case 'creds': {
      const found = await options.credentials?.credentialsFor('registry.test', 'creds');
      const users = (found ?? []).map((c) => `${c.username} from ${c.source}`).join(', ');
      return { ok: false, reference: imageRef, reason: 'Unauthorized', message: users, retryable: false };
    }
    case 'slow':
      await new Promise((resolve) => setTimeout(resolve, 300));
      return success(imageRef, 1);
    default:
      return success(imageRef, 5000);
  }
}
