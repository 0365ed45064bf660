// The OpenAPI schemas of SecurityReport and ImageReport. Both are written by the
// operator; their size bounds keep one object far below etcd's 1.5 MiB limit.
import { SEVERITIES } from './severity.js';
import {
  CONTAINER_KINDS,
  IMAGE_ANALYSIS_STATES,
  SIGNATURE_VERDICTS,
  WORKLOAD_SIGNATURE_STATES,
} from './report-types.js';
import { arr, bool, enumStr, int, obj, str, timestamp, type JSONSchema } from './schema.js';
import { conditionsSchema, severityCountsSchema } from './common-schema.js';

/** Findings kept in one SecurityReport; the rest are counted in the summary only. */
export const MAX_REPORT_FINDINGS = 256;
/** Image digests as go-digest registers them: sha256, sha384 or sha512 with their exact hex lengths. */
export const IMAGE_DIGEST_PATTERN = '^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$';
/** "sha512:" and 128 hex digits. */
export const DIGEST_MAX_LENGTH = 135;
/** Vulnerabilities listed in one ImageReport (the most severe first). */
export const MAX_IMAGE_VULNERABILITIES = 100;

const countsWithTotal = (description: string): JSONSchema => {
  const schema = severityCountsSchema(description);
  return { ...schema, properties: { ...schema.properties, total: int('All findings.', { minimum: 0 }) } };
};

export const securityReportSpecSchema: JSONSchema = obj(
  'The workload this report is about.',
  {
    subject: obj(
      'The workload: a bare Pod or the controller that owns the pods.',
      {
        apiVersion: str('The workload API version.', { maxLength: 64 }),
        kind: str('The workload kind.', { maxLength: 64 }),
        name: str('The workload name.', { maxLength: 253 }),
        uid: str('The workload UID.', { maxLength: 64 }),
      },
      { required: ['apiVersion', 'kind', 'name'] },
    ),
    containers: arr(
      'The containers of the pod template, with their images.',
      obj(
        'A container.',
        {
          name: str('The container name.', { maxLength: 63 }),
          kind: enumStr('container, initContainer or ephemeralContainer.', CONTAINER_KINDS),
          image: str('The image reference as written in the pod spec.', { maxLength: 512 }),
          digest: str('The resolved image digest, when known.', { maxLength: DIGEST_MAX_LENGTH }),
        },
        { required: ['name', 'kind', 'image'] },
      ),
      64,
    ),
  },
  { required: ['subject'] },
);

export const securityReportStatusSchema: JSONSchema = obj('What the last evaluation found.', {
  compliant: bool('True when no policy reported a finding for this workload.'),
  summary: countsWithTotal('Findings by severity.'),
  findings: arr(
    `The findings, most severe first (at most ${MAX_REPORT_FINDINGS}).`,
    obj(
      'A rule that the workload does not satisfy.',
      {
        ruleId: str('The rule id (see docs/rules.md).', { maxLength: 64 }),
        title: str('The rule title.', { maxLength: 256 }),
        severity: enumStr('The finding severity.', SEVERITIES),
        category: str('The rule category.', { maxLength: 64 }),
        policy: str('The policy that reported it: namespace/name or, for a cluster policy, name.', {
          maxLength: 317,
        }),
        container: str('The container, for container-level findings.', { maxLength: 63 }),
        subject: str(
          'What the finding is about within its rule and container: the vulnerability id of a vulnerabilities.* finding.',
          { maxLength: 64 },
        ),
        message: str('What is wrong, naming the container and the offending value.', { maxLength: 1024 }),
        remediation: str('How to fix it.', { maxLength: 1024 }),
        firstSeen: timestamp('When the finding was first reported.'),
        lastSeen: timestamp('When the finding was last confirmed.'),
      },
      { required: ['ruleId', 'severity', 'policy', 'message'] },
    ),
    MAX_REPORT_FINDINGS,
  ),
  findingsTruncated: bool('True when findings were left out to respect the size bound.'),
  images: arr(
    'Per-image facts relevant to the policies.',
    obj(
      'An image used by the workload.',
      {
        image: str('The image reference.', { maxLength: 512 }),
        digest: str('The image digest.', { maxLength: DIGEST_MAX_LENGTH }),
        vulnerabilities: severityCountsSchema('Vulnerabilities by severity.'),
        signature: enumStr(
          'The signature verdict under the policies that require signatures: Verified, Unsigned, Invalid, or Error when the registry or trust material could not be read (retried).',
          SIGNATURE_VERDICTS,
        ),
        signatureMessage: str('Which attestors verified the image, or why it is not verified.', {
          maxLength: 1024,
        }),
        analysis: enumStr(
          'Where image analysis stands: Pending (not analysed yet), Analyzed, or Failed (see reason and message).',
          IMAGE_ANALYSIS_STATES,
        ),
        reason: str('Why analysis failed, in CamelCase (for example RegistryNotAllowed or Unauthorized).', {
          maxLength: 64,
          pattern: '^[A-Z][A-Za-z0-9]*$',
        }),
        message: str('What went wrong with the analysis, in one sentence a user can act on.', {
          maxLength: 1024,
        }),
        os: str('The distribution found in the image, for example debian 12.', { maxLength: 128 }),
        packages: int('Packages found in the image.', { minimum: 0 }),
      },
      { required: ['image'] },
    ),
    64,
  ),
  signed: enumStr(
    'The worst signature verdict over the images that a policy requires to be signed (Error before Invalid before Unsigned before Pending before Verified). Absent when no policy requires signatures.',
    WORKLOAD_SIGNATURE_STATES,
  ),
  policies: arr(
    'The policies that applied (namespace/name or name).',
    str('A policy.', { maxLength: 317 }),
    64,
  ),
  lastEvaluated: timestamp('When the workload was last evaluated.'),
  conditions: conditionsSchema,
});

export const imageReportSpecSchema: JSONSchema = obj(
  'The image this report is about.',
  {
    digest: str('The image manifest digest (sha256, sha384 or sha512).', {
      maxLength: DIGEST_MAX_LENGTH,
      pattern: IMAGE_DIGEST_PATTERN,
    }),
    references: arr(
      'References seen in pod specs that resolved to this digest.',
      str('An image reference.', { maxLength: 512 }),
      32,
    ),
  },
  { required: ['digest'] },
);

export const imageReportStatusSchema: JSONSchema = obj('What the last scan found.', {
  os: obj('The operating system of the image.', {
    family: str('The OS family, for example debian or alpine.', { maxLength: 64 }),
    name: str('The OS name.', { maxLength: 128 }),
    version: str('The OS version.', { maxLength: 64 }),
  }),
  packageCount: int('Packages in the inventory.', { minimum: 0 }),
  vulnerabilities: obj('Vulnerabilities by severity.', {
    ...severityCountsSchema('').properties,
    total: int('All vulnerabilities.', { minimum: 0 }),
    fixable: int('Vulnerabilities with a fixed version.', { minimum: 0 }),
  }),
  topVulnerabilities: arr(
    `The most important vulnerabilities (at most ${MAX_IMAGE_VULNERABILITIES}); the full list lives in the operator cache.`,
    obj(
      'A vulnerability in a package of the image.',
      {
        id: str('The vulnerability id.', { maxLength: 64 }),
        severity: enumStr('The severity.', SEVERITIES),
        package: str('The affected package.', { maxLength: 256 }),
        installedVersion: str('The installed version.', { maxLength: 128 }),
        fixedVersion: str('The first fixed version, when there is one.', { maxLength: 128 }),
        title: str('A short title.', { maxLength: 256 }),
        aliases: arr(
          'Other ids of the same flaw (GHSA, DSA, ...), at most 8.',
          str('An id.', { maxLength: 64 }),
          8,
        ),
      },
      { required: ['id', 'severity', 'package', 'installedVersion'] },
    ),
    MAX_IMAGE_VULNERABILITIES,
  ),
  topVulnerabilitiesLimit: int(
    'How many vulnerabilities topVulnerabilities lists at most (most severe, then fixable, first); the counts are exact.',
    { minimum: 0 },
  ),
  topVulnerabilitiesTruncated: bool(
    'True when the image has more vulnerabilities than topVulnerabilities lists.',
  ),
  signatures: arr(
    'Signature verdicts, one per attestor of each policy that requires signatures of this image.',
    obj(
      'A signature check.',
      {
        attestor: str('The attestor (policy/attestor name).', { maxLength: 317 }),
        verdict: enumStr(
          'Verified (this attestor signed), Unsigned, Invalid or Error (registry or trust material unreadable).',
          SIGNATURE_VERDICTS,
        ),
        reason: str('The CamelCase reason of an Invalid or Error verdict (WrongKey, RegistryError, ...).', {
          maxLength: 64,
          pattern: '^[A-Z][A-Za-z0-9]*$',
        }),
        message: str('Why, in a sentence.', { maxLength: 1024 }),
        checkedAt: timestamp('When it was checked.'),
      },
      { required: ['attestor', 'verdict'] },
    ),
    32,
  ),
  scanner: obj('The scanner that produced this report.', {
    name: str('Scanner name.', { maxLength: 64 }),
    version: str('Scanner version.', { maxLength: 64 }),
    databaseVersion: str('Vulnerability database version.', { maxLength: 128 }),
    databaseUpdated: timestamp('When the vulnerability database was last updated.'),
  }),
  scannedAt: timestamp('When the image was last scanned.'),
  conditions: conditionsSchema,
});
