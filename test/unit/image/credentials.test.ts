import assert from 'node:assert/strict';

import type { V1Secret, V1ServiceAccount } from '@kubernetes/client-node';

import {
  buildPullCredentials,
  fetchPullCredentials,
  pullSecretRefs,
  type PodLike,
  type SecretReader,
} from '../../../src/image/credentials.js';

const REGISTRY = 'registry.example:5000';

function dockerSecret(
  namespace: string,
  name: string,
  username: string,
  password: string,
  host = REGISTRY,
): V1Secret {
  const document = JSON.stringify({
    auths: { [host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } },
  });
  return {
    metadata: { namespace, name },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(document).toString('base64') },
  };
}

const pod: PodLike = {
  metadata: { namespace: 'shop', name: 'web-1' },
  spec: { serviceAccountName: 'builder', imagePullSecrets: [{ name: 'pod-cred' }, { name: 'missing' }] },
};
const serviceAccount: V1ServiceAccount = { imagePullSecrets: [{ name: 'sa-cred' }] };

describe('pull secrets of a pod', () => {
  it('finds the pod namespace, its pull secrets and its service account ("default" when unnamed)', () => {
    assert.deepEqual(pullSecretRefs(pod), {
      namespace: 'shop',
      pod: ['pod-cred', 'missing'],
      serviceAccountName: 'builder',
    });
    assert.deepEqual(pullSecretRefs({ metadata: { namespace: 'x' }, spec: {} }), {
      namespace: 'x',
      pod: [],
      serviceAccountName: 'default',
    });
  });

  it('tries the pod secrets, then the service account secrets, then the operator secret', async () => {
    const built = buildPullCredentials({
      pod,
      serviceAccount,
      secrets: new Map([
        ['pod-cred', dockerSecret('shop', 'pod-cred', 'pod-user', 'p1')],
        ['sa-cred', dockerSecret('shop', 'sa-cred', 'sa-user', 'p2')],
      ]),
      operatorSecret: dockerSecret('shipshape-system', 'global', 'op-user', 'p3'),
    });
    const credentials = await built.source.credentialsFor(REGISTRY, 'team/app');
    assert.deepEqual(
      credentials.map((c) => [c.username, c.source]),
      [
        ['pod-user', 'pull secret shop/pod-cred'],
        ['sa-user', 'pull secret shop/sa-cred'],
        ['op-user', 'pull secret shipshape-system/global'],
      ],
    );
    assert.deepEqual(built.secrets, [
      { name: 'shop/pod-cred', origin: 'pod' },
      { name: 'shop/sa-cred', origin: 'serviceAccount' },
      { name: 'shipshape-system/global', origin: 'operator' },
    ]);
    assert.deepEqual(built.problems, [
      'pod shop/web-1 refers to pull secret shop/missing, which does not exist',
    ]);
  });

  it('reports a referenced secret that is not a pull secret, without quoting its content', () => {
    const built = buildPullCredentials({
      pod: { metadata: { namespace: 'shop', name: 'p' }, spec: { imagePullSecrets: [{ name: 'opaque' }] } },
      secrets: new Map([
        [
          'opaque',
          {
            metadata: { namespace: 'shop', name: 'opaque' },
            type: 'Opaque',
            data: { password: 'aHVudGVyMg==' },
          },
        ],
      ]),
    });
    assert.equal(built.secrets.length, 0);
    assert.equal(built.problems.length, 1);
    assert.match(built.problems[0]!, /secret shop\/opaque is not a pull secret/);
    assert.doesNotMatch(built.problems[0]!, /aHVudGVyMg|hunter2/);
  });

  it('only offers credentials whose registry matches the image', async () => {
    const built = buildPullCredentials({
      pod: { metadata: { namespace: 'shop' }, spec: { imagePullSecrets: [{ name: 'other' }] } },
      secrets: new Map([['other', dockerSecret('shop', 'other', 'u', 'p', 'ghcr.io')]]),
    });
    assert.deepEqual(await built.source.credentialsFor(REGISTRY, 'team/app'), []);
    assert.equal((await built.source.credentialsFor('ghcr.io', 'team/app')).length, 1);
  });
});

describe('fetching pull secrets through the API', () => {
  class FakeApi implements SecretReader {
    readonly reads: string[] = [];
    constructor(
      private readonly secrets: Record<string, V1Secret | number>,
      private readonly accounts: Record<string, V1ServiceAccount | number>,
    ) {}
    async readNamespacedSecret({ name, namespace }: { name: string; namespace: string }): Promise<V1Secret> {
      this.reads.push(`secret ${namespace}/${name}`);
      const found = this.secrets[`${namespace}/${name}`] ?? 404;
      if (typeof found === 'number')
        throw Object.assign(new Error(`HTTP ${found} body with secrets`), { code: found });
      return found;
    }
    async readNamespacedServiceAccount({
      name,
      namespace,
    }: {
      name: string;
      namespace: string;
    }): Promise<V1ServiceAccount> {
      this.reads.push(`serviceaccount ${namespace}/${name}`);
      const found = this.accounts[`${namespace}/${name}`] ?? 404;
      if (typeof found === 'number') throw Object.assign(new Error(`HTTP ${found}`), { code: found });
      return found;
    }
  }

  it('reads the service account and every referenced secret, then orders them', async () => {
    const api = new FakeApi(
      {
        'shop/pod-cred': dockerSecret('shop', 'pod-cred', 'pod-user', 'p1'),
        'shop/sa-cred': dockerSecret('shop', 'sa-cred', 'sa-user', 'p2'),
        'ops/global': dockerSecret('ops', 'global', 'op-user', 'p3'),
      },
      { 'shop/builder': serviceAccount },
    );
    const built = await fetchPullCredentials(api, pod, { namespace: 'ops', name: 'global' });
    assert.deepEqual(
      (await built.source.credentialsFor(REGISTRY, 'x/y')).map((c) => c.username),
      ['pod-user', 'sa-user', 'op-user'],
    );
    assert.deepEqual(built.problems, [
      'pod shop/web-1 refers to pull secret shop/missing, which does not exist',
    ]);
    assert.ok(api.reads.includes('serviceaccount shop/builder'));
  });

  it('notes secrets it may not read, and a missing service account is not a problem', async () => {
    const api = new FakeApi({ 'shop/pod-cred': 403 }, {});
    const built = await fetchPullCredentials(api, {
      metadata: { namespace: 'shop', name: 'web-1' },
      spec: { imagePullSecrets: [{ name: 'pod-cred' }] },
    });
    assert.deepEqual(built.problems, [
      'pod shop/web-1 refers to pull secret shop/pod-cred, which could not be read: the API server answered 403',
    ]);
    assert.doesNotMatch(built.problems.join('\n'), /body with secrets/);
  });
});
