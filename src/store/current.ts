import type { Entitlement } from '../licensing/entitlements.js';
import { reconcile } from '../licensing/entitlements.js';
import { computeUsage } from '../licensing/usage.js';
import type { Report } from '../model/report.js';
import { buildClusterReport } from '../report/cluster.js';
import { inventoryAt, type StoredUsageOptions } from './figures.js';
import type { Store } from './open.js';
import { recordedFindings } from './record.js';
import { parseJson } from './util.js';

/**
 * The cluster report of the latest complete sweep, rebuilt from the store (the recorded state
 * at that moment, measured with the options the sweep used): what `serve --store` answers after
 * a restart, before its own first sweep is done. Null when the cluster has no complete sweep.
 */
export async function latestReport(store: Store, clusterId: string, version: string): Promise<Report | null> {
  const run = await store.db
    .selectFrom('sweep_runs')
    .select(['observed_at', 'usage_options_json', 'entitlements_json', 'signature_set_version', 'errors_json'])
    .where('cluster_id', '=', clusterId)
    .where('status', '=', 'complete')
    .orderBy('observed_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!run) return null;
  const inv = await inventoryAt(store.db, clusterId, run.observed_at);
  const cluster = await store.db.selectFrom('clusters').select('name').where('cluster_id', '=', clusterId).executeTakeFirst();
  inv.model.clusterName = cluster?.name ?? null;
  const seen = new Map<string, string>();
  for (const c of inv.containers) if (c.container.imageDigest && !seen.has(c.container.imageDigest)) seen.set(c.container.imageDigest, c.container.image);
  for (const [digest, ref] of seen) {
    const products = await recordedFindings(store.db, digest, run.signature_set_version);
    inv.images.push({ key: digest, digest, ref, products: products ?? [], scanned: products !== null });
  }
  inv.errors = parseJson<Report['errors']>(run.errors_json, []);
  const options = parseJson<StoredUsageOptions>(run.usage_options_json, {});
  const figures = computeUsage(inv, options);
  const entitlements = parseJson<Entitlement[] | null>(run.entitlements_json, null);
  const results = entitlements ? reconcile(entitlements, figures.usage, inv, { clusterName: cluster?.name ?? clusterId }) : null;
  return buildClusterReport(inv, figures, results, { version, clusterId, now: new Date(run.observed_at) });
}
