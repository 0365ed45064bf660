// The operator image is built the way Shipshape tells others to build theirs.
// No Docker engine is needed: these read the Dockerfile, .dockerignore and
// tsconfig.build.json.
import assert from 'node:assert/strict';
import { buildStages, execForm, parseDockerfile, type BuildStage } from './dockerfile.js';
import { readRepoFile } from './repo-files.js';

const instructions = parseDockerfile(readRepoFile('Dockerfile'));
const stages = buildStages(instructions);
const runtime = stages.at(-1) as BuildStage;
const stageNames = new Set(stages.map((s) => s.name).filter(Boolean));

const argsOf = (stage: BuildStage, keyword: string): string[] =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

describe('Dockerfile parsing', () => {
  it('joins continuation lines and skips comments inside them', () => {
    const parsed = parseDockerfile('FROM a AS b\nRUN one \\\n# note\n  two\nUSER 1:1\n');
    assert.deepEqual(
      parsed.map((i) => [i.keyword, i.args, i.line]),
      [
        ['FROM', 'a AS b', 1],
        ['RUN', 'one two', 2],
        ['USER', '1:1', 5],
      ],
    );
  });
});

describe('the operator image (Dockerfile)', () => {
  it('is a multi-stage build whose runtime stage copies from the build stage', () => {
    assert.ok(stages.length >= 2, `expected at least two stages, found ${stages.length}`);
    const copiesFromBuild = argsOf(runtime, 'COPY').filter((a) => /--from=(\S+)/.test(a));
    assert.ok(copiesFromBuild.length > 0, 'the runtime stage copies nothing from an earlier stage');
    for (const copy of copiesFromBuild) {
      const from = /--from=(\S+)/.exec(copy)?.[1] ?? '';
      assert.ok(stageNames.has(from), `COPY --from=${from} names no earlier stage`);
    }
  });

  it('pins every external base image by sha256 digest', () => {
    for (const stage of stages) {
      if (stageNames.has(stage.base)) continue;
      assert.match(stage.base, /^[^@\s]+@sha256:[0-9a-f]{64}$/, `FROM ${stage.base} is not pinned by digest`);
    }
  });

  it('runs on a distroless base as a numeric non-root user and group', () => {
    assert.match(runtime.base, /^gcr\.io\/distroless\/nodejs24-debian12:nonroot@/);
    const users = argsOf(runtime, 'USER');
    assert.ok(users.length > 0, 'the runtime stage sets no USER');
    const last = users.at(-1) ?? '';
    const match = /^(\d+):(\d+)$/.exec(last);
    assert.ok(match, `USER ${last} is not numeric uid:gid (Kubernetes runAsNonRoot needs a numeric uid)`);
    assert.notEqual(Number(match[1]), 0, 'USER is root');
    assert.notEqual(Number(match[2]), 0, 'group is root');
  });

  it('has a HEALTHCHECK that needs no shell (exec form, Node probing /healthz)', () => {
    const healthchecks = argsOf(runtime, 'HEALTHCHECK');
    assert.equal(healthchecks.length, 1);
    const command = /\bCMD\s+(\[.*\])\s*$/.exec(healthchecks[0] ?? '')?.[1];
    assert.ok(command, 'HEALTHCHECK has no exec-form CMD');
    const argv = execForm(command) ?? [];
    assert.equal(argv[0], '/nodejs/bin/node');
    assert.match(argv.join(' '), /http:\/\/127\.0\.0\.1:8081\/healthz/);
  });

  it('starts the CLI with node in exec form and runs `operator` by default', () => {
    const entrypoint = execForm(argsOf(runtime, 'ENTRYPOINT').at(-1) ?? '');
    assert.ok(entrypoint, 'ENTRYPOINT is missing or in shell form');
    assert.equal(entrypoint[0], '/nodejs/bin/node');
    assert.equal(entrypoint.at(-1), '/app/dist/src/cli/main.js');
    assert.deepEqual(execForm(argsOf(runtime, 'CMD').at(-1) ?? ''), ['operator']);
  });

  it('exposes metrics (8080), probes (8081) and the webhook (9443)', () => {
    const ports = argsOf(runtime, 'EXPOSE').flatMap((a) => a.split(/\s+/));
    assert.deepEqual(ports.sort(), ['8080', '8081', '9443']);
  });

  it('installs exactly the lockfile without running install scripts, and prunes dev dependencies', () => {
    const runs = stages.flatMap((s) => argsOf(s, 'RUN')).join('\n');
    assert.match(runs, /\bnpm ci --ignore-scripts\b/);
    assert.doesNotMatch(runs, /\bnpm (install|i)\b/);
    assert.match(runs, /tsc -p tsconfig\.build\.json/);
    assert.match(runs, /npm prune --omit=dev/);
  });

  it('ships only the compiled src, production node_modules and package.json', () => {
    const copied = argsOf(runtime, 'COPY').map((a) => a.split(/\s+/).filter((w) => !w.startsWith('--'))[0]);
    assert.deepEqual(copied.sort(), ['/src/dist/src', '/src/node_modules', '/src/package.json']);
    assert.equal(argsOf(runtime, 'ADD').length, 0, 'ADD fetches or unpacks implicitly; use COPY');
  });

  it('carries OCI labels', () => {
    const labels = argsOf(runtime, 'LABEL').join(' ');
    for (const key of ['title', 'description', 'licenses', 'version', 'revision']) {
      assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key}=`), `label ${key} missing`);
    }
  });
});

describe('the image build context (.dockerignore)', () => {
  it('allow-lists only what the build copies', () => {
    const lines = readRepoFile('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    assert.equal(lines[0], '*', 'the context should start from nothing');
    assert.deepEqual(lines.slice(1).sort(), [
      '!package-lock.json',
      '!package.json',
      '!src/',
      '!tsconfig.build.json',
      '!tsconfig.json',
    ]);
  });
});

describe('the production TypeScript build (tsconfig.build.json)', () => {
  it('compiles src/ only, into the same dist/src layout as the dev build', () => {
    // tsconfig files may hold comments; strip whole-line ones before JSON.parse.
    const text = readRepoFile('tsconfig.build.json')
      .split('\n')
      .filter((l) => !l.trim().startsWith('//'))
      .join('\n');
    const config = JSON.parse(text) as {
      extends?: string;
      include?: string[];
      compilerOptions?: { rootDir?: string; outDir?: string; types?: string[] };
    };
    assert.equal(config.extends, './tsconfig.json');
    assert.deepEqual(config.include, ['src/**/*.ts']);
    assert.equal(config.compilerOptions?.rootDir, '.');
    assert.equal(config.compilerOptions?.outDir, 'dist');
    assert.ok(!config.compilerOptions?.types?.includes('mocha'), 'test types leak into the production build');
  });
});
