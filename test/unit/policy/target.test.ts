import assert from 'node:assert/strict';
import { compilePolicy } from '../../../src/policy/compile.js';
import { policyAppliesTo } from '../../../src/policy/match.js';
import { podImages, policyTargetOf } from '../../../src/policy/target.js';

describe('policyTargetOf', () => {
  const template = {
    metadata: { labels: { app: 'web' } },
    spec: {
      initContainers: [{ name: 'init', image: 'busybox:1.36' }],
      containers: [{ name: 'web', image: 'nginx:1.27' }],
      ephemeralContainers: [{ name: 'debugger', image: 'ghcr.io/tools/debug:1' }],
    },
  };

  it('lists the images of init, regular and ephemeral containers', () => {
    assert.deepEqual(podImages(template.spec), ['busybox:1.36', 'nginx:1.27', 'ghcr.io/tools/debug:1']);
  });

  it('carries namespace, kind, labels and every image', () => {
    assert.deepEqual(
      policyTargetOf({ namespace: 'shop', namespaceLabels: { team: 'a' }, kind: 'Pod', template }),
      {
        namespace: 'shop',
        namespaceLabels: { team: 'a' },
        kind: 'Pod',
        labels: { app: 'web' },
        images: ['busybox:1.36', 'nginx:1.27', 'ghcr.io/tools/debug:1'],
      },
    );
  });

  it('lets a policy that selects by image match a bare pod through its ephemeral container', () => {
    const policy = compilePolicy({
      apiVersion: 'shipshape.dev/v1alpha1',
      kind: 'SecurityPolicy',
      metadata: { name: 'debug-images', namespace: 'shop', uid: 'uid-target-test', generation: 1 },
      spec: { match: { images: ['ghcr.io/tools/**'] } },
    });
    assert.equal(policyAppliesTo(policy, policyTargetOf({ namespace: 'shop', kind: 'Pod', template })), true);
    const withoutDebug = { ...template, spec: { ...template.spec, ephemeralContainers: [] } };
    assert.equal(
      policyAppliesTo(policy, policyTargetOf({ namespace: 'shop', kind: 'Pod', template: withoutDebug })),
      false,
    );
  });
});
