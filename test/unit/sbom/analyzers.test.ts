import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

import { analyzeFile, selectorFor, DEFAULT_ANALYZERS } from '../../../src/sbom/analyzers/index.js';
import { apkAnalyzer } from '../../../src/sbom/analyzers/apk.js';
import { dpkgAnalyzer, parseDpkgStatus } from '../../../src/sbom/analyzers/dpkg.js';
import { npmAnalyzer } from '../../../src/sbom/analyzers/npm.js';
import { detectOs, osReleaseAnalyzer, parseOsRelease } from '../../../src/sbom/analyzers/os-release.js';
import { pythonAnalyzer } from '../../../src/sbom/analyzers/python.js';
import { parseRpmHeader, RPMTAG } from '../../../src/sbom/analyzers/rpm-header.js';
import { rpmAnalyzer } from '../../../src/sbom/analyzers/rpm.js';
import { encodeRpmHeader, rpmdbSqlite } from './rpm-encoder.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../../../test/fixtures/sbom/${name}`, import.meta.url));
const file = (path: string, content: Buffer | string, mode = 0o644) => ({
  path,
  content: typeof content === 'string' ? Buffer.from(content) : content,
  mode,
});

describe('os-release analyzer', () => {
  it('reads ID, VERSION_ID and the quoted PRETTY_NAME of a real Debian os-release', () => {
    const out = osReleaseAnalyzer.analyze(file('/usr/lib/os-release', fixture('os-release-debian')));
    assert.equal(out.os?.id, 'debian');
    assert.equal(out.os?.versionId, '12');
    assert.equal(out.os?.versionCodename, 'bookworm');
    assert.equal(out.os?.prettyName, 'Debian GNU/Linux 12 (bookworm)');
  });

  it('prefers /etc/os-release over /usr/lib/os-release and version files', () => {
    const os = detectOs([
      { path: '/etc/alpine-release', fragment: { id: 'alpine', versionId: '3.18.0' } },
      { path: '/usr/lib/os-release', fragment: { id: 'debian', versionId: '11' } },
      { path: '/etc/os-release', fragment: parseOsRelease(fixture('os-release-alpine').toString()) },
    ]);
    assert.deepEqual(os, {
      id: 'alpine',
      versionId: '3.19.1',
      prettyName: 'Alpine Linux v3.19',
      source: '/etc/os-release',
    });
  });

  it('falls back to /etc/debian_version and /etc/alpine-release without os-release', () => {
    const deb = osReleaseAnalyzer.analyze(file('/etc/debian_version', fixture('debian_version')));
    assert.deepEqual(detectOs([{ path: '/etc/debian_version', fragment: deb.os ?? {} }]), {
      id: 'debian',
      versionId: fixture('debian_version').toString().trim(),
      source: '/etc/debian_version',
    });
    const alpine = osReleaseAnalyzer.analyze(file('/etc/alpine-release', fixture('alpine-release')));
    assert.equal(detectOs([{ path: '/etc/alpine-release', fragment: alpine.os ?? {} }])?.versionId, '3.19.1');
  });

  it('fills a missing VERSION_ID (Debian testing) from debian_version only when it is numeric', () => {
    const sid = [
      { path: '/etc/os-release', fragment: { id: 'debian', prettyName: 'Debian GNU/Linux trixie/sid' } },
      { path: '/etc/debian_version', fragment: { id: 'debian', versionId: 'trixie/sid' } },
    ];
    assert.equal(detectOs(sid)?.versionId, undefined);
    assert.equal(
      detectOs([sid[0]!, { path: '/etc/debian_version', fragment: { id: 'debian', versionId: '13.1' } }])
        ?.versionId,
      '13.1',
    );
  });
});

describe('dpkg analyzer', () => {
  const status = fixture('dpkg-status').toString();

  it('lists every installed package of a real dpkg status file with version and arch', () => {
    const packages = parseDpkgStatus(status, '/var/lib/dpkg/status');
    assert.equal(packages.length, (status.match(/^Package: /gm) ?? []).length);
    const bash = packages.find((p) => p.name === 'bash');
    assert.ok(bash);
    assert.match(bash.version, /^5\./);
    assert.equal(bash.arch, 'amd64');
    assert.equal(bash.ecosystem, 'deb');
  });

  it('reads the source package and its version from "Source: name (version)"', () => {
    const packages = parseDpkgStatus(
      'Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\nSource: glibc (2.36-9+deb12u3)\n\n' +
        'Package: login\nStatus: install ok installed\nVersion: 1:4.13+dfsg1-1+b1\nSource: shadow\n\n' +
        'Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n',
      '/var/lib/dpkg/status',
    );
    assert.deepEqual(
      packages.map((p) => [p.name, p.sourceName, p.sourceVersion]),
      [
        ['libc6', 'glibc', '2.36-9+deb12u3'],
        ['login', 'shadow', '1:4.13+dfsg1-1+b1'],
        ['bash', 'bash', '5.2.15-2+b2'],
      ],
    );
  });

  it('skips packages that are removed or only half installed', () => {
    const text =
      `${status}\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n` +
      'Package: half\nStatus: install reinstreq half-installed\nVersion: 2.0\n';
    const names = parseDpkgStatus(text, '/var/lib/dpkg/status').map((p) => p.name);
    assert.ok(!names.includes('gone'));
    assert.ok(!names.includes('half'));
  });

  it('reads distroless status.d files, which have no Status field, but not their md5sums', () => {
    assert.equal(dpkgAnalyzer.wants('var/lib/dpkg/status.d/base-files', { size: 10, mode: 0o644 }), true);
    assert.equal(
      dpkgAnalyzer.wants('var/lib/dpkg/status.d/base-files.md5sums', { size: 10, mode: 0o644 }),
      false,
    );
    assert.equal(dpkgAnalyzer.wants('var/lib/dpkg/status-old', { size: 10, mode: 0o644 }), false);
    const out = dpkgAnalyzer.analyze(
      file('/var/lib/dpkg/status.d/tzdata', 'Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n'),
    );
    assert.deepEqual(
      out.packages.map((p) => `${p.name}@${p.version}`),
      ['tzdata@2024a-0+deb12u1'],
    );
  });
});

describe('apk analyzer', () => {
  it('reads name, version, arch, origin and license from a real-format installed db', () => {
    const out = apkAnalyzer.analyze(file('/lib/apk/db/installed', fixture('apk-installed')));
    assert.deepEqual(
      out.packages.map((p) => [p.name, p.version, p.arch, p.sourceName, p.license]),
      [
        ['musl', '1.2.4_git20230717-r4', 'x86_64', 'musl', 'MIT'],
        ['busybox', '1.36.1-r15', 'x86_64', 'busybox', 'GPL-2.0-only'],
        ['alpine-baselayout-data', '3.4.3-r2', 'x86_64', 'alpine-baselayout', 'GPL-2.0-only'],
        ['ssl_client', '1.36.1-r15', 'x86_64', 'busybox', 'GPL-2.0-only'],
        ['libcrypto3', '3.1.4-r5', 'x86_64', 'openssl', 'Apache-2.0'],
      ],
    );
  });
});

describe('rpm analyzer', () => {
  // No rpm tool here: the database is made with node:sqlite in rpm's schema, and the
  // header blobs are encoded in the rpm header format by the test.
  const blobs = [
    encodeRpmHeader({
      [RPMTAG.NAME]: { string: 'openssl-libs' },
      [RPMTAG.VERSION]: { string: '3.0.7' },
      [RPMTAG.RELEASE]: { string: '25.el9_3' },
      [RPMTAG.EPOCH]: { int32: 1 },
      [RPMTAG.ARCH]: { string: 'x86_64' },
      [RPMTAG.LICENSE]: { string: 'ASL 2.0' },
      [RPMTAG.SOURCERPM]: { string: 'openssl-3.0.7-25.el9_3.src.rpm' },
    }),
    encodeRpmHeader({
      [RPMTAG.NAME]: { string: 'bash' },
      [RPMTAG.VERSION]: { string: '5.1.8' },
      [RPMTAG.RELEASE]: { string: '6.el9_1' },
      [RPMTAG.ARCH]: { string: 'x86_64' },
      [RPMTAG.SOURCERPM]: { string: 'bash-5.1.8-6.el9_1.src.rpm' },
    }),
    encodeRpmHeader({ [RPMTAG.NAME]: { string: 'gpg-pubkey' }, [RPMTAG.VERSION]: { string: 'fd431d51' } }),
  ];

  it('reads name, version-release, epoch, arch, license and source rpm from rpmdb.sqlite', () => {
    const out = rpmAnalyzer.analyze(file('/var/lib/rpm/rpmdb.sqlite', rpmdbSqlite(blobs)));
    assert.deepEqual(out.packages, [
      {
        name: 'openssl-libs',
        version: '3.0.7-25.el9_3',
        epoch: 1,
        arch: 'x86_64',
        license: 'ASL 2.0',
        sourceName: 'openssl',
        sourceVersion: '3.0.7-25.el9_3',
        ecosystem: 'rpm',
        location: '/var/lib/rpm/rpmdb.sqlite',
      },
      {
        name: 'bash',
        version: '5.1.8-6.el9_1',
        arch: 'x86_64',
        sourceName: 'bash',
        sourceVersion: '5.1.8-6.el9_1',
        ecosystem: 'rpm',
        location: '/var/lib/rpm/rpmdb.sqlite',
      },
    ]);
  });

  it('leaves no temporary database behind', () => {
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('shipshape-rpmdb-')).length;
    rpmAnalyzer.analyze(file('/var/lib/rpm/rpmdb.sqlite', rpmdbSqlite(blobs)));
    assert.equal(readdirSync(tmpdir()).filter((n) => n.startsWith('shipshape-rpmdb-')).length, before);
  });

  it('refuses header blobs whose offsets point outside the blob', () => {
    const blob = encodeRpmHeader({ [RPMTAG.NAME]: { string: 'x' } });
    blob.writeInt32BE(1_000_000, 8 + 16 + 8);
    assert.throws(() => parseRpmHeader(blob).string(RPMTAG.NAME), /outside/);
    assert.throws(() => parseRpmHeader(Buffer.from([0, 0, 0, 9, 0, 0, 0, 9])), /claims/);
  });

  it('turns a database that is not SQLite into an error note, not a crash', () => {
    const analysis = analyzeFile(DEFAULT_ANALYZERS, {
      path: 'var/lib/rpm/rpmdb.sqlite',
      size: 5,
      mode: 0o644,
      content: Buffer.from('junk!'),
    });
    assert.deepEqual(analysis.packages, []);
    assert.match(analysis.errors?.[0] ?? '', /^rpm: \/var\/lib\/rpm\/rpmdb.sqlite: not an SQLite database/);
  });
});

describe('npm analyzer', () => {
  it('wants package.json only at the root of an installed package', () => {
    const info = { size: 100, mode: 0o644 };
    assert.equal(npmAnalyzer.wants('app/node_modules/express/package.json', info), true);
    assert.equal(npmAnalyzer.wants('app/node_modules/@babel/code-frame/package.json', info), true);
    assert.equal(npmAnalyzer.wants('app/node_modules/a/node_modules/b/package.json', info), true);
    assert.equal(npmAnalyzer.wants('app/node_modules/express/lib/package.json', info), false);
    assert.equal(npmAnalyzer.wants('app/package.json', info), false);
    assert.equal(npmAnalyzer.wants('app/node_modules/.bin/package.json', info), false);
  });

  it('reads a scoped package and skips manifests without name or version', () => {
    const out = npmAnalyzer.analyze(
      file('/app/node_modules/@babel/code-frame/package.json', fixture('npm-package.json')),
    );
    assert.deepEqual(
      out.packages.map((p) => [p.name, p.version, p.license]),
      [['@babel/code-frame', '7.23.5', 'MIT']],
    );
    assert.deepEqual(
      npmAnalyzer.analyze(file('/x/node_modules/y/package.json', '{"type":"module"}')).packages,
      [],
    );
    assert.deepEqual(npmAnalyzer.analyze(file('/x/node_modules/y/package.json', 'not json')).packages, []);
  });
});

describe('python analyzer', () => {
  it('reads Name and Version from the headers of dist-info METADATA, not the description', () => {
    const path = 'usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA';
    assert.equal(pythonAnalyzer.wants(path, { size: 100, mode: 0o644 }), true);
    const out = pythonAnalyzer.analyze(file(`/${path}`, fixture('python-METADATA')));
    assert.deepEqual(
      out.packages.map((p) => [p.name, p.version, p.license]),
      [['requests', '2.31.0', 'Apache 2.0']],
    );
  });

  it('reads egg-info PKG-INFO, and single-file egg-info', () => {
    assert.equal(
      pythonAnalyzer.wants('usr/lib/python3/dist-packages/PyYAML-5.4.1.egg-info/PKG-INFO', {
        size: 1,
        mode: 0,
      }),
      true,
    );
    assert.equal(
      pythonAnalyzer.wants('usr/lib/python3.11/lib-dynload/foo-1.0.egg-info', { size: 1, mode: 0 }),
      true,
    );
    const out = pythonAnalyzer.analyze(file('/x/PyYAML-5.4.1.egg-info/PKG-INFO', fixture('python-PKG-INFO')));
    assert.deepEqual(
      out.packages.map((p) => [p.name, p.version]),
      [['PyYAML', '5.4.1']],
    );
  });
});

describe('analyzer selection', () => {
  it('asks the walker to sniff for ELF only when nothing but the Go analyzer wants a file', () => {
    const selector = selectorFor(DEFAULT_ANALYZERS);
    assert.deepEqual(selector.select('var/lib/dpkg/status', { size: 10, mode: 0o644 }), {});
    const exe = selector.select('usr/local/bin/app', { size: 10_000, mode: 0o755 });
    assert.deepEqual(exe?.magic && Buffer.from(exe.magic).toString('latin1'), '\x7fELF');
    assert.equal(
      selector.select('usr/lib/x86_64-linux-gnu/libc.so.6', { size: 10_000, mode: 0o755 }),
      undefined,
    );
    assert.equal(selector.select('usr/share/doc/readme', { size: 10_000, mode: 0o644 }), undefined);
  });
});
