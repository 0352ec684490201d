import type { ClusterPod } from '../cluster/model.js';
import { ibmAnnotationFinding } from '../inventory/metadata.js';
import { parseIbmAnnotations } from '../cluster/ibm-annotations.js';
import type { ProductFinding } from '../model/finding.js';
import { addSamples } from './figures.js';
import type { Store } from './open.js';
import { latestFindings, podKey, shardHash, workloadOf } from './record.js';
import { iso, writeTx, type Db } from './util.js';

/**
 * Pod starts and stops between sweeps (the informer of `serve --store`). A start opens intervals
 * for the pod's containers with the products its images were found to hold; a stop closes them.
 * Each applied event is a sample of the day's figures, so a two-hour batch job between two
 * nightly sweeps counts toward that day's peak. An event at or before the cluster's latest sweep
 * is kept in pod_events but changes nothing: that sweep's listing already is the truth for then.
 */
export interface PodStart {
  clusterId: string;
  kind: 'start';
  at: Date | string;
  pod: ClusterPod;
  resourceVersion?: string | null;
  /** Products per container name, when the caller matched them; default: the recorded scans of the images. */
  products?: Record<string, ProductFinding[]>;
}

export interface PodStop {
  clusterId: string;
  kind: 'stop';
  at: Date | string;
  namespace: string;
  name: string;
  uid?: string | null;
  node?: string | null;
  resourceVersion?: string | null;
}

export type PodEvent = PodStart | PodStop;

async function latestSweepAt(db: Db, clusterId: string): Promise<string | null> {
  const row = await db.selectFrom('sweep_runs').select('observed_at').where('cluster_id', '=', clusterId).where('status', '!=', 'running').orderBy('observed_at', 'desc').limit(1).executeTakeFirst();
  return row?.observed_at ?? null;
}

/** The products a started container brings: its image's recorded findings, and the pod's IBM annotations where they charge it. */
async function productsOf(db: Db, pod: ClusterPod, container: ClusterPod['containers'][number], given?: ProductFinding[]): Promise<ProductFinding[]> {
  if (given) return given;
  const found = container.imageDigest ? ((await latestFindings(db, container.imageDigest)) ?? []) : [];
  const ann = parseIbmAnnotations(pod.annotations);
  const charged = !ann || ann.chargedContainers === 'All' || ann.chargedContainers.includes(container.name);
  const ibm = charged ? ibmAnnotationFinding(pod.annotations) : null;
  return ibm && !found.some((f) => f.id === ibm.id) ? [...found, ibm] : found;
}

/** Records one pod event; returns whether it changed the recorded state. */
export async function recordPodEvent(store: Store, event: PodEvent): Promise<boolean> {
  return (await recordPodEvents(store, [event]))[0];
}

/**
 * Records a batch of pod events of one cluster in order, each in its own transaction, then
 * samples the figures once per distinct time among those that changed the state.
 */
export async function recordPodEvents(store: Store, events: PodEvent[]): Promise<boolean[]> {
  const results: boolean[] = [];
  const times = new Map<string, Set<string>>();
  for (const event of events) {
    const applied = await applyEvent(store, event);
    results.push(applied);
    if (applied) times.set(event.clusterId, (times.get(event.clusterId) ?? new Set()).add(iso(event.at)));
  }
  for (const [clusterId, at] of times) await addSamples(store, clusterId, [...at].sort());
  return results;
}

async function applyEvent(store: Store, event: PodEvent): Promise<boolean> {
  const at = iso(event.at);
  return writeTx(store, async (db) => {
    const swept = await latestSweepAt(db, event.clusterId);
    const apply = swept === null || at > swept;
    const namespace = event.kind === 'start' ? event.pod.namespace : event.namespace;
    const name = event.kind === 'start' ? event.pod.name : event.name;
    const uid = event.kind === 'start' ? event.pod.uid : (event.uid ?? null);
    const node = event.kind === 'start' ? event.pod.nodeName : (event.node ?? null);
    await db
      .insertInto('pod_events')
      .values({ cluster_id: event.clusterId, at, kind: event.kind, namespace, pod: name, pod_uid: uid, node, resource_version: event.resourceVersion ?? null, applied: apply ? 1 : 0 })
      .execute();
    if (!apply) return false;

    const open = await db
      .selectFrom('observations')
      .select(['id', 'pod_key', 'container', 'pod_uid'])
      .where('cluster_id', '=', event.clusterId)
      .where('namespace', '=', namespace)
      .where('pod', '=', name)
      .where('closed_at', 'is', null)
      .execute();
    if (event.kind === 'stop') {
      const ids = open.filter((o) => !uid || !o.pod_uid || o.pod_uid === uid).map((o) => o.id);
      if (ids.length) await db.updateTable('observations').set({ closed_at: at, closed_by: 'event' }).where('id', 'in', ids).execute();
      return ids.length > 0;
    }

    const pod = event.pod;
    const key = podKey(pod);
    // The same pod seen before in another state (Pending, an earlier spec): that interval ends now.
    const stale = open.filter((o) => o.pod_key !== key).map((o) => o.id);
    if (stale.length) await db.updateTable('observations').set({ closed_at: at, closed_by: 'event' }).where('id', 'in', stale).execute();
    const have = new Set(open.filter((o) => o.pod_key === key).map((o) => o.container));
    const spec = await db.selectFrom('pod_specs').select('pod_key').where('cluster_id', '=', event.clusterId).where('pod_key', '=', key).executeTakeFirst();
    if (!spec) await db.insertInto('pod_specs').values({ cluster_id: event.clusterId, pod_key: key, spec_json: JSON.stringify(pod), first_seen: at }).execute();
    let opened = 0;
    for (const c of pod.containers) {
      if (c.init || have.has(c.name)) continue;
      const products = await productsOf(db, pod, c, event.products?.[c.name]);
      await db
        .insertInto('observations')
        .values({
          cluster_id: event.clusterId,
          pod_key: key,
          namespace: pod.namespace,
          pod: pod.name,
          pod_uid: pod.uid,
          workload: workloadOf(pod),
          container: c.name,
          node: pod.nodeName,
          image: c.image,
          image_digest: c.imageDigest,
          products_json: JSON.stringify(products),
          method: 'image',
          phase: pod.phase,
          running: pod.phase === 'Running' ? 1 : 0,
          shard_hash: shardHash(c.imageDigest ?? c.image),
          first_seen: at,
          last_seen: at,
          closed_at: null,
          opened_by: 'event',
          closed_by: null,
        })
        .execute();
      opened++;
    }
    return opened > 0 || stale.length > 0;
  });
}
