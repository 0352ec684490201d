import type { ClusterModel, ClusterNode, ClusterPod } from '../cluster/model.js';
import type { ContainerEntry, Inventory } from '../inventory/inventory.js';
import { dailyPeak, type UsageSample } from '../licensing/ibm.js';
import { computeUsage, type UsageOptions } from '../licensing/usage.js';
import type { ProductFinding } from '../model/finding.js';
import type { ScanMethod, UsageRow } from '../model/report.js';
import type { Store } from './open.js';
import { chunks, dayOf, iso, parseJson, startOfDay, writeTx, type Db } from './util.js';

/**
 * Daily licence figures from the recorded history, as IBM License Service makes them: it samples
 * the cluster often and keeps the highest point of each day. Here a sample is the cluster's state
 * right after each recorded change (a sweep, a pod start or stop between sweeps) and at the start
 * of each day that has one: what is known to have run through midnight (seen by sweeps on both
 * sides of it, or started and not yet stopped by events) counts for the new day too; a pod that a
 * sweep no longer sees is not assumed to have run past the sweep that last saw it. The state at
 * any moment is rebuilt from the recorded intervals (nodes, pods, their containers' products) and
 * measured with the licence rules themselves (`computeUsage`, src/licensing); the day's figure is
 * `dailyPeak` of its samples, kept in daily_usage. Samples can be added in any order: the peak
 * is a maximum.
 */

/** The options of the licence computation a sweep used (JSON: no Sets, no functions). */
export type StoredUsageOptions = Omit<UsageOptions, 'gatedProducts'>;

/**
 * 'recorded': the intervals as recorded contain `at` (the state right after a change at `at`).
 * 'known': only what is known to have run at `at` — an interval a sweep closed ends, for this,
 * when it was last seen; one a stop event closed ends at the event.
 */
export type StateMode = 'recorded' | 'known';

// `eb` serves two tables (observations, node_observations): Kysely cannot type it for both.
const present = (at: string, mode: StateMode, events: boolean) => (eb: any) =>
  eb.and([
    eb('first_seen', '<=', at),
    mode === 'recorded'
      ? eb.or([eb('closed_at', 'is', null), eb('closed_at', '>', at)])
      : eb.or([
          eb('closed_at', 'is', null),
          eb('last_seen', '>=', at),
          ...(events ? [eb.and([eb('closed_by', '=', 'event'), eb('closed_at', '>', at)])] : []),
        ]),
  ]);

/**
 * The cluster as recorded at `at`: the nodes and containers present then, with the products the
 * sweeps found in them — the Inventory the licence rules measure.
 */
export async function inventoryAt(db: Db, clusterId: string, at: string, mode: StateMode = 'recorded'): Promise<Inventory> {
  const nodeRows = await db.selectFrom('node_observations').select(['spec_json']).where('cluster_id', '=', clusterId).where(present(at, mode, false)).execute();
  const obs = await db
    .selectFrom('observations')
    .select(['pod_key', 'container', 'products_json', 'method'])
    .where('cluster_id', '=', clusterId)
    .where(present(at, mode, true))
    .orderBy('id')
    .execute();
  const keys = [...new Set(obs.map((o) => o.pod_key))];
  const pods = new Map<string, ClusterPod>();
  for (const part of chunks(keys, 500)) {
    if (!part.length) continue;
    const rows = await db.selectFrom('pod_specs').select(['pod_key', 'spec_json']).where('cluster_id', '=', clusterId).where('pod_key', 'in', part).execute();
    for (const r of rows) pods.set(r.pod_key, JSON.parse(r.spec_json) as ClusterPod);
  }
  const nodes = nodeRows.map((r) => JSON.parse(r.spec_json) as ClusterNode).sort((a, b) => a.name.localeCompare(b.name));
  const podList = [...pods.values()].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const model: ClusterModel = { clusterName: null, source: 'snapshot', nodes, pods: podList, problems: [] };
  const containers: ContainerEntry[] = [];
  for (const o of obs) {
    const pod = pods.get(o.pod_key);
    const container = pod?.containers.find((c) => !c.init && c.name === o.container);
    if (!pod || !container) continue;
    containers.push({
      pod,
      container,
      node: pod.nodeName,
      running: pod.phase === 'Running',
      method: o.method as ScanMethod,
      products: JSON.parse(o.products_json) as ProductFinding[],
    });
  }
  // The inventory's order: pods by namespace and name, containers as the pod lists them.
  const podOrder = new Map(podList.map((p, i) => [p, i]));
  containers.sort((a, b) => podOrder.get(a.pod)! - podOrder.get(b.pod)! || a.pod.containers.indexOf(a.container) - b.pod.containers.indexOf(b.container));
  return { model, containers, images: [], errors: [], metadataOnly: false };
}

/** The options of the latest sweep of the cluster at or before `at` (the shipped defaults if none). */
export async function usageOptionsAt(db: Db, clusterId: string, at: string): Promise<StoredUsageOptions> {
  const row = await db
    .selectFrom('sweep_runs')
    .select('usage_options_json')
    .where('cluster_id', '=', clusterId)
    .where('observed_at', '<=', at)
    .orderBy('observed_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return parseJson<StoredUsageOptions>(row?.usage_options_json, {});
}

/** The licence figures of the recorded state at `at`. */
export async function sampleAt(db: Db, clusterId: string, at: string, options?: StoredUsageOptions, mode: StateMode = 'recorded'): Promise<UsageSample> {
  const inv = await inventoryAt(db, clusterId, at, mode);
  const opts = options ?? (await usageOptionsAt(db, clusterId, at));
  return { at, usage: computeUsage(inv, opts).usage.map((row) => ({ ...row, peakAt: at })) };
}

const key = (r: { productId: string; metric: string; scope: string; sku?: unknown; cloudpakId: string | null }) =>
  [r.productId, r.metric, r.scope, typeof r.sku === 'string' ? r.sku : '', r.cloudpakId ?? ''].join('\u0000');

/**
 * Merges samples (each the figures at one moment) into the daily peaks of their days, in one
 * transaction per call. A day seen for the first time also gets the sample of its start.
 */
export async function addSamples(store: Store, clusterId: string, at: string[], options?: StoredUsageOptions): Promise<void> {
  if (!at.length) return;
  await writeTx(store, async (db) => {
    const byDay = new Map<string, string[]>();
    for (const t of at.map(iso)) byDay.set(dayOf(t), [...(byDay.get(dayOf(t)) ?? []), t]);
    for (const [day, times] of byDay) {
      const known = await db.selectFrom('usage_days').selectAll().where('cluster_id', '=', clusterId).where('day', '=', day).executeTakeFirst();
      const samples: UsageSample[] = [];
      const existing = await db.selectFrom('daily_usage').select(['row_json']).where('cluster_id', '=', clusterId).where('day', '=', day).execute();
      samples.push({ at: startOfDay(day), usage: existing.map((r) => JSON.parse(r.row_json) as UsageRow) });
      if (!known) samples.push(await sampleAt(db, clusterId, startOfDay(day), options, 'known'));
      for (const t of times) samples.push(await sampleAt(db, clusterId, t, options));
      const peaks = dailyPeak(samples);
      await db.deleteFrom('daily_usage').where('cluster_id', '=', clusterId).where('day', '=', day).execute();
      const rows = peaks.map(({ date: _date, ...row }) => ({
        cluster_id: clusterId,
        day,
        product_id: row.productId,
        metric: row.metric,
        scope: row.scope,
        sku: typeof row.sku === 'string' ? row.sku : '',
        cloudpak_id: row.cloudpakId ?? '',
        product_name: row.productName,
        vendor: typeof row.vendor === 'string' ? row.vendor : null,
        quantity: row.quantity,
        pvu: row.pvu,
        rule: row.rule,
        peak_at: typeof row.peakAt === 'string' ? row.peakAt : times[0],
        row_json: JSON.stringify(row),
      }));
      // One row per figure: dailyPeak's key and the table's primary key agree (sku included).
      const seen = new Set<string>();
      for (const r of rows) {
        const k = key({ productId: r.product_id, metric: r.metric, scope: r.scope, sku: r.sku, cloudpakId: r.cloudpak_id || null });
        if (seen.has(k)) throw new Error(`two daily figures for ${k.replace(/\u0000/g, '/')}`);
        seen.add(k);
      }
      for (const part of chunks(rows, 400)) await db.insertInto('daily_usage').values(part).execute();
      const sorted = [...times].sort();
      if (known) {
        await db
          .updateTable('usage_days')
          .set({
            samples: known.samples + times.length,
            first_at: known.first_at < sorted[0] ? known.first_at : sorted[0],
            last_at: known.last_at > sorted[sorted.length - 1] ? known.last_at : sorted[sorted.length - 1],
          })
          .where('cluster_id', '=', clusterId)
          .where('day', '=', day)
          .execute();
      } else {
        await db.insertInto('usage_days').values({ cluster_id: clusterId, day, samples: times.length, first_at: sorted[0], last_at: sorted[sorted.length - 1] }).execute();
      }
    }
  });
}
