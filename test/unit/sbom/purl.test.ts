import assert from 'node:assert/strict';

import { purlFor } from '../../../src/sbom/purl.js';
import type { DetectedPackage, OsInfo } from '../../../src/sbom/types.js';

const debian: OsInfo = { id: 'debian', versionId: '12', source: '/etc/os-release' };
const pkg = (
  p: Partial<DetectedPackage> & Pick<DetectedPackage, 'name' | 'version' | 'ecosystem'>,
): DetectedPackage => ({
  location: '/x',
  ...p,
});

describe('package urls', () => {
  it('spells deb packages with arch and distro qualifiers in sorted order, encoding + in versions', () => {
    assert.equal(
      purlFor(pkg({ name: 'libc6', version: '2.36-9+deb12u4', ecosystem: 'deb', arch: 'amd64' }), debian),
      'pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12',
    );
  });

  it('keeps a Debian epoch colon readable in the version', () => {
    assert.equal(
      purlFor(pkg({ name: 'login', version: '1:4.13+dfsg1-1', ecosystem: 'deb', arch: 'amd64' }), debian),
      'pkg:deb/debian/login@1:4.13%2Bdfsg1-1?arch=amd64&distro=debian-12',
    );
  });

  it('uses the OS id as the namespace of apk and rpm purls, with the rpm epoch as a qualifier', () => {
    const alpine: OsInfo = { id: 'alpine', versionId: '3.19.1', source: '/etc/os-release' };
    assert.equal(
      purlFor(pkg({ name: 'musl', version: '1.2.4-r2', ecosystem: 'apk', arch: 'x86_64' }), alpine),
      'pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1',
    );
    const rhel: OsInfo = { id: 'rhel', versionId: '9.3', source: '/etc/os-release' };
    assert.equal(
      purlFor(
        pkg({ name: 'openssl-libs', version: '3.0.7-25.el9_3', ecosystem: 'rpm', arch: 'x86_64', epoch: 1 }),
        rhel,
      ),
      'pkg:rpm/rhel/openssl-libs@3.0.7-25.el9_3?arch=x86_64&distro=rhel-9.3&epoch=1',
    );
  });

  it('puts an npm scope in the namespace, encoded', () => {
    assert.equal(
      purlFor(pkg({ name: '@babel/core', version: '7.0.0', ecosystem: 'npm' }), undefined),
      'pkg:npm/%40babel/core@7.0.0',
    );
    assert.equal(
      purlFor(pkg({ name: 'lodash', version: '4.17.21', ecosystem: 'npm' }), undefined),
      'pkg:npm/lodash@4.17.21',
    );
  });

  it('normalises PyPI names to lower case with dashes', () => {
    assert.equal(
      purlFor(pkg({ name: 'PyYAML', version: '5.4.1', ecosystem: 'pypi' }), undefined),
      'pkg:pypi/pyyaml@5.4.1',
    );
    assert.equal(
      purlFor(pkg({ name: 'zope_interface', version: '6.0', ecosystem: 'pypi' }), undefined),
      'pkg:pypi/zope-interface@6.0',
    );
  });

  it('splits Go module paths into namespace and name', () => {
    assert.equal(
      purlFor(pkg({ name: 'github.com/gorilla/mux', version: 'v1.8.0', ecosystem: 'golang' }), undefined),
      'pkg:golang/github.com/gorilla/mux@v1.8.0',
    );
    assert.equal(
      purlFor(pkg({ name: 'stdlib', version: '1.22.1', ecosystem: 'golang' }), undefined),
      'pkg:golang/stdlib@1.22.1',
    );
  });

  it('spells maven coordinates group/artifact', () => {
    assert.equal(
      purlFor(
        pkg({ name: 'org.apache.logging.log4j:log4j-core', version: '2.14.1', ecosystem: 'maven' }),
        undefined,
      ),
      'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1',
    );
  });
});
