// The ValidatingWebhookConfiguration: the one the operator writes (local
// control plane) and the shipped manifest agree on everything that keeps a
// cluster safe, and CA injection touches only caBundle.
import assert from 'node:assert/strict';
import type { V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { readYamlDocuments } from '../deploy/repo-files.js';
import { validatingWebhookConfiguration, withCaBundle } from '../../../src/webhook/configuration.js';
import { servingNames } from '../../../src/webhook/setup.js';

describe('webhook configuration', () => {
  const built = validatingWebhookConfiguration({
    name: 'validating-webhook-configuration',
    endpoint: { service: { namespace: 'system', name: 'webhook-service' } },
    operatorNamespace: 'shipshape-system',
  });
  const [shipped] = readYamlDocuments<V1ValidatingWebhookConfiguration>('config/webhook/manifests.yaml');

  it('matches the shipped manifest (selector, match conditions, rules, safety settings)', () => {
    const pick = (c: V1ValidatingWebhookConfiguration | undefined) =>
      c?.webhooks?.map((w) => ({
        name: w.name,
        admissionReviewVersions: w.admissionReviewVersions,
        sideEffects: w.sideEffects,
        failurePolicy: w.failurePolicy,
        timeoutSeconds: w.timeoutSeconds,
        namespaceSelector: w.namespaceSelector,
        matchConditions: w.matchConditions,
        rules: w.rules,
        path: w.clientConfig.service?.path,
      }));
    assert.deepEqual(pick(shipped), pick(built));
  });

  it('registers by URL on a cluster without a Service, with an IP SAN for an IP host', () => {
    const byUrl = validatingWebhookConfiguration({
      name: 'x',
      endpoint: { url: 'https://127.0.0.1:9443/validate' },
      operatorNamespace: 'ops',
      caBundle: 'PEM',
      failurePolicy: 'Fail',
    });
    const webhook = byUrl.webhooks?.[0];
    assert.equal(webhook?.clientConfig.url, 'https://127.0.0.1:9443/validate');
    assert.equal(webhook?.clientConfig.caBundle, Buffer.from('PEM').toString('base64'));
    assert.equal(webhook?.failurePolicy, 'Fail');
    assert.match(webhook?.matchConditions?.[0]?.expression ?? '', /'ops'/);
    assert.deepEqual(servingNames('https://127.0.0.1:9443/validate', 's', 'ops'), {
      dnsNames: [],
      ipAddresses: ['127.0.0.1'],
    });
    assert.deepEqual(servingNames(undefined, 'svc', 'ops').dnsNames, [
      'svc.ops.svc',
      'svc.ops.svc.cluster.local',
    ]);
  });

  it('injects a CA bundle into every webhook and reports nothing to do the second time', () => {
    const injected = withCaBundle(built, 'CA');
    assert.ok(injected);
    assert.ok(
      injected.webhooks?.every((w) => w.clientConfig.caBundle === Buffer.from('CA').toString('base64')),
    );
    assert.equal(injected.webhooks?.[0]?.clientConfig.service?.name, 'webhook-service');
    assert.equal(withCaBundle(injected, 'CA'), undefined);
  });
});
