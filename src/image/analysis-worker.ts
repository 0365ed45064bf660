// The entry point of an analysis worker process (see analysis-pool.ts). It builds its
// own RegistryClient and ImageAnalyzer once from the plain settings it was started
// with, then analyses one image per job message: the reference, the platform and
// the pull credentials arrive as plain data, the ImageAnalysis goes back as plain
// data without the inventory's lists (the operator only keeps counts). It says
// when each layer starts so the pool can hold every layer to its own time budget.
// The pool, not this process, enforces the budgets: a worker that spins or runs out
// of heap cannot be trusted to stop itself.

import { dockerConfigSourceFrom } from '../registry/docker-config.js';
import type { Platform } from '../registry/manifest.js';
import { analyzerOver, createRegistryClient } from './analyzer-setup.js';
import type { AnalyzeOptions, ImageAnalysis, ImageSource } from './image-analyzer.js';
import type { AnalysisJob, AnalysisWorkerSettings, WorkerMessage } from './analysis-pool.js';
import { WORKER_SETTINGS_ENV, trimmedAnalysis } from './analysis-pool.js';

/** What a job runs: the real analyzer, or (tests only) the module named in the settings. */
type Analyze = (imageRef: string, options: AnalyzeOptions) => Promise<ImageAnalysis>;

const send = process.send?.bind(process);
if (send === undefined) throw new Error('analysis-worker.js runs as a worker process of the analysis pool');
const settings = JSON.parse(process.env[WORKER_SETTINGS_ENV] ?? '{"analyzer":{}}') as AnalysisWorkerSettings;
let currentJob = 0;
const post = (message: WorkerMessage): void => void send(message);

async function buildAnalyze(): Promise<Analyze> {
  if (settings.analyzerModule !== undefined) {
    // Test hook: a module whose `analyze` spins, allocates or answers at will.
    const module = (await import(settings.analyzerModule)) as { analyze: Analyze };
    return (ref, options) => module.analyze(ref, options);
  }
  const client = await createRegistryClient(settings.analyzer);
  // The registry as the analyzer sees it, telling the pool when each layer's stream opens.
  const source: ImageSource = {
    resolveImage: (ref, call) => client.resolveImage(ref, call),
    fetchBlobBytes: (ref, descriptor, call) => client.fetchBlobBytes(ref, descriptor, call),
    openBlob: (ref, descriptor, call) => {
      post({ type: 'layer', id: currentJob, digest: descriptor.digest });
      return client.openBlob(ref, descriptor, call);
    },
  };
  const analyzer = analyzerOver(source, settings.analyzer);
  return (ref, options) => analyzer.analyze(ref, options);
}

const ready = buildAnalyze();

async function run(job: AnalysisJob): Promise<void> {
  currentJob = job.id;
  let analysis: ImageAnalysis;
  try {
    const analyze = await ready;
    post({ type: 'started', id: job.id });
    const options: { credentials?: AnalyzeOptions['credentials']; platform?: Platform } = {};
    if (job.dockerConfigs !== undefined) options.credentials = dockerConfigSourceFrom(job.dockerConfigs);
    if (job.platform !== undefined) options.platform = job.platform;
    analysis = await analyze(job.imageRef, options);
  } catch (err) {
    analysis = {
      ok: false,
      reference: job.imageRef,
      reason: 'InternalError',
      message: `the analysis worker failed: ${err instanceof Error ? err.message : String(err)}`,
      retryable: false,
    };
  }
  post({ type: 'result', id: job.id, analysis: trimmedAnalysis(analysis) });
}

process.on('message', (job: AnalysisJob) => void run(job));
// The operator went away (or killed the channel): nothing left to answer.
process.on('disconnect', () => process.exit(0));
