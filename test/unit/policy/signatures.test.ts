// Specification of signatures.verified: signature verdicts (image facts keyed by the policy's
// requirement) turn into findings for Unsigned, Invalid and Error, in their own words; Verified and
// not-yet-known verdicts give none; spec.signatures.images narrows which containers are checked;
// and policies asking the same of an image share one requirement key.
import assert from 'node:assert/strict';
import type { SignatureSettings } from '../../../src/api/policy-types.js';
import { evaluateWorkload } from '../../../src/policy/evaluate.js';
import {
  signatureRequirementKey,
  type ImageFacts,
  type ImageSignatureFact,
} from '../../../src/policy/image-facts.js';
import { goodContainer, goodPodSpec, pod, policy } from './helpers.js';

const KEY = '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n';
const APP = 'ghcr.io/example/app:1.2.3';
const SIDE = 'docker.io/library/busybox:1.36';
const settings: SignatureSettings = {
  required: true,
  attestors: [{ name: 'release', publicKey: KEY, transparencyLog: { threshold: 0 } }],
};
const requirement = signatureRequirementKey(settings, undefined);
const spec = goodPodSpec({ containers: [goodContainer({ image: APP })] });

function findings(fact: ImageSignatureFact | undefined, s: SignatureSettings = settings, podSpec = spec) {
  const facts = new Map<string, ImageFacts>(
    fact === undefined ? [] : [[APP, { signatures: { [requirement]: fact } }]],
  );
  return evaluateWorkload(pod(podSpec), [policy({ signatures: s })], facts).filter(
    (f) => f.ruleId === 'signatures.verified',
  );
}

describe('signatures.verified', () => {
  it('passes a Verified image', () => {
    assert.deepEqual(
      findings({ verdict: 'Verified', attestors: ['release'], message: 'signed by release' }),
      [],
    );
  });

  it('says nothing while the verdict is not known yet', () => {
    assert.deepEqual(findings(undefined), []);
  });

  it('reports an Unsigned image, naming the image and the attestors', () => {
    const [f, ...rest] = findings({ verdict: 'Unsigned', message: 'no signature found' });
    assert.equal(rest.length, 0);
    assert.equal(f?.severity, 'High');
    assert.equal(f?.image, APP);
    assert.match(
      f?.message ?? '',
      /"ghcr\.io\/example\/app:1\.2\.3" is Unsigned .*release.*no signature found/,
    );
  });

  it('reports an Invalid signature with its reason', () => {
    const [f] = findings({ verdict: 'Invalid', reason: 'WrongKey', message: 'signed by another key' });
    assert.match(f?.message ?? '', /Invalid signature \(WrongKey\): signed by another key/);
  });

  it('reports Error as "could not verify", never as Unsigned', () => {
    const [f] = findings({ verdict: 'Error', reason: 'RegistryError', message: 'connection refused' });
    assert.match(f?.message ?? '', /could not verify the signature \(Error, RegistryError; retrying\)/);
    assert.doesNotMatch(f?.message ?? '', /Unsigned/);
  });

  it('checks only images matching spec.signatures.images', () => {
    const two = goodPodSpec({
      containers: [goodContainer({ image: APP }), goodContainer({ name: 'side', image: SIDE })],
    });
    const unsigned: ImageSignatureFact = { verdict: 'Unsigned', message: 'none' };
    const facts = new Map<string, ImageFacts>([
      [APP, { signatures: { [requirement]: unsigned } }],
      [SIDE, { signatures: { [requirement]: unsigned } }],
    ]);
    const narrowed = { ...settings, images: ['ghcr.io/example/**'] };
    const found = evaluateWorkload(pod(two), [policy({ signatures: narrowed })], facts).filter(
      (f) => f.ruleId === 'signatures.verified',
    );
    assert.deepEqual(
      found.map((f) => f.image),
      [APP],
    );
  });

  it('does not run when signatures are not required', () => {
    assert.deepEqual(
      findings({ verdict: 'Unsigned', message: 'none' }, { ...settings, required: false }),
      [],
    );
  });

  it('keys requirements by what they ask, not where they apply', () => {
    assert.equal(signatureRequirementKey({ ...settings, images: ['x/**'] }, undefined), requirement);
    assert.notEqual(signatureRequirementKey({ ...settings, count: 1 }, 'team-a'), requirement);
    assert.notEqual(
      signatureRequirementKey({ ...settings, annotations: { env: 'prod' } }, undefined),
      requirement,
    );
  });
});
