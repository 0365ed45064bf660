// The OpenAPI schema of SecurityPolicy and ClusterSecurityPolicy: one spec for
// both kinds, with defaults and CEL rules so that the API server refuses a bad
// policy at `kubectl apply` time with a message that names the field.
import { SEVERITIES } from './severity.js';
import {
  DEFAULT_MAX_IMAGE_AGE_DAYS,
  DEFAULT_MAX_IMAGE_SIZE_MB,
  ENFORCEMENT_MODES,
  IMAGE_UNKNOWN_CHOICES,
  POD_SECURITY_LEVELS,
  PULL_POLICIES,
  RESOURCE_NAMES,
  WORKLOAD_KINDS,
} from './policy-types.js';
import {
  arr,
  bool,
  cel,
  enumStr,
  int,
  obj,
  str,
  stringMap,
  stringSet,
  timestamp,
  type JSONSchema,
} from './schema.js';
import { conditionsSchema } from './common-schema.js';

/** Characters an image glob may use: a reference's own characters plus the wildcards `*` and `?`. */
export const IMAGE_GLOB_REGEX = '^[A-Za-z0-9._/:@*?-]+$';
/** An absolute path whose segments may hold the wildcards `*` and `?`. */
export const PATH_GLOB_REGEX = '^/[A-Za-z0-9._/*?-]*$';
/** Five cron fields: minute hour day-of-month month day-of-week. */
export const CRON_REGEX = '^[0-9*,/-]+ [0-9*,/-]+ [0-9*,/?LW-]+ [0-9A-Za-z*,/-]+ [0-9A-Za-z*,/?#L-]+$';
export const RULE_CATEGORIES = [
  'image',
  'securityContext',
  'resources',
  'probes',
  'secrets',
  'pss',
  'vulnerabilities',
  'signatures',
] as const;
/** A rule id is `<category>.<name>`, for example `image.tag` or `pss.runAsNonRoot`. */
export const RULE_ID_REGEX = `^(${RULE_CATEGORIES.join('|')})[.][A-Za-z][A-Za-z0-9_]*$`;
/** Exceptions may also name a whole category: `pss.*`. */
export const RULE_REF_REGEX = `^(${RULE_CATEGORIES.join('|')})[.]([A-Za-z][A-Za-z0-9_]*|[*])$`;
export const DNS_LABEL_REGEX = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const DNS_SUBDOMAIN_REGEX = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const CAPABILITY_REGEX = '^[A-Z][A-Z0-9_]*$';

function imageGlob(description: string, field: string): JSONSchema {
  return str(description, {
    minLength: 1,
    maxLength: 256,
    'x-kubernetes-validations': [
      cel(
        `self.matches('${IMAGE_GLOB_REGEX}') && !self.contains('***')`,
        `${field}: an image glob uses letters, digits, '.', '_', '-', '/', ':', '@' and the wildcards '*', '**' and '?' (no spaces, brackets or '***')`,
      ),
    ],
  });
}

function imageGlobList(description: string, field: string, maxItems = 64): JSONSchema {
  return stringSet(description, imageGlob('An image glob.', `${field}[*]`), maxItems);
}

function regexString(description: string, field: string): JSONSchema {
  return str(description, {
    minLength: 1,
    maxLength: 256,
    'x-kubernetes-validations': [
      // CEL cannot ask "is this a regex?", but compiling it as a pattern makes an
      // invalid one fail evaluation, and the failure carries this message.
      cel(`''.matches(self) || !''.matches(self)`, `${field} must be a valid RE2 regular expression`),
    ],
  });
}

function ruleIdList(description: string, field: string): JSONSchema {
  return stringSet(
    description,
    str('A rule id, `<category>.<name>` (see docs/rules.md).', {
      maxLength: 64,
      'x-kubernetes-validations': [
        cel(
          `self.matches('${RULE_ID_REGEX}')`,
          `${field}: a rule id is <category>.<name> with category one of ${RULE_CATEGORIES.join(', ')}`,
        ),
      ],
    }),
    64,
  );
}

export function labelSelectorSchema(description: string): JSONSchema {
  return obj(
    description,
    {
      matchLabels: stringMap(
        'Labels that must all be present with these values.',
        64,
        str('Label value.', { maxLength: 63 }),
      ),
      matchExpressions: arr(
        'Label requirements that must all hold.',
        obj(
          'A label requirement.',
          {
            key: str('The label key.', { maxLength: 317, minLength: 1 }),
            operator: enumStr('How the key relates to the values.', [
              'In',
              'NotIn',
              'Exists',
              'DoesNotExist',
            ]),
            values: stringSet(
              'Values for In and NotIn; empty for Exists and DoesNotExist.',
              str('Label value.', { maxLength: 63 }),
              64,
            ),
          },
          {
            required: ['key', 'operator'],
            'x-kubernetes-validations': [
              cel(
                `self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)`,
                'matchExpressions[*].values must be non-empty for In and NotIn and empty for Exists and DoesNotExist',
                { fieldPath: '.values' },
              ),
            ],
          },
        ),
        32,
      ),
    },
    { 'x-kubernetes-map-type': 'atomic' },
  );
}

function matchSchema(cluster: boolean): JSONSchema {
  const clusterOnly: Record<string, JSONSchema> = cluster
    ? {
        namespaceSelector: labelSelectorSchema(
          'Namespaces, by their labels, whose workloads this policy checks. Empty or absent: every namespace.',
        ),
        excludedNamespaces: stringSet(
          'Namespaces this policy never checks, for example kube-system.',
          str('A namespace name.', {
            maxLength: 63,
            'x-kubernetes-validations': [
              cel(
                `self.matches('${DNS_LABEL_REGEX}')`,
                'spec.match.excludedNamespaces[*] must be a namespace name (a lowercase DNS label)',
              ),
            ],
          }),
          128,
        ),
      }
    : {};
  return obj(
    'Which workloads and containers this policy checks. Absent: every workload in scope.',
    {
      ...clusterOnly,
      podSelector: labelSelectorSchema('Workloads whose pod labels match this selector.'),
      kinds: stringSet(
        'Workload kinds this policy checks. Absent: every kind.',
        enumStr('A workload kind.', WORKLOAD_KINDS),
        WORKLOAD_KINDS.length,
      ),
      images: imageGlobList(
        'Containers whose image matches one of these globs (`*` stays within a path segment, `**` crosses them). Absent: every container.',
        'spec.match.images',
      ),
      exclude: obj('Workloads and containers that this policy skips even when they match.', {
        images: imageGlobList(
          'Containers whose image matches one of these globs.',
          'spec.match.exclude.images',
        ),
        podSelector: labelSelectorSchema('Workloads whose pod labels match this selector.'),
      }),
    },
    {
      'x-kubernetes-validations': [
        cel(
          `!has(self.images) || !has(self.exclude) || !has(self.exclude.images) || !self.images.exists(i, i in self.exclude.images)`,
          'spec.match.exclude.images must not repeat an entry of spec.match.images (the policy would match nothing)',
          { fieldPath: '.exclude.images' },
        ),
      ],
    },
  );
}

const rulesSchema: JSONSchema = obj(
  'Which best-practice rules run and how. Every rule that is not optional runs unless disabled.',
  {
    enabled: ruleIdList('Optional rules to turn on, for example image.digest.', 'spec.rules.enabled[*]'),
    disabled: ruleIdList('Rules to turn off, for example probes.liveness.', 'spec.rules.disabled[*]'),
    severityOverrides: arr(
      'Severities to use instead of a rule’s own.',
      obj(
        'A rule and the severity its findings get under this policy.',
        {
          rule: str('A rule id.', {
            maxLength: 64,
            'x-kubernetes-validations': [
              cel(
                `self.matches('${RULE_ID_REGEX}')`,
                'spec.rules.severityOverrides[*].rule must be a rule id',
              ),
            ],
          }),
          severity: enumStr('The severity to report.', SEVERITIES),
        },
        { required: ['rule', 'severity'] },
      ),
      64,
      { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['rule'] },
    ),
    image: obj(
      'Settings of the image rules.',
      {
        allowedRegistries: imageGlobList(
          'Registries (host globs such as `*.example.com`, or `host/path/**` globs) that images may come from. Absent or empty: any registry not denied.',
          'spec.rules.image.allowedRegistries',
        ),
        deniedRegistries: imageGlobList(
          'Registries that images must not come from.',
          'spec.rules.image.deniedRegistries',
        ),
        requiredPullPolicy: enumStr(
          'The imagePullPolicy the optional rule image.pullPolicy asks for.',
          PULL_POLICIES,
          {
            default: 'Always',
          },
        ),
        privateRegistries: imageGlobList(
          'Registries that need credentials: images from them need imagePullSecrets (optional rule image.pullSecrets).',
          'spec.rules.image.privateRegistries',
        ),
        maxSizeMB: int(
          'The largest compressed image size, in MB (1 MB = 1,000,000 bytes, as docker prints sizes), that rule image.size accepts. Needs image analysis.',
          { minimum: 1, maximum: 1_000_000, default: DEFAULT_MAX_IMAGE_SIZE_MB, format: 'int32' },
        ),
        maxAgeDays: int(
          'The most days since an image’s creation time (from its config) that rule image.age accepts. Needs image analysis.',
          { minimum: 1, maximum: 36_500, default: DEFAULT_MAX_IMAGE_AGE_DAYS, format: 'int32' },
        ),
      },
      {
        default: {},
        'x-kubernetes-validations': [
          cel(
            `!has(self.allowedRegistries) || !has(self.deniedRegistries) || !self.allowedRegistries.exists(r, r in self.deniedRegistries)`,
            'spec.rules.image.deniedRegistries must not repeat an entry of spec.rules.image.allowedRegistries',
            { fieldPath: '.deniedRegistries' },
          ),
        ],
      },
    ),
    securityContext: obj(
      'Settings of the security context rules.',
      {
        forbiddenCapabilities: stringSet(
          'Capabilities a container must not add (names without the CAP_ prefix; ALL means every one).',
          str('A Linux capability name.', {
            maxLength: 64,
            pattern: CAPABILITY_REGEX,
          }),
          64,
          {
            default: [
              'ALL',
              'SYS_ADMIN',
              'NET_ADMIN',
              'NET_RAW',
              'SYS_PTRACE',
              'SYS_MODULE',
              'SYS_RAWIO',
              'BPF',
            ],
          },
        ),
        allowedCapabilities: stringSet(
          'If set, the only capabilities a container may add.',
          str('A Linux capability name.', { maxLength: 64, pattern: CAPABILITY_REGEX }),
          64,
        ),
        allowedHostPaths: stringSet(
          'hostPath volumes allowed under these path globs (for example /var/log/**).',
          str('An absolute path glob.', {
            maxLength: 256,
            'x-kubernetes-validations': [
              cel(
                `self.matches('${PATH_GLOB_REGEX}')`,
                'spec.rules.securityContext.allowedHostPaths[*] must be an absolute path glob',
              ),
            ],
          }),
          64,
        ),
        allowedHostPorts: arr(
          'Host ports containers may bind.',
          int('A port number.', { minimum: 1, maximum: 65535, format: 'int32' }),
          64,
          { 'x-kubernetes-list-type': 'set' },
        ),
        allowedSysctls: stringSet(
          'Sysctls allowed besides the Kubernetes safe set.',
          str('A sysctl name.', { maxLength: 253, pattern: '^[a-z0-9_./*-]+$' }),
          64,
        ),
      },
      {
        default: {},
        'x-kubernetes-validations': [
          cel(
            `!has(self.allowedCapabilities) || !has(self.forbiddenCapabilities) || !self.allowedCapabilities.exists(c, c in self.forbiddenCapabilities)`,
            'spec.rules.securityContext.allowedCapabilities must not repeat an entry of spec.rules.securityContext.forbiddenCapabilities',
            { fieldPath: '.allowedCapabilities' },
          ),
        ],
      },
    ),
    resources: obj(
      'Settings of the resource rules.',
      {
        requests: stringSet(
          'Resources every container must request.',
          enumStr('A resource name.', RESOURCE_NAMES),
          3,
          {
            default: ['cpu', 'memory'],
          },
        ),
        limits: stringSet(
          'Resources every container must limit.',
          enumStr('A resource name.', RESOURCE_NAMES),
          3,
          {
            default: ['memory'],
          },
        ),
      },
      { default: {} },
    ),
    secrets: obj(
      'Settings of the secret rules.',
      {
        credentialNamePatterns: arr(
          'Extra RE2 patterns of env variable names that hold credentials (matched case-insensitively).',
          regexString('An RE2 regular expression.', 'spec.rules.secrets.credentialNamePatterns[*]'),
          32,
        ),
        forbiddenMountPaths: stringSet(
          'Path globs where secret volumes must not be mounted (rule secrets.mountPath).',
          str('An absolute path glob.', {
            maxLength: 256,
            'x-kubernetes-validations': [
              cel(
                `self.matches('${PATH_GLOB_REGEX}')`,
                'spec.rules.secrets.forbiddenMountPaths[*] must be an absolute path glob',
              ),
            ],
          }),
          64,
        ),
      },
      { default: {} },
    ),
  },
  {
    default: {},
    'x-kubernetes-validations': [
      cel(
        `!has(self.enabled) || !has(self.disabled) || !self.enabled.exists(r, r in self.disabled)`,
        'spec.rules.disabled must not name a rule that spec.rules.enabled turns on',
        { fieldPath: '.disabled' },
      ),
    ],
  },
);

const exceptionsSchema: JSONSchema = arr(
  'Accepted risks: findings of these rules on these containers are not reported until the exception expires.',
  obj(
    'An exception. Every exception has an owner-readable reason and an expiry.',
    {
      name: str('A short name for the exception.', { maxLength: 63, minLength: 1 }),
      rules: stringSet(
        'Rule ids, or `<category>.*`, that the exception covers.',
        str('A rule id or category glob.', {
          maxLength: 64,
          'x-kubernetes-validations': [
            cel(
              `self.matches('${RULE_REF_REGEX}')`,
              'spec.exceptions[*].rules[*] must be a rule id or <category>.*',
            ),
          ],
        }),
        64,
        { minItems: 1 },
      ),
      images: imageGlobList(
        'Only containers with these images. Absent: any image.',
        'spec.exceptions[*].images',
      ),
      containers: stringSet(
        'Only containers with these names. Absent: any container.',
        str('A container name.', { maxLength: 63 }),
        64,
      ),
      podSelector: labelSelectorSchema('Only workloads whose pod labels match.'),
      reason: str('Why the risk is accepted.', { minLength: 1, maxLength: 1024 }),
      expires: timestamp('When the exception stops applying (RFC 3339).'),
    },
    { required: ['name', 'rules', 'reason', 'expires'] },
  ),
  64,
  { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
);

function vulnerabilitiesSchema(cluster: boolean): JSONSchema {
  return obj(
    'How image vulnerabilities count against this policy.',
    {
      severityThreshold: enumStr('Vulnerabilities at or above this severity are violations.', SEVERITIES, {
        default: 'High',
      }),
      ignoreUnfixed: bool('Skip vulnerabilities that have no fixed version yet.', false),
      ignore: arr(
        'Vulnerabilities accepted until an expiry.',
        obj(
          'An ignored vulnerability.',
          {
            id: str('The vulnerability id (CVE, GHSA, OSV id).', {
              maxLength: 64,
              pattern: '^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9:._-]+$',
            }),
            images: imageGlobList(
              'Only in containers with these images (at most 16). Absent: any image.',
              'spec.vulnerabilities.ignore[*].images',
              // 256 ignores of 64 globs each would exceed the API server's CEL cost budget.
              16,
            ),
            reason: str('Why it is accepted.', { minLength: 1, maxLength: 1024 }),
            expires: timestamp('When the ignore stops applying (RFC 3339); an Event says when it has.'),
          },
          { required: ['id', 'reason', 'expires'] },
        ),
        256,
        { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['id'] },
      ),
      vex: obj('OpenVEX statements that say which vulnerabilities do not affect which images or packages.', {
        configMapRef: trustObjectKeyRef(
          'ConfigMap',
          `an OpenVEX document (JSON)${cluster ? '' : ", in the policy's namespace"}; its not_affected and fixed statements for an image digest (pkg:oci purl or sha256 digest) or a package purl suppress the vulnerability, and the report shows the justification`,
          cluster,
        ),
      }),
    },
    { default: {} },
  );
}

function trustObjectKeyRef(kind: 'Secret' | 'ConfigMap', what: string, cluster: boolean): JSONSchema {
  return obj(
    `A key of a ${kind} holding ${what}. The operator reads it with its own service account.`,
    {
      name: str(`The ${kind} name.`, { minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN_REGEX }),
      key: str(`The key in the ${kind}'s data.`, {
        minLength: 1,
        maxLength: 253,
        pattern: '^[-._a-zA-Z0-9]+$',
      }),
      ...(cluster
        ? {
            namespace: str(`The ${kind}'s namespace.`, { maxLength: 63, pattern: DNS_LABEL_REGEX }),
          }
        : {}),
    },
    { required: cluster ? ['name', 'key', 'namespace'] : ['name', 'key'] },
  );
}

function signaturesSchema(cluster: boolean): JSONSchema {
  const where = cluster ? 'in the given namespace' : "in the policy's namespace";
  return obj(
    'Which image signatures are required: cosign signatures (classic .sig tags or sigstore bundles) verified per image digest.',
    {
      required: bool(
        'Images must carry signatures verified by `count` of the attestors. A verdict other than Verified (Unsigned, Invalid, or Error when the registry or the trust material cannot be read) is a violation of rule signatures.verified.',
        false,
      ),
      images: imageGlobList(
        'Images the requirement applies to. Absent: every image.',
        'spec.signatures.images',
      ),
      count: int('How many distinct attestors must have signed (N of M). Default 1.', {
        minimum: 1,
        maximum: 16,
      }),
      annotations: stringMap(
        'Annotations every counted signature must carry (as `cosign sign -a key=value` writes them).',
        16,
        str('The required annotation value.', { maxLength: 256 }),
      ),
      attestors: arr(
        'Who may sign.',
        obj(
          'An attestor: a public key (inline or from a Secret) or a keyless (Fulcio certificate) identity.',
          {
            name: str('A name for the attestor, used in reports.', { maxLength: 63, minLength: 1 }),
            publicKey: str('A PEM-encoded public key (ECDSA P-256/P-384, RSA or Ed25519).', {
              maxLength: 8192,
              'x-kubernetes-validations': [
                cel(
                  `self.startsWith('-----BEGIN PUBLIC KEY-----')`,
                  'spec.signatures.attestors[*].publicKey must be a PEM public key',
                ),
              ],
            }),
            publicKeyRef: trustObjectKeyRef('Secret', `a PEM public key, ${where}`, cluster),
            keyless: obj(
              'A keyless signing identity. Needs a trusted root (trustedRootRef, or the operator default) for the Fulcio roots.',
              {
                issuer: str('The OIDC issuer URL.', { maxLength: 512, pattern: '^https://' }),
                subject: str('The exact certificate subject (email or URI).', { maxLength: 512 }),
                subjectRegExp: regexString(
                  'An RE2 pattern the certificate subject must match.',
                  'spec.signatures.attestors[*].keyless.subjectRegExp',
                ),
              },
              {
                required: ['issuer'],
                'x-kubernetes-validations': [
                  cel(
                    'has(self.subject) != has(self.subjectRegExp)',
                    'spec.signatures.attestors[*].keyless needs exactly one of subject and subjectRegExp',
                  ),
                ],
              },
            ),
            trustedRootRef: trustObjectKeyRef(
              'ConfigMap',
              `a sigstore trusted_root.json (Fulcio, Rekor and TSA keys), ${where}; read as it is, without TUF`,
              cluster,
            ),
            transparencyLog: obj('The transparency log (Rekor) check.', {
              threshold: int(
                'Log entries that must verify against the trusted root (trustedRootRef, or the operator default). Default 1; 0 skips the log check (for signatures made with --tlog-upload=false).',
                { minimum: 0, maximum: 8 },
              ),
            }),
          },
          {
            required: ['name'],
            'x-kubernetes-validations': [
              cel(
                '[has(self.publicKey), has(self.publicKeyRef), has(self.keyless)].exists_one(x, x)',
                'spec.signatures.attestors[*] needs exactly one of publicKey, publicKeyRef and keyless',
              ),
            ],
          },
        ),
        16,
        { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
      ),
      attestations: arr(
        'In-toto attestations (cosign attest) the image must carry, signed by the attestors.',
        obj(
          'A required attestation.',
          {
            predicateType: str('The predicate type, for example https://slsa.dev/provenance/v1.', {
              minLength: 1,
              maxLength: 256,
            }),
            attestors: stringSet(
              'Names of attestors whose signature on the attestation counts. Absent: any attestor.',
              str('An attestor name.', { maxLength: 63 }),
              16,
            ),
            conditions: arr(
              'Checks on the predicate; all must hold.',
              obj(
                'A predicate field check: exactly one of equals, oneOf and regExp.',
                {
                  path: str('Dot-separated keys into the predicate (array indexes allowed).', {
                    minLength: 1,
                    maxLength: 256,
                  }),
                  equals: str('The field must be this string.', { maxLength: 1024 }),
                  oneOf: stringSet('The field must be one of these strings.', str('A value.'), 32),
                  regExp: regexString(
                    'An RE2 pattern the whole field must match.',
                    'spec.signatures.attestations[*].conditions[*].regExp',
                  ),
                },
                {
                  required: ['path'],
                  'x-kubernetes-validations': [
                    cel(
                      '[has(self.equals), has(self.oneOf), has(self.regExp)].exists_one(x, x)',
                      'spec.signatures.attestations[*].conditions[*] needs exactly one of equals, oneOf and regExp',
                    ),
                  ],
                },
              ),
              16,
            ),
          },
          { required: ['predicateType'] },
        ),
        8,
      ),
    },
    {
      default: {},
      'x-kubernetes-validations': [
        cel(
          '!has(self.required) || !self.required || (has(self.attestors) && size(self.attestors) > 0)',
          'spec.signatures.attestors must name at least one attestor when spec.signatures.required is true',
          { fieldPath: '.attestors', reason: 'FieldValueRequired' },
        ),
        cel(
          '!has(self.count) || (has(self.attestors) && self.count <= size(self.attestors))',
          'spec.signatures.count cannot be more than the number of attestors',
          { fieldPath: '.count' },
        ),
      ],
    },
  );
}

export function policySpecSchema(cluster: boolean): JSONSchema {
  return obj('What the policy checks, where, and what happens to a workload that fails.', {
    enforcement: enumStr(
      'Audit records findings; Warn also warns at admission; Enforce refuses pods that fail at admission.',
      ENFORCEMENT_MODES,
      { default: 'Audit' },
    ),
    onImageUnknown: enumStr(
      'At admission (Warn / Enforce), what happens when a rule needs image analysis (image configuration) and the image could not be analysed within the time budget: Allow admits and lets the background reconcile report the finding later; Deny counts it as a violation (refused under Enforce, a warning under Warn).',
      IMAGE_UNKNOWN_CHOICES,
      { default: 'Allow' },
    ),
    admission: obj('How Warn / Enforce reach admission.', {
      validatingAdmissionPolicy: bool(
        'When the operator runs with --validating-admission-policies: also generate a ValidatingAdmissionPolicy and binding for the rules CEL expresses exactly, so the API server enforces them itself (even while the operator is down) and the webhook judges only the rest. False keeps every rule in the webhook.',
        true,
      ),
    }),
    match: matchSchema(cluster),
    podSecurity: obj(
      'Kubernetes Pod Security Standards checks, exactly as the PodSecurity admission runs them.',
      {
        level: enumStr(
          'The level to check: privileged (no checks), baseline or restricted.',
          POD_SECURITY_LEVELS,
        ),
        version: str('The Kubernetes version whose checks apply: latest or v1.NN.', {
          maxLength: 8,
          default: 'latest',
          'x-kubernetes-validations': [
            cel(
              `self.matches('^(latest|v1[.](0|[1-9][0-9]?))$')`,
              'spec.podSecurity.version must be latest or v1.NN, for example v1.33',
            ),
          ],
        }),
      },
      { required: ['level'] },
    ),
    rules: rulesSchema,
    exceptions: exceptionsSchema,
    vulnerabilities: vulnerabilitiesSchema(cluster),
    signatures: signaturesSchema(cluster),
    rescan: obj(
      'When workloads under this policy are re-checked against fresh image data.',
      {
        schedule: str('A five-field cron expression (minute hour day-of-month month day-of-week).', {
          maxLength: 128,
          default: '0 */6 * * *',
          'x-kubernetes-validations': [
            cel(
              `self.matches('${CRON_REGEX}')`,
              'spec.rescan.schedule must be a five-field cron expression such as "0 */6 * * *"',
            ),
          ],
        }),
      },
      { default: {} },
    ),
  });
}

export const policyStatusSchema: JSONSchema = obj('What the operator observed for this policy.', {
  observedGeneration: int('The generation of the spec this status describes.'),
  conditions: conditionsSchema,
  summary: obj('Counts over the workloads this policy matched at the last evaluation.', {
    workloadsMatched: int('Workloads the policy applies to.', { minimum: 0 }),
    workloadsCompliant: int('Of those, workloads without violations.', { minimum: 0 }),
    violations: int('Findings across those workloads.', { minimum: 0 }),
  }),
});
