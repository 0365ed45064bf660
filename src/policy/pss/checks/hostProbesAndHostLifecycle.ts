// Baseline from v1.34: probes and lifecycle hooks may not target another host
// (policy/check_hostProbesAndhostLifecycle.go), which would let the kubelet reach
// arbitrary addresses on the pod's behalf.
import type { V1LifecycleHandler, V1PodSpec, V1Probe } from '@kubernetes/client-node';
import { joinQuote, pluralize, sortedSet } from '../format.js';
import { allContainers, isSet } from '../pod.js';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';

function forbiddenHosts(handler: V1Probe | V1LifecycleHandler | null | undefined): string[] {
  if (!isSet(handler)) return [];
  const hosts: string[] = [];
  const httpHost = handler.httpGet?.host ?? '';
  if (httpHost !== '') hosts.push(httpHost);
  const tcpHost = handler.tcpSocket?.host ?? '';
  if (tcpHost !== '') hosts.push(tcpHost);
  return hosts;
}

function hostProbesAndHostLifecycle1_34(spec: V1PodSpec): CheckVerdict {
  const badContainers: string[] = [];
  const forbidden: string[] = [];
  for (const c of allContainers(spec)) {
    const hosts = [
      ...forbiddenHosts(c.livenessProbe),
      ...forbiddenHosts(c.readinessProbe),
      ...forbiddenHosts(c.startupProbe),
      ...forbiddenHosts(c.lifecycle?.postStart),
      ...forbiddenHosts(c.lifecycle?.preStop),
    ];
    if (hosts.length > 0) {
      badContainers.push(c.name);
      forbidden.push(...hosts);
    }
  }
  if (badContainers.length === 0) return undefined;
  // This check (unlike the older ones) keeps containers in a set, so names are sorted and unique.
  const containers = sortedSet(badContainers);
  const hosts = sortedSet(forbidden);
  return {
    reason: 'probe or lifecycle host',
    detail: `${pluralize('container', 'containers', containers.length)} ${joinQuote(containers)} ${pluralize('uses', 'use', containers.length)} ${pluralize('probe or lifecycle host', 'probe or lifecycle hosts', hosts.length)} ${joinQuote(hosts)}`,
  };
}

export const hostProbesAndHostLifecycleCheck: PodSecurityCheck = {
  id: 'hostProbesAndHostLifecycle',
  level: 'baseline',
  versions: [{ minimumMinor: 34, checkPod: (_m, spec) => hostProbesAndHostLifecycle1_34(spec) }],
};
