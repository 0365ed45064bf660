// The operator matches running images against a vulnerability database: a Deployment running
// a Debian image (a real dpkg status file) gets an ImageReport whose counts and list name the
// advisories the test wrote (Debian advisories by SOURCE package name), and its SecurityReport
// turns non-compliant per the policy's threshold, with an OpenVEX statement from a ConfigMap
// suppressing one finding and showing its justification. Then a new advisory in the database
// directory and a reload (SIGHUP) re-match the cached inventory: a new finding, a
// NewVulnerability Event and a metric change, with zero registry requests, counted by a loopback
// proxy the operator pulls through. A reload that fails (a truncated zip) keeps that database and
// the ImageReport says it is stale.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type V1Deployment,
} from '@kubernetes/client-node';
import type { ImageReport, SecurityReport } from '../../src/api/report-types.js';
import { installCrds } from '../support/crds.js';
import { createSecurityPolicy } from '../support/policies.js';
import { createReadyNamespace } from '../support/namespaces.js';
import { pushImage } from '../support/oci-push.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { tar } from '../support/tar.js';
import { eventually } from '../support/wait.js';
import { kubeConfig, kubeconfigPath, registryHost } from './harness.js';

const GROUP = { group: 'shipshape.dev', version: 'v1alpha1' };
const CRITICAL = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
const HIGH = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N';
const MEDIUM = 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N';

/** An OSV advisory for a Debian 12 source package, fixed in `fixed` (or never). */
function advisory(id: string, sourcePackage: string, vector: string, fixed?: string): string {
  return JSON.stringify({
    schema_version: '1.7.0',
    id,
    modified: '2026-01-01T00:00:00Z',
    summary: `e2e advisory ${id}`,
    severity: [{ type: 'CVSS_V3', score: vector }],
    affected: [
      {
        package: { ecosystem: 'Debian:12', name: sourcePackage },
        ranges: [
          {
            type: 'ECOSYSTEM',
            events: [{ introduced: '0' }, ...(fixed === undefined ? [] : [{ fixed }])],
          },
        ],
      },
    ],
  });
}

/** A loopback HTTP proxy in front of the registry that counts every request. */
async function countingProxy(target: string): Promise<{ host: string; requests: string[]; close(): void }> {
  const requests: string[] = [];
  const [targetHost, targetPort] = target.split(':');
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const upstream = request(
      { host: targetHost, port: Number(targetPort), method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { host: `127.0.0.1:${port}`, requests, close: () => server.close() };
}

describe('operator vulnerability matching', function () {
  this.timeout(240_000);
  const ns = `e2e-vulns-${Date.now().toString(36)}`;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let custom: CustomObjectsApi;
  let events: EventsV1Api;
  let operator: OperatorProcess;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let dbDir: string;
  let digest: string;
  let reference: string;

  const deployment = (name: string, image: string): V1Deployment => ({
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          nodeSelector: { type: 'kwok' },
          automountServiceAccountToken: false,
          containers: [{ name: 'app', image }],
        },
      },
    },
  });
  const securityReport = async (): Promise<SecurityReport | undefined> =>
    (await custom
      .getNamespacedCustomObject({
        ...GROUP,
        plural: 'securityreports',
        namespace: ns,
        name: 'deployment-shop',
      })
      .catch(() => undefined)) as SecurityReport | undefined;
  const imageReport = async (): Promise<ImageReport | undefined> =>
    (await custom
      .getClusterCustomObject({ ...GROUP, plural: 'imagereports', name: digest.replace(':', '-') })
      .catch(() => undefined)) as ImageReport | undefined;

  before(async () => {
    const kc = kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    events = kc.makeApiClient(EventsV1Api);
    await installCrds(kc);
    for (const name of ['shipshape-system', ns]) await createReadyNamespace(core, name);

    // Debian 12 with a real dpkg status: apt-transport-https is built from source "apt" (2.6.1),
    // bash 5.2.15-2+b8 from "bash (5.2.15-2)", at-spi2-common 2.46.0-5 from "at-spi2-core".
    const layer = tar([
      { path: 'etc/', type: 'dir' },
      {
        path: 'etc/os-release',
        content: 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
      },
      { path: 'var/lib/dpkg/', type: 'dir' },
      { path: 'var/lib/dpkg/status', content: readFileSync('test/fixtures/sbom/dpkg-status') },
    ]);
    const pushed = await pushImage(registryHost(), `${ns}/debian`, 'v1', [layer], { config: { User: '' } });
    digest = pushed.digest;
    proxy = await countingProxy(registryHost());
    reference = `${proxy.host}/${ns}/debian:v1`;

    dbDir = mkdtempSync(join(tmpdir(), 'shipshape-e2e-osv-'));
    writeFileSync(join(dbDir, 'CVE-2099-0001.json'), advisory('CVE-2099-0001', 'apt', CRITICAL, '2.6.2'));
    writeFileSync(join(dbDir, 'CVE-2099-0002.json'), advisory('CVE-2099-0002', 'bash', MEDIUM, '5.2.15-3'));
    writeFileSync(join(dbDir, 'CVE-2099-0003.json'), advisory('CVE-2099-0003', 'at-spi2-core', HIGH));

    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: { name: 'vex' },
        data: {
          'openvex.json': JSON.stringify({
            '@context': 'https://openvex.dev/ns/v0.2.0',
            '@id': 'https://example.com/vex/e2e',
            timestamp: '2026-01-01T00:00:00Z',
            statements: [
              {
                vulnerability: { name: 'CVE-2099-0003' },
                products: [{ '@id': digest }],
                status: 'not_affected',
                justification: 'vulnerable_code_not_in_execute_path',
              },
            ],
          }),
        },
      },
    });
    await createSecurityPolicy(custom, ns, 'vulns', {
      vulnerabilities: {
        severityThreshold: 'High',
        vex: { configMapRef: { name: 'vex', key: 'openvex.json' } },
      },
    });
    operator = await startOperatorProcess([
      `--kubeconfig=${kubeconfigPath()}`,
      '--namespace=shipshape-system',
      '--leader-elect=false',
      '--log-level=warn',
      '--allow-registry=127.0.0.1:*',
      `--plain-http=${proxy.host}`,
      `--vulnerability-db=${dbDir}`,
    ]);
    await operator.waitReady();
  });

  after(async () => {
    await operator?.stop('SIGKILL');
    proxy?.close();
    if (dbDir) rmSync(dbDir, { recursive: true, force: true });
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('writes the findings into the ImageReport and turns the SecurityReport non-compliant', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('shop', reference) });
    const image = await eventually(
      'the ImageReport with matched vulnerabilities',
      async () => {
        const found = await imageReport();
        return found?.status?.vulnerabilities?.total === 3 ? found : undefined;
      },
      { timeoutMs: 120_000 },
    );
    const status = image.status!;
    assert.deepEqual(status.vulnerabilities, {
      critical: 1,
      high: 1,
      medium: 1,
      low: 0,
      info: 0,
      total: 3,
      fixable: 2,
    });
    assert.deepEqual(
      status.topVulnerabilities?.map((v) => [v.id, v.package, v.installedVersion, v.fixedVersion]),
      [
        ['CVE-2099-0001', 'apt', '2.6.1', '2.6.2'],
        ['CVE-2099-0003', 'at-spi2-core', '2.46.0-5', undefined],
        ['CVE-2099-0002', 'bash', '5.2.15-2', '5.2.15-3'],
      ],
    );
    assert.equal(status.topVulnerabilitiesLimit, 100);
    assert.equal(status.topVulnerabilitiesTruncated, false);
    assert.match(status.scanner?.databaseVersion ?? '', /^sha256:[0-9a-f]{16}$/);
    const matched = status.conditions?.find((c) => c.type === 'VulnerabilitiesMatched');
    assert.equal(matched?.status, 'True', JSON.stringify(status.conditions));
    assert.equal(matched?.reason, 'Matched');

    const report = await eventually('the SecurityReport with vulnerability findings', async () => {
      const found = await securityReport();
      return found?.status?.findings?.some((f) => f.ruleId === 'vulnerabilities.critical')
        ? found
        : undefined;
    });
    assert.equal(report.status?.compliant, false);
    const complete = report.status?.conditions?.find((c) => c.type === 'VulnerabilitiesMatched');
    assert.equal(complete?.status, 'True', JSON.stringify(report.status?.conditions));
    const vulns = (report.status?.findings ?? []).filter((f) => f.ruleId.startsWith('vulnerabilities.'));
    assert.deepEqual(vulns.map((f) => [f.ruleId, f.subject, f.container]).sort(), [
      ['vulnerabilities.critical', 'CVE-2099-0001', 'app'],
      // VEX not_affected for this digest: accepted, with the justification, never a violation.
      ['vulnerabilities.suppressed', 'CVE-2099-0003', 'app'],
    ]);
    const suppressed = vulns.find((f) => f.ruleId === 'vulnerabilities.suppressed');
    assert.equal(suppressed?.severity, 'Info');
    assert.match(suppressed?.message ?? '', /VEX not_affected \(vulnerable_code_not_in_execute_path\)/);
    assert.equal(report.status?.summary?.critical, 1);
    assert.deepEqual(report.status?.images?.[0]?.vulnerabilities, {
      critical: 1,
      high: 1,
      medium: 1,
      low: 0,
      info: 0,
    });
    assert.equal(
      await operator
        .metric('shipshape_image_vulnerabilities', { severity: 'critical' })
        .then((v) => (v ?? 0) >= 1),
      true,
    );
  });

  it('re-matches on a database reload with zero registry requests: a new finding, an Event, a metric change', async () => {
    // Let the first round settle (both pods asked, reports written), then count from here.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const highBefore = (await operator.metric('shipshape_image_vulnerabilities', { severity: 'high' })) ?? 0;
    const before = proxy.requests.length;
    assert.ok(before > 0, 'the first analysis pulled the image through the counting proxy');

    writeFileSync(join(dbDir, 'CVE-2099-0004.json'), advisory('CVE-2099-0004', 'apt', HIGH, '2.6.3'));
    operator.child.kill('SIGHUP');

    const image = await eventually('the ImageReport to show the new advisory', async () => {
      const found = await imageReport();
      return found?.status?.vulnerabilities?.total === 4 ? found : undefined;
    });
    assert.equal(image.status?.vulnerabilities?.high, 2);
    assert.ok(image.status?.topVulnerabilities?.some((v) => v.id === 'CVE-2099-0004'));

    const report = await eventually('the SecurityReport to carry the new finding', async () => {
      const found = await securityReport();
      return found?.status?.findings?.some((f) => f.subject === 'CVE-2099-0004') ? found : undefined;
    });
    const added = report.status?.findings?.find((f) => f.subject === 'CVE-2099-0004');
    assert.equal(added?.ruleId, 'vulnerabilities.high');

    const event = await eventually('a NewVulnerability Event on the Deployment', async () => {
      const list = await events.listNamespacedEvent({ namespace: ns });
      return list.items.find((e) => e.regarding?.name === 'shop' && e.reason === 'NewVulnerability');
    });
    assert.equal(event.type, 'Warning');
    assert.equal(event.regarding?.kind, 'Deployment');
    assert.match(event.note ?? '', /CVE-2099-0004 \(high\) in apt 2\.6\.1/);

    const highAfter = await eventually('the high-severity metric to move', async () => {
      const value = (await operator.metric('shipshape_image_vulnerabilities', { severity: 'high' })) ?? 0;
      return value > highBefore ? value : undefined;
    });
    assert.equal(highAfter - highBefore, 1);
    assert.deepEqual(proxy.requests.slice(before), [], 'the re-match made no registry request');
  });

  it('keeps the database in use when a reload fails, and every ImageReport says it is stale', async () => {
    // A truncated zip fails the whole load (one bad advisory would only be skipped).
    writeFileSync(join(dbDir, 'truncated.zip'), Buffer.from('PK\u0003\u0004 cut off'));
    operator.child.kill('SIGHUP');

    const image = await eventually('the ImageReport to say the database is stale', async () => {
      const found = await imageReport();
      const matched = found?.status?.conditions?.find((c) => c.type === 'VulnerabilitiesMatched');
      return matched?.reason === 'DatabaseStale' ? found : undefined;
    });
    assert.equal(image.status?.vulnerabilities?.total, 4, 'the previous database stays in use');
  });
});
