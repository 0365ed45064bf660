// Benchmark (issue 9, hostile input): how much one tenant's hostile
// SecurityPolicy slows the evaluation of the whole cluster. The tenant's
// policy has a catastrophic credential-name pattern (`^(a|aa)+$`, exponential
// for a backtracking engine) and a 24-star image glob, and the tenant runs
// pods with a 60-character image and a 41-character env name that make both
// worst cases. The cluster is bench/policy-eval.ts's (10,000 varied pods, 20
// policies) plus the tenant's pods; every pod goes through policy matching and
// the rule engine, once without and once with the hostile policy, and the
// ratio of pods per second is printed (target: at most 2x slower).
//
// A second case puts the same spec into a ClusterSecurityPolicy, so the
// hostile patterns run on every pod in the cluster: an admin's mistake, the
// worst the engine can be handed.
//
// Usage: node dist/bench/hostile-policy.js [pods] [tenant pods] [--repeat N]
import { pathToFileURL } from 'node:url';
import type { V1PodSpec } from '@kubernetes/client-node';
import type { AnySecurityPolicy, SecurityPolicySpec } from '../src/api/policy-types.js';
import { compilePolicy, type CompiledPolicy } from '../src/policy/compile.js';
import {
  benchCluster,
  evaluateMatched,
  measure,
  median,
  NAMESPACE_LABELS,
  type BenchWorkload,
  type Sample,
} from './policy-eval.js';

/** Exponential in a backtracking engine on `a…a_`: about 10^8 steps for 41 characters. */
export const HOSTILE_CREDENTIAL_PATTERN = '^(a|aa)+$';
/** 60 characters, no tag: every split of its a's is a way for the glob's stars to fail. */
export const HOSTILE_IMAGE = `ghcr.io/${'a'.repeat(52)}`;
/** 24 stars that each need an `a`, and a tag the image does not have. */
export const HOSTILE_IMAGE_GLOB = `ghcr.io/${'*a'.repeat(24)}:1`;
/** 41 characters, the last of which `^(a|aa)+$` cannot match. */
export const HOSTILE_ENV_NAME = `${'a'.repeat(40)}_`;
export const TENANT_NAMESPACE = 'tenant';

/**
 * The tenant's policy. The hostile glob is listed first, beside one that
 * matches, so it is tried on every image and the policy still applies and
 * runs its rules (and so the hostile name pattern).
 */
export function hostileSpec(): SecurityPolicySpec {
  return {
    match: { images: [HOSTILE_IMAGE_GLOB, '**'] },
    rules: {
      image: { allowedRegistries: [HOSTILE_IMAGE_GLOB, 'ghcr.io'] },
      secrets: { credentialNamePatterns: [HOSTILE_CREDENTIAL_PATTERN] },
    },
    exceptions: [
      {
        name: 'hostile',
        rules: ['image.tag'],
        images: [HOSTILE_IMAGE_GLOB],
        reason: 'bench',
        expires: '2099-01-01T00:00:00Z',
      },
    ],
  };
}

export function hostilePodSpec(): V1PodSpec {
  return {
    containers: [
      {
        name: 'app',
        image: HOSTILE_IMAGE,
        env: [{ name: HOSTILE_ENV_NAME, value: 'not-a-secret-value' }],
      },
    ],
  };
}

function tenantWorkloads(count: number): BenchWorkload[] {
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `hostile-${i}`, namespace: TENANT_NAMESPACE, labels: { app: 'hostile' } },
    spec: hostilePodSpec(),
  }));
}

function main(): void {
  const repeatFlag = process.argv.indexOf('--repeat');
  const repeat = repeatFlag > 0 ? Number(process.argv[repeatFlag + 1]) : 7;
  const positional = process.argv
    .slice(2)
    .filter((_, i, all) => all[i - 1] !== '--repeat' && all[i] !== '--repeat');
  const podCount = Number(positional[0] ?? 10_000);
  const tenantPods = Number(positional[1] ?? 100);

  const cluster = benchCluster(podCount, 20);
  const workloads = [...cluster.workloads, ...tenantWorkloads(tenantPods)];
  const namespaceLabels = { ...NAMESPACE_LABELS, [TENANT_NAMESPACE]: { team: 'tenant' } };
  const tenantPolicy: AnySecurityPolicy = {
    apiVersion: 'shipshape.dev/v1alpha1',
    kind: 'SecurityPolicy',
    metadata: { name: 'hostile', namespace: TENANT_NAMESPACE, uid: 'uid-hostile', generation: 1 },
    spec: hostileSpec(),
  };
  const clusterPolicy: AnySecurityPolicy = {
    apiVersion: 'shipshape.dev/v1alpha1',
    kind: 'ClusterSecurityPolicy',
    metadata: { name: 'hostile-cluster', uid: 'uid-hostile-cluster', generation: 1 },
    spec: hostileSpec(),
  };
  const baseline = cluster.policies.map(compilePolicy);
  const cases: [label: string, policies: CompiledPolicy[]][] = [
    ['without the hostile policy', baseline],
    ['with the hostile tenant SecurityPolicy', [...baseline, compilePolicy(tenantPolicy)]],
    ['with the same spec as a ClusterSecurityPolicy', [...baseline, compilePolicy(clusterPolicy)]],
  ];
  const total = workloads.length;
  console.log(
    `${total} pods (${tenantPods} of them the tenant's hostile pods), ${cluster.policies.length} policies; node ${process.version}`,
  );
  const evaluations = cases.map(
    ([, policies]) =>
      () =>
        evaluateMatched(workloads, policies, namespaceLabels).findings,
  );
  for (const evaluate of evaluations) evaluate(); // warm up the JIT on every path
  // Rounds that run each case once, so a busy moment of the shared machine hits all cases alike.
  const samples = cases.map((): Sample[] => []);
  for (let round = 0; round < repeat; round++)
    evaluations.forEach((evaluate, i) => samples[i]!.push(measure(evaluate)));
  const rates = cases.map(([label], i) => {
    const runs = samples[i]!;
    const cpu = median(runs.map((s) => s.cpuSeconds));
    const wall = median(runs.map((s) => s.wallSeconds));
    console.log(
      `${label}: ${runs[0]!.findings} findings; median ${Math.round(total / cpu)} pods/s per CPU second (${cpu.toFixed(3)} s), ${Math.round(total / wall)} pods/s wall, ${repeat} runs`,
    );
    return total / cpu;
  });
  const [base, tenant, admin] = rates as [number, number, number];
  const tenantRatio = base / tenant;
  console.log(
    `slowdown by the tenant policy: ${tenantRatio.toFixed(2)}x (target at most 2x: ${tenantRatio <= 2 ? 'met' : 'NOT met'})`,
  );
  console.log(`slowdown by the cluster policy: ${(base / admin).toFixed(2)}x`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
