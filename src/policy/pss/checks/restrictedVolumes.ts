// Restricted: only volume types that cannot reach the host or foreign storage without
// a PersistentVolume (policy/check_restrictedVolumes.go). Replaces hostPathVolumes.
import type { V1PodSpec, V1Volume } from '@kubernetes/client-node';
import { joinQuote, pluralize, sortedSet } from '../format.js';
import { isSet } from '../pod.js';
import type { CheckVerdict, PodSecurityCheck } from '../types.js';
import { hostPathVolumesId } from './hostPathVolumes.js';

type VolumeSourceField = Exclude<keyof V1Volume, 'name'>;

// Every volume source, so tsc flags a source added to the API that is not classified
// yet. Restricted ones are listed in the order of Go's switch, which names the type of
// a volume that (invalidly) sets several.
const volumeSources: Record<VolumeSourceField, 'allowed' | 'restricted'> = {
  configMap: 'allowed',
  csi: 'allowed',
  downwardAPI: 'allowed',
  emptyDir: 'allowed',
  ephemeral: 'allowed',
  image: 'allowed',
  persistentVolumeClaim: 'allowed',
  projected: 'allowed',
  secret: 'allowed',
  hostPath: 'restricted',
  gcePersistentDisk: 'restricted',
  awsElasticBlockStore: 'restricted',
  gitRepo: 'restricted',
  nfs: 'restricted',
  iscsi: 'restricted',
  glusterfs: 'restricted',
  rbd: 'restricted',
  flexVolume: 'restricted',
  cinder: 'restricted',
  cephfs: 'restricted',
  flocker: 'restricted',
  fc: 'restricted',
  azureFile: 'restricted',
  vsphereVolume: 'restricted',
  quobyte: 'restricted',
  azureDisk: 'restricted',
  photonPersistentDisk: 'restricted',
  portworxVolume: 'restricted',
  scaleIO: 'restricted',
  storageos: 'restricted',
};
const sourceFields = Object.keys(volumeSources) as VolumeSourceField[];
const allowedSources = sourceFields.filter((f) => volumeSources[f] === 'allowed');
const restrictedSources = sourceFields.filter((f) => volumeSources[f] === 'restricted');

/**
 * The restricted source a volume uses, or undefined when it is allowed. A volume with no
 * source at all is allowed: the API server defaults it to emptyDir (SetDefaults_Volume)
 * before admission sees it, and Kubernetes' own pass fixtures rely on that.
 */
function restrictedSourceOf(volume: V1Volume): string | undefined {
  if (allowedSources.some((source) => isSet(volume[source]))) return undefined;
  return restrictedSources.find((source) => isSet(volume[source]));
}

function restrictedVolumes1_0(spec: V1PodSpec): CheckVerdict {
  const badVolumes: string[] = [];
  const badTypes: string[] = [];
  for (const volume of spec.volumes ?? []) {
    const source = restrictedSourceOf(volume);
    if (source === undefined) continue;
    badVolumes.push(volume.name);
    badTypes.push(source);
  }
  if (badVolumes.length === 0) return undefined;
  const types = sortedSet(badTypes);
  return {
    reason: 'restricted volume types',
    detail: `${pluralize('volume', 'volumes', badVolumes.length)} ${joinQuote(badVolumes)} ${pluralize('uses', 'use', badVolumes.length)} ${pluralize('restricted volume type', 'restricted volume types', types.length)} ${joinQuote(types)}`,
  };
}

export const restrictedVolumesCheck: PodSecurityCheck = {
  id: 'restrictedVolumes',
  level: 'restricted',
  versions: [
    { minimumMinor: 0, checkPod: (_m, spec) => restrictedVolumes1_0(spec), overrides: [hostPathVolumesId] },
  ],
};
