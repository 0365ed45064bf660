// Benchmark: evaluates 10,000 varied pod specs against 20 policies on one core
// and prints pods per second (target: 20,000/s). Not a timed test.
//
// Two cases: policies matched per pod first (namespace, kind, labels, images:
// what the operator does), and every policy on every pod (the worst case).
// Every pod is evaluated in full: there is no result cache, so two pods with
// equal specs cost twice. What is reused is what the operator reuses too:
// policies compiled once, parsed image references and glob answers by string,
// and, within one pod, rule and check results shared by policies with equal
// settings. Each case runs several times; the median and the best run are
// printed, in wall time and per CPU second (process.cpuUsage, which also counts
// V8's GC threads), because the machine may be shared.
//
// Usage: node dist/bench/policy-eval.js [pods] [policies] [matched] [--repeat N]
//
// The generated cluster and the measuring helpers are exported for the other
// policy benchmarks (bench/hostile-policy.ts); the benchmark itself runs only
// when this file is the program.
import { pathToFileURL } from 'node:url';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import type { AnySecurityPolicy, SecurityPolicySpec } from '../src/api/policy-types.js';
import { compilePolicy, type CompiledPolicy } from '../src/policy/compile.js';
import { evaluateWorkload } from '../src/policy/evaluate.js';
import { matchingPolicies } from '../src/policy/match.js';
import { policyTargetOf } from '../src/policy/target.js';
import type { WorkloadObject } from '../src/policy/workload.js';

/** Deterministic pseudo-random numbers, so runs compare. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

let random = rng(42);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const chance = (p: number) => random() < p;

export const IMAGES = [
  'nginx',
  'nginx:latest',
  'nginx:1.27.2',
  'ghcr.io/acme/api:2.3.1',
  'quay.io/prom/node-exporter:v1.8',
  'registry.example.com/payments/ledger:7',
  `ghcr.io/acme/worker@sha256:${'a'.repeat(64)}`,
  'redis:7-alpine',
];

function container(i: number, name: string): V1Container {
  return {
    name,
    image: pick(IMAGES),
    imagePullPolicy: chance(0.3) ? 'Always' : undefined,
    ports: chance(0.2)
      ? [{ containerPort: 8080, hostPort: chance(0.3) ? 8080 : undefined }]
      : [{ containerPort: 8080 }],
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      ...(chance(0.1) ? [{ name: 'DB_PASSWORD', value: `pw-${i}-xyz` }] : []),
      ...(chance(0.2) ? [{ name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] : []),
    ],
    securityContext: chance(0.2)
      ? undefined
      : {
          allowPrivilegeEscalation: chance(0.8) ? false : undefined,
          readOnlyRootFilesystem: chance(0.6),
          privileged: chance(0.03),
          runAsUser: chance(0.1) ? 0 : undefined,
          capabilities: { drop: chance(0.7) ? ['ALL'] : [], add: chance(0.1) ? ['NET_ADMIN'] : undefined },
        },
    resources: chance(0.7)
      ? { requests: { cpu: '10m', memory: '64Mi' }, limits: chance(0.5) ? { memory: '128Mi' } : undefined }
      : undefined,
    livenessProbe: chance(0.6) ? { httpGet: { path: '/healthz', port: 8080 } } : undefined,
    readinessProbe: chance(0.6) ? { httpGet: { path: '/ready', port: 8080 } } : undefined,
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  };
}

function podSpec(i: number): V1PodSpec {
  const containers = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, k) => container(i, `c${k}`));
  return {
    hostNetwork: chance(0.03),
    securityContext: chance(0.5) ? { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } : {},
    initContainers: chance(0.3) ? [container(i, 'init')] : undefined,
    containers,
    volumes: [
      { name: 'tmp', emptyDir: {} },
      ...(chance(0.05) ? [{ name: 'sock', hostPath: { path: '/var/run/docker.sock' } }] : []),
    ],
  };
}

export const NAMESPACES = ['shop', 'payments', 'ml', 'infra', 'web'];

/** A generated workload: a bare Pod or a controller with a pod template. */
export type BenchWorkload = WorkloadObject & {
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: V1PodSpec | { template: { metadata: { labels?: Record<string, string> }; spec: V1PodSpec } };
};

function generateWorkloads(podCount: number): BenchWorkload[] {
  return Array.from({ length: podCount }, (_, i) => ({
    apiVersion: 'apps/v1',
    kind: pick(['Deployment', 'StatefulSet', 'Pod', 'Job']),
    metadata: { name: `w${i}`, namespace: pick(NAMESPACES) },
    spec: {
      template: {
        metadata: { labels: { app: `app${i % 50}`, tier: pick(['web', 'db', 'batch']) } },
        spec: podSpec(i),
      },
    },
  })).map((w) =>
    w.kind === 'Pod'
      ? {
          ...w,
          metadata: { ...w.metadata, labels: w.spec.template.metadata.labels },
          spec: w.spec.template.spec,
        }
      : w,
  );
}

// Policies as a cluster has them: one team policy per namespace, and cluster
// policies narrowed by namespace labels, workload kinds, pod labels or images.
export const NAMESPACE_LABELS: Record<string, Record<string, string>> = {
  shop: { env: 'prod', team: 'shop' },
  payments: { env: 'prod', team: 'payments', 'shipshape.dev/enforce': 'true' },
  ml: { env: 'dev', team: 'ml' },
  infra: { env: 'prod', team: 'platform' },
  web: { env: 'dev', team: 'web' },
};

function policySpec(i: number): SecurityPolicySpec {
  const narrowing: SecurityPolicySpec['match'][] = [
    {},
    { namespaceSelector: { matchLabels: { env: 'prod' } } },
    { namespaceSelector: { matchLabels: { env: 'dev' } }, kinds: ['Deployment', 'StatefulSet'] },
    {
      namespaceSelector: {
        matchExpressions: [{ key: 'team', operator: 'In', values: ['payments', 'shop'] }],
      },
    },
    { podSelector: { matchLabels: { tier: 'web' } }, excludedNamespaces: ['infra'] },
    { images: ['ghcr.io/acme/**'], kinds: ['Deployment'] },
    { namespaceSelector: { matchLabels: { 'shipshape.dev/enforce': 'true' } } },
    {
      podSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['batch'] }] },
      namespaceSelector: { matchLabels: { team: 'ml' } },
    },
  ];
  return {
    enforcement: pick(['Audit', 'Warn', 'Enforce']),
    match: narrowing[i % narrowing.length],
    podSecurity:
      i % 3 === 0
        ? undefined
        : { level: i % 3 === 1 ? 'baseline' : 'restricted', version: i % 7 === 0 ? 'v1.33' : 'latest' },
    rules: {
      enabled: i % 4 === 0 ? ['image.digest', 'image.pullPolicy', 'secrets.envFrom'] : [],
      disabled: i % 5 === 0 ? ['probes.liveness'] : [],
      image:
        i % 2 === 0
          ? { allowedRegistries: ['ghcr.io', '*.example.com', 'docker.io/library/**'] }
          : { deniedRegistries: ['quay.io'] },
      resources: { requests: ['cpu', 'memory'], limits: i % 2 === 0 ? ['memory'] : ['cpu', 'memory'] },
      secrets: { credentialNamePatterns: i % 3 === 0 ? ['^stripe_'] : [] },
    },
    exceptions: [
      {
        name: 'e',
        rules: ['image.tag'],
        images: ['redis:*'],
        reason: 'bench',
        expires: '2099-01-01T00:00:00Z',
      },
    ],
  };
}

function generatePolicies(policyCount: number): AnySecurityPolicy[] {
  return Array.from({ length: policyCount }, (_, i) =>
    i < NAMESPACES.length
      ? {
          apiVersion: 'shipshape.dev/v1alpha1',
          kind: 'SecurityPolicy',
          metadata: { name: `team-${i}`, namespace: NAMESPACES[i], uid: `uid-${i}`, generation: 1 },
          spec: { ...policySpec(i), match: {} },
        }
      : {
          apiVersion: 'shipshape.dev/v1alpha1',
          kind: 'ClusterSecurityPolicy',
          metadata: { name: `policy-${i}`, uid: `uid-${i}`, generation: 1 },
          spec: policySpec(i),
        },
  );
}

/**
 * The benchmark's cluster: `podCount` varied workloads in five namespaces and
 * `policyCount` policies. Deterministic: equal arguments give equal clusters.
 */
export function benchCluster(
  podCount: number,
  policyCount: number,
): { workloads: BenchWorkload[]; policies: AnySecurityPolicy[] } {
  random = rng(42);
  const workloads = generateWorkloads(podCount);
  return { workloads, policies: generatePolicies(policyCount) };
}

const TARGET_PODS_PER_SECOND = 20_000;

export interface Sample {
  wallSeconds: number;
  cpuSeconds: number;
  findings: number;
}

export function measure(evaluate: () => number): Sample {
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const findings = evaluate();
  const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  return { wallSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, findings };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The pod template of a generated workload: its own metadata and spec for a bare Pod. */
export function templateOf(w: BenchWorkload): {
  metadata: { labels?: Record<string, string> };
  spec: V1PodSpec;
} {
  // The same template podTemplateOf() gives the reconciler, without its kind switch.
  return 'template' in w.spec
    ? w.spec.template
    : { metadata: { labels: (w.metadata as { labels?: Record<string, string> }).labels }, spec: w.spec };
}

/** Findings of every workload under the policies that match it, as the operator evaluates them. */
export function evaluateMatched(
  workloads: readonly BenchWorkload[],
  compiled: readonly CompiledPolicy[],
  namespaceLabels: Readonly<Record<string, Record<string, string>>> = NAMESPACE_LABELS,
): { findings: number; matchedPolicies: number } {
  let matchedPolicies = 0;
  const findings = workloads.reduce((n, w) => {
    const template = templateOf(w);
    const applicable = matchingPolicies(
      compiled,
      policyTargetOf({
        namespace: w.metadata.namespace,
        namespaceLabels: namespaceLabels[w.metadata.namespace],
        kind: w.kind,
        template,
      }),
    );
    matchedPolicies += applicable.length;
    return n + evaluateWorkload(w, applicable).length;
  }, 0);
  return { findings, matchedPolicies };
}

function main(): void {
  const repeatFlag = process.argv.indexOf('--repeat');
  const repeat = repeatFlag > 0 ? Number(process.argv[repeatFlag + 1]) : 7;
  const positional = process.argv
    .slice(2)
    .filter((_, i, all) => all[i - 1] !== '--repeat' && all[i] !== '--repeat');
  const podCount = Number(positional[0] ?? 10_000);
  const policyCount = Number(positional[1] ?? 20);
  const matchedOnly = positional[2] === 'matched';
  const rate = (seconds: number): string => `${Math.round(podCount / seconds)}`.padStart(6);

  function run(label: string, evaluate: () => number): void {
    const samples = Array.from({ length: repeat }, () => measure(evaluate));
    // Equal counts on every run show that no run skipped work the others did.
    const counts = new Set(samples.map((s) => s.findings));
    if (counts.size !== 1)
      throw new Error(`${label}: findings differ between runs: ${[...counts].join(', ')}`);
    const wall = samples.map((s) => s.wallSeconds);
    const cpu = samples.map((s) => s.cpuSeconds);
    console.log(`${label}: ${samples[0]!.findings} findings per run, ${repeat} runs`);
    console.log(
      `  pods/s wall:           median ${rate(median(wall))}, best ${rate(Math.min(...wall))}  (median ${median(wall).toFixed(3)} s)`,
    );
    console.log(
      `  pods/s per CPU second: median ${rate(median(cpu))}, best ${rate(Math.min(...cpu))}  (median ${median(cpu).toFixed(3)} s)`,
    );
    // Per CPU second is the one-core figure; wall time also counts waiting for a shared CPU.
    const met = podCount / median(cpu) >= TARGET_PODS_PER_SECOND;
    console.log(
      `  target ${TARGET_PODS_PER_SECOND} pods/s on one core (median per CPU second): ${met ? 'met' : 'NOT met'}`,
    );
  }

  const { workloads, policies } = benchCluster(podCount, policyCount);
  const compiled = policies.map(compilePolicy);
  let matchedPolicies = 0;
  const matched = (): number => {
    const result = evaluateMatched(workloads, compiled);
    matchedPolicies = result.matchedPolicies;
    return result.findings;
  };
  const everyPolicy = (): number => workloads.reduce((n, w) => n + evaluateWorkload(w, compiled).length, 0);

  const distinctSpecs = new Set(workloads.map((w) => JSON.stringify(templateOf(w).spec))).size;
  console.log(
    `${podCount} pods (${distinctSpecs} distinct pod specs), ${policyCount} policies, no result cache; node ${process.version}`,
  );
  // Warm up the JIT on both paths, then measure.
  matched();
  if (!matchedOnly) everyPolicy();
  run(
    `policies matched per pod (${(matchedPolicies / podCount).toFixed(1)} of ${policyCount} on average, matching included)`,
    matched,
  );
  if (!matchedOnly) run(`worst case, all ${policyCount} policies on every pod`, everyPolicy);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
