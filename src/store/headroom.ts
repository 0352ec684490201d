import { buildClusterModel, type ClusterNode } from '../cluster/model.js';
import { buildInventory } from '../inventory/inventory.js';
import { reconcile, type Entitlement } from '../licensing/entitlements.js';
import { computeUsage } from '../licensing/usage.js';
import type { UsageRow } from '../model/report.js';
import type { Store } from './open.js';

/**
 * Licence-aware admission from the store (issue 14): would this pod take a figure over its
 * entitlement? The current figures are each cluster's latest day with data in daily_usage (the
 * peak of that day, what IBM charges: never below the cluster's state now), read by primary key
 * (cluster, day), never by scanning. The pod's own figures are added to them and both are held
 * against the entitlement with the licence rules' `reconcile`, so GPUs beyond the NVIDIA AI
 * Enterprise quantity, cores beyond an IBM VPC entitlement and instances beyond a per-instance
 * one are told the same way the reports tell them. An entitlement that lists clusters pools
 * their figures, one that lists none pools every cluster of the store (as `report usage
 * --entitlements` does); detection (image-glob) entitlements need an inventory and are left out.
 */

/** What the pod adds: usage rows as the licence rules make them for the pod alone. */
export type PodFigure = Pick<UsageRow, 'productId' | 'productName' | 'metric' | 'scope' | 'quantity'> & Partial<Pick<UsageRow, 'cloudpakId' | 'pvu' | 'rule' | 'vendor' | 'sku' | 'namespaces'>>;

export interface Headroom {
  product: string;
  metric: string;
  sku: string | null;
  /** The clusters whose figures count (names where known). */
  clusters: string[];
  /** The latest day with data the figure is from (per cluster, the newest of them). */
  day: string | null;
  /** The figure now (the entitlement's use). */
  figure: number;
  /** What the pod adds to it. */
  pod: number;
  /** The figure with the pod. */
  withPod: number;
  entitlement: number;
  /** What is left before the pod (owned − figure; negative: already over). */
  headroom: number;
  /** What is left with it. */
  headroomAfter: number;
  /** Whether the pod fits (withPod ≤ entitlement). */
  fits: boolean;
  message: string;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** A cluster's figures of its latest day with data (two primary-key reads). */
async function currentFigures(store: Store, clusterId: string): Promise<{ day: string | null; rows: UsageRow[] }> {
  const latest = await store.db.selectFrom('usage_days').select('day').where('cluster_id', '=', clusterId).orderBy('day', 'desc').limit(1).executeTakeFirst();
  if (!latest) return { day: null, rows: [] };
  const rows = await store.db.selectFrom('daily_usage').select('row_json').where('cluster_id', '=', clusterId).where('day', '=', latest.day).execute();
  return { day: latest.day, rows: rows.map((r) => JSON.parse(r.row_json) as UsageRow) };
}

function asRow(f: PodFigure, namespace: string | undefined): UsageRow {
  return {
    cloudpakId: null,
    pvu: null,
    rule: 'the admitted pod',
    ...(namespace ? { namespaces: [namespace], byNamespace: { [namespace]: f.quantity } } : {}),
    ...f,
  } as UsageRow;
}

/**
 * The headroom of every entitlement the pod's figures touch, in the cluster `clusterId` (its
 * store id or name). `namespace`: where the pod goes (namespace-bound entitlements count it only
 * there).
 */
export async function headroomFor(
  store: Store,
  cluster: string,
  podFigures: PodFigure[],
  entitlements: Entitlement[],
  namespace?: string,
  opts: { includeUntouched?: boolean } = {},
): Promise<Headroom[]> {
  if ((!podFigures.length && !opts.includeUntouched) || !entitlements.length) return [];
  const known = await store.db.selectFrom('clusters').select(['cluster_id', 'name']).execute();
  const self = known.find((c) => c.cluster_id === cluster) ?? known.find((c) => c.name === cluster);
  const selfId = self?.cluster_id ?? cluster;
  const cache = new Map<string, Promise<{ day: string | null; rows: UsageRow[] }>>();
  const figuresOf = (id: string) => {
    if (!cache.has(id)) cache.set(id, currentFigures(store, id));
    return cache.get(id)!;
  };
  const podRows = podFigures.map((f) => asRow(f, namespace));
  const out: Headroom[] = [];
  for (const ent of entitlements) {
    if (ent.detection) continue;
    const pooled = ent.clusters?.length ? known.filter((c) => ent.clusters!.includes(c.cluster_id) || ent.clusters!.includes(c.name ?? '')) : known;
    // An entitlement for other clusters does not cover this pod.
    if (ent.clusters?.length && !pooled.some((c) => c.cluster_id === selfId)) continue;
    const ids = pooled.length ? pooled.map((c) => c.cluster_id) : [selfId];
    const current = await Promise.all(ids.map(figuresOf));
    const usage = current.flatMap((c) => c.rows);
    const { clusters: _clusters, ...whole } = ent;
    const before = reconcile([whole], usage, null)[0];
    const after = reconcile([whole], [...usage, ...podRows], null)[0];
    const pod = round(after.used - before.used);
    if (pod <= 0 && !opts.includeUntouched) continue;
    const headroom = round(ent.quantity - before.used);
    const headroomAfter = round(ent.quantity - after.used);
    const day = current.map((c) => c.day).filter((d): d is string => d !== null).sort().at(-1) ?? null;
    const fits = after.used <= ent.quantity;
    const label = `${ent.product} ${ent.metric}${ent.sku ? ` (${ent.sku})` : ''}`;
    const now = `${round(before.used)} in use${day ? ` (peak of ${day})` : ''} of ${ent.quantity} entitled, ${headroom >= 0 ? `${headroom} left` : `${-headroom} over already`}`;
    out.push({
      product: ent.product,
      metric: ent.metric,
      sku: ent.sku ?? null,
      clusters: ids.map((id) => known.find((c) => c.cluster_id === id)?.name ?? id).sort(),
      day,
      figure: round(before.used),
      pod,
      withPod: round(after.used),
      entitlement: ent.quantity,
      headroom,
      headroomAfter,
      fits,
      message: fits
        ? `${label}: this pod adds ${pod} to ${now}; ${headroomAfter} left after it`
        : `${label}: this pod adds ${pod} to ${now}: ${round(after.used)} would exceed the entitlement by ${-headroomAfter}`,
    });
  }
  return out;
}

/**
 * What one pod would add, by the licence rules: its products from its metadata (annotations,
 * image names: what admission knows before any scan), measured as if it ran on its node. The
 * node is the one it names (spec.nodeName) as the store last recorded it, else a node of no
 * known capacity (IBM: the CPU limits count as they are). Without a known node the NVIDIA AI
 * Enterprise "nodes" rule cannot tell which node's GPUs it takes: the GPUs it asks for count
 * instead (where it lands on a node already licensed, it would add none; on a fresh one, that
 * node's GPUs).
 */
export async function podFigures(store: Store, cluster: string, pod: Record<string, any>): Promise<PodFigure[]> {
  const nodeName = typeof pod.spec?.nodeName === 'string' && pod.spec.nodeName ? pod.spec.nodeName : null;
  const stored = nodeName
    ? await store.db.selectFrom('node_observations').select('spec_json').where('cluster_id', '=', cluster).where('node', '=', nodeName).where('closed_at', 'is', null).orderBy('last_seen', 'desc').limit(1).executeTakeFirst()
    : undefined;
  const node = stored ? (JSON.parse(stored.spec_json) as ClusterNode) : null;
  // Measured as running: the figures of the pod once admitted.
  const running = { ...pod, kind: 'Pod', spec: { ...(pod.spec ?? {}), nodeName: node?.name ?? nodeName ?? 'admitted-pod-node' }, status: { ...(pod.status ?? {}), phase: 'Running' } };
  const model = buildClusterModel([], [running], 'snapshot', null);
  if (node) model.nodes = [node];
  const inv = await buildInventory(model, {}, { metadataOnly: true });
  const rows: PodFigure[] = computeUsage(inv).usage.filter((u) => u.quantity > 0);
  if (node) {
    // Per node, GPUs are licensed once: a node the current figures already count adds none.
    const counted = (await currentFigures(store, cluster)).rows.filter((u) => u.scope === 'nodes' && Array.isArray(u.nodes) && (u.nodes as string[]).includes(node.name));
    for (let i = rows.length - 1; i >= 0; i--) if (rows[i].scope === 'nodes' && counted.some((u) => u.productId === rows[i].productId)) rows.splice(i, 1);
  } else {
    for (const a of rows.filter((u) => u.scope === 'allocated')) {
      if (!rows.some((u) => u.scope === 'nodes' && u.productId === a.productId && (u.sku ?? null) === (a.sku ?? null))) rows.push({ ...a, scope: 'nodes' });
    }
  }
  return rows.map(({ productId, productName, metric, scope, quantity, cloudpakId, pvu, rule, vendor, sku, namespaces }) => ({ productId, productName, metric, scope, quantity, cloudpakId, pvu, rule, vendor, sku, namespaces }));
}
