// Real test images for the e2e suite: each builder pushes an image to a
// registry and returns its reference, digest and what a correct inventory of
// it must contain. Heavy inputs are cached under ~/.cache/shipshape/images.
export { alpineFixtureImage, alpineLayer, ALPINE_RELEASE, apkInstalledDatabase } from './alpine.js';
export { debianImage, debianRootfs, parseDpkgStatus, formatDpkgStatus, PURGED_PACKAGE } from './debian.js';
export type { ExpectedFile, ExpectedInventory, ExpectedPackage, PackageType, TestImage } from './expected.js';
export { goBinaryImage, GO_DEPENDENCY } from './go-binary.js';
export { multiArchIndex, type MultiArchImage } from './multi-arch.js';
export { nodeAppImage, EXPRESS_VERSION } from './node-app.js';
export { pythonImage, PYTHON_REQUIREMENTS, SITE_PACKAGES } from './python.js';
export { rpmFixtureImage, RPM_PACKAGES, ROCKY_RELEASE } from './rpm.js';
export { trivyInventory, parseCycloneDxInventory, packageFromPurl, type TrivyPackage } from './trivy.js';
