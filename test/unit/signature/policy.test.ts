// Mapping a policy's spec.signatures (the CRD subset) to the rule the verifier evaluates.
import assert from 'node:assert/strict';

import { ruleFromPolicy } from '../../../src/signature/index.js';

const ROOT = {
  kind: 'ConfigMap',
  namespace: 'shipshape-system',
  name: 'sigstore',
  key: 'trusted_root.json',
} as const;
const PEM = '-----BEGIN PUBLIC KEY-----\nMFkw...\n-----END PUBLIC KEY-----\n';

describe('signature rules from policies', () => {
  it('maps key and keyless attestors, the operator supplying the trust root and log requirement', () => {
    const result = ruleFromPolicy(
      {
        required: true,
        images: ['registry.test/team/**'],
        attestors: [
          { name: 'release-key', publicKey: PEM },
          { name: 'ci', keyless: { issuer: 'https://issuer.test', subjectRegExp: '.*@team\\.test' } },
        ],
      },
      { trustedRootRef: ROOT, transparencyLog: { threshold: 1 } },
    );
    assert.deepEqual(result, {
      ok: true,
      rule: {
        images: ['registry.test/team/**'],
        attestors: [
          {
            kind: 'key',
            name: 'release-key',
            publicKey: PEM,
            trustedRootRef: ROOT,
            transparencyLog: { threshold: 1 },
          },
          {
            kind: 'keyless',
            name: 'ci',
            trustedRootRef: ROOT,
            issuer: { exact: 'https://issuer.test' },
            subject: { regExp: '.*@team\\.test' },
            transparencyLog: { threshold: 1 },
          },
        ],
      },
    });
  });

  it('refuses a keyless attestor when no trusted root is configured, naming it', () => {
    const result = ruleFromPolicy(
      { attestors: [{ name: 'ci', keyless: { issuer: 'https://i.test', subject: 'a@b.test' } }] },
      {},
    );
    assert.deepEqual(result, {
      ok: false,
      error: 'attestor ci is keyless but no trusted root is configured',
    });
  });
});
