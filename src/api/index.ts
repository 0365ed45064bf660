// Public surface of the shipshape.dev/v1alpha1 API: types, schemas and CRDs.
export * from './severity.js';
export * from './schema.js';
export * from './policy-types.js';
export * from './report-types.js';
export * from './policy-schema.js';
export * from './report-schema.js';
export * from './common-schema.js';
export * from './crds.js';
export * from './validate.js';
