import type { ClusterContainer, ClusterPod } from '../cluster/model.js';

/**
 * Volumes whose content is the same in every replica by construction (or produced at start-up by
 * the same image): they do not make a replica different. Everything else — PVCs (StatefulSet
 * claims), host paths, network and CSI volumes — may hold per-replica data, so such pods are
 * scanned each.
 */
const sharedVolumeTypes = new Set(['emptyDir', 'configMap', 'secret', 'downwardAPI', 'projected']);

const replicaOwners = new Set(['ReplicaSet', 'Deployment', 'DaemonSet', 'StatefulSet', 'ReplicationController', 'Job']);

/**
 * The key under which replicas share one scan: same owner, same container, same image digest,
 * no per-replica volume. null: scan this container on its own.
 */
export function replicaKey(pod: ClusterPod, container: ClusterContainer): string | null {
  const owner = pod.owners.find((o) => replicaOwners.has(o.kind));
  if (!owner || !container.imageDigest) return null;
  if (pod.volumes.some((v) => !sharedVolumeTypes.has(v.type))) return null;
  return `${pod.namespace}/${owner.kind}/${owner.name}/${container.name}@${container.imageDigest}`;
}

/** Groups items by their key; items without a key each get a group of their own. */
export function groupReplicas<T>(items: T[], keyOf: (item: T) => string | null): T[][] {
  const groups = new Map<string, T[]>();
  const out: T[][] = [];
  for (const item of items) {
    const key = keyOf(item);
    if (key === null) {
      out.push([item]);
      continue;
    }
    const g = groups.get(key);
    if (g) g.push(item);
    else {
      const fresh = [item];
      groups.set(key, fresh);
      out.push(fresh);
    }
  }
  return out;
}
