/* global module */
// Layering of src/ (see ARCHITECTURE.md): each folder may import only the
// folders listed for it, so no arrow runs from a lower layer to a higher one.
// Lowest first: runtime (the domain-free framework: clock, queues, caches,
// text helpers; every layer may use it) · api (CRD types) · registry, sbom,
// policy · vuln, signature · image · report, metrics · controllers · webhook · cli. `npm run lint` runs `depcruise` with this file.
const layers = {
  runtime: [],
  api: ['runtime'],
  registry: ['runtime'],
  sbom: ['runtime', 'api'],
  policy: ['runtime', 'api', 'registry'],
  // registry: database sources pull OCI artifacts and archives through its client, transport and address policy.
  vuln: ['runtime', 'api', 'registry', 'sbom'],
  signature: ['runtime', 'api', 'registry'],
  image: ['api', 'runtime', 'registry', 'sbom', 'policy', 'vuln', 'signature'],
  report: ['runtime', 'api', 'policy', 'sbom', 'image'],
  metrics: ['runtime', 'api'],
  controllers: [
    'api',
    'runtime',
    'policy',
    'registry',
    'sbom',
    'vuln',
    'signature',
    'image',
    'report',
    'metrics',
  ],
  webhook: ['api', 'runtime', 'policy', 'registry', 'image', 'report', 'metrics', 'controllers'],
  cli: [
    'api',
    'runtime',
    'policy',
    'registry',
    'sbom',
    'vuln',
    'signature',
    'image',
    'report',
    'metrics',
    'controllers',
    'webhook',
  ],
};
const rootFiles = '^src/[^/]+\\.ts$'; // version.ts: a leaf every layer may read

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules must not import each other in a circle.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...Object.entries(layers).map(([layer, allowed]) => ({
      name: `layer-${layer}`,
      severity: 'error',
      comment: `src/${layer} may import only: ${allowed.join(', ') || 'nothing else in src'} (and src/version.ts).`,
      from: { path: `^src/${layer}/` },
      to: {
        path: '^src/',
        pathNot: [`^src/${layer}/`, rootFiles, ...allowed.map((a) => `^src/${a}/`)],
      },
    })),
    {
      name: 'layer-root-files',
      severity: 'error',
      comment: 'Files directly under src/ are leaves.',
      from: { path: rootFiles },
      to: { path: '^src/', pathNot: rootFiles },
    },
    {
      name: 'no-unknown-folder',
      severity: 'error',
      comment: 'Every folder of src/ has a place in the layering above.',
      from: { path: '^src/', pathNot: `^src/(${Object.keys(layers).join('|')})/|${rootFiles}` },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
