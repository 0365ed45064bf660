// The configuration the e2e Prometheus starts with: scrapes like the
// ServiceMonitor (job shipshape, honor_labels), and never anything off loopback.
import assert from 'node:assert/strict';
import { prometheusConfig } from '../../support/prometheus-process.js';
import { readYaml } from './repo-files.js';

const options = { job: 'shipshape', intervalSeconds: 1, ruleFiles: ['/tmp/x/rules.yaml'] };

describe('the e2e Prometheus configuration', () => {
  it('scrapes the operator as the ServiceMonitor does: same job name, honor_labels, /metrics', () => {
    const config = JSON.parse(prometheusConfig({ ...options, targets: ['127.0.0.1:18080'] })) as {
      scrape_configs: { job_name: string; honor_labels: boolean; metrics_path: string }[];
      rule_files: string[];
    };
    const monitor = readYaml<{
      spec: { jobLabel: string; endpoints: { honorLabels: boolean; path: string }[] };
    }>('config/prometheus/monitor.yaml');
    const service = readYaml<{ metadata: { labels: Record<string, string> } }>(
      'config/manager/metrics_service.yaml',
    );
    const [job] = config.scrape_configs;
    assert.equal(job?.job_name, service.metadata.labels[monitor.spec.jobLabel]);
    assert.equal(job?.honor_labels, monitor.spec.endpoints[0]?.honorLabels);
    assert.equal(job?.metrics_path, monitor.spec.endpoints[0]?.path);
    assert.deepEqual(config.rule_files, ['/tmp/x/rules.yaml']);
  });

  it('refuses a scrape target that is not on loopback', () => {
    assert.throws(
      () => prometheusConfig({ ...options, targets: ['127.0.0.1:1', '192.0.2.10:8080'] }),
      /192\.0\.2\.10:8080 is not on loopback/,
    );
    assert.doesNotThrow(() => prometheusConfig({ ...options, targets: ['[::1]:9090', '127.0.0.2:1'] }));
  });
});
