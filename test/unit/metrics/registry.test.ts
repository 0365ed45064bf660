import assert from 'node:assert/strict';
import {
  createMetrics,
  eventMetricsFor,
  informerMetricsFor,
  leaderMetricsFor,
  recordImageAnalyses,
  recordReconcile,
  recordReportWrite,
  severityLabel,
  workQueueMetricsFor,
} from '../../../src/metrics/registry.js';
import { WorkQueue } from '../../../src/runtime/workqueue.js';
import { ManualClock, settle } from '../runtime/manual-clock.js';

const EXPECTED_TYPES: Record<string, string> = {
  shipshape_violations: 'gauge',
  shipshape_workloads: 'gauge',
  shipshape_reconcile_total: 'counter',
  shipshape_reconcile_duration_seconds: 'histogram',
  shipshape_workqueue_depth: 'gauge',
  shipshape_workqueue_adds_total: 'counter',
  shipshape_workqueue_queue_duration_seconds: 'histogram',
  shipshape_workqueue_work_duration_seconds: 'histogram',
  shipshape_workqueue_retries_total: 'counter',
  shipshape_informer_restarts_total: 'counter',
  shipshape_report_writes_total: 'counter',
  shipshape_events_total: 'counter',
  shipshape_images: 'gauge',
  shipshape_image_vulnerabilities: 'gauge',
  shipshape_admission_requests_total: 'counter',
  shipshape_admission_duration_seconds: 'histogram',
  shipshape_signature_verifications_total: 'counter',
  shipshape_leader: 'gauge',
  shipshape_build_info: 'gauge',
};

function typesIn(exposition: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm))
    types.set(match[1] as string, match[2] as string);
  return types;
}

describe('Shipshape metrics registry', () => {
  it('exposes every Shipshape metric with its Prometheus type', async () => {
    const types = typesIn(await createMetrics({ version: '1.2.3' }).registry.metrics());
    for (const [name, type] of Object.entries(EXPECTED_TYPES)) {
      assert.equal(types.get(name), type, `${name} should be a ${type}`);
    }
  });

  it('prefixes every own metric with shipshape_ and names counters *_total', async () => {
    const types = typesIn(await createMetrics({ defaultMetrics: false }).registry.metrics());
    assert.deepEqual([...types.keys()].sort(), Object.keys(EXPECTED_TYPES).sort());
    for (const [name, type] of types) {
      if (type === 'counter') assert.match(name, /_total$/);
    }
  });

  it('includes the default Node.js process metrics', async () => {
    const text = await createMetrics().registry.metrics();
    assert.match(text, /^# TYPE shipshape_process_cpu_user_seconds_total counter$/m);
    assert.match(text, /^# TYPE shipshape_nodejs_eventloop_lag_seconds gauge$/m);
  });

  it('reports the build version and starts as a non-leader', async () => {
    const text = await createMetrics({ version: '1.2.3', defaultMetrics: false }).registry.metrics();
    assert.match(text, /^shipshape_build_info\{version="1\.2\.3"\} 1$/m);
    assert.match(text, /^shipshape_leader 0$/m);
  });

  it('keeps separate registries apart', async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    leaderMetricsFor(a).leading(true);
    assert.match(await a.registry.metrics(), /^shipshape_leader 1$/m);
    assert.match(await b.registry.metrics(), /^shipshape_leader 0$/m);
  });

  it('records reconciles, report writes, events and informer restarts through typed helpers', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    recordReconcile(metrics, 'workload', 'success', 0.2);
    recordReportWrite(metrics, 'SecurityReport', 'updated');
    eventMetricsFor(metrics).recorded('Warning', 'PolicyViolation', 'ratelimited');
    informerMetricsFor(metrics, 'pods').restarted('idle');
    const text = await metrics.registry.metrics();
    assert.match(text, /^shipshape_reconcile_total\{controller="workload",result="success"\} 1$/m);
    assert.match(text, /^shipshape_reconcile_duration_seconds_count\{controller="workload"\} 1$/m);
    assert.match(text, /^shipshape_report_writes_total\{kind="SecurityReport",result="updated"\} 1$/m);
    assert.match(
      text,
      /^shipshape_events_total\{type="Warning",reason="PolicyViolation",result="ratelimited"\} 1$/m,
    );
    assert.match(text, /^shipshape_informer_restarts_total\{resource="pods",reason="idle"\} 1$/m);
  });

  it('feeds workqueue observations into the workqueue series of that queue', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const clock = new ManualClock();
    const queue = new WorkQueue({ clock, metrics: workQueueMetricsFor(metrics, 'workloads') });
    let calls = 0;
    queue.add('shop/Deployment/web');
    queue.add('shop/Deployment/web');
    queue.run(1, async () => {
      calls++;
      if (calls === 1) throw new Error('transient');
    });
    await settle();
    await clock.advance(5);
    await queue.shutDown();
    const text = await metrics.registry.metrics();
    assert.match(text, /^shipshape_workqueue_adds_total\{queue="workloads"\} 2$/m);
    assert.match(text, /^shipshape_workqueue_retries_total\{queue="workloads"\} 1$/m);
    assert.match(text, /^shipshape_workqueue_work_duration_seconds_count\{queue="workloads"\} 2$/m);
    assert.match(text, /^shipshape_workqueue_queue_duration_seconds_count\{queue="workloads"\} 2$/m);
    assert.match(text, /^shipshape_workqueue_depth\{queue="workloads"\} 0$/m);
  });

  it('writes finding severities as lower-case label values', () => {
    assert.deepEqual((['Critical', 'High', 'Medium', 'Low', 'Info'] as const).map(severityLabel), [
      'critical',
      'high',
      'medium',
      'low',
      'info',
    ]);
  });

  it('counts tracked images by analysis state and drops a failure reason that no longer occurs to 0', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    recordImageAnalyses(metrics, { pending: 1, analyzed: 2, failed: { NotFound: 3 } });
    let text = await metrics.registry.metrics();
    assert.match(text, /^shipshape_images\{analysis="pending"\} 1$/m);
    assert.match(text, /^shipshape_images\{analysis="analyzed"\} 2$/m);
    assert.match(text, /^shipshape_images\{analysis="failed",reason="NotFound"\} 3$/m);
    recordImageAnalyses(metrics, { pending: 0, analyzed: 5, failed: {} });
    text = await metrics.registry.metrics();
    assert.match(text, /^shipshape_images\{analysis="failed",reason="NotFound"\} 0$/m);
  });
});
