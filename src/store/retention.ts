import { sql } from 'kysely';
import { badInput } from '../errors.js';
import type { Store } from './open.js';
import { quarterOf, quarterPeriod, usageReport } from './report.js';
import { chunks, iso, writeTx } from './util.js';

/**
 * Retention, pruned on write: IBM asks for the quarterly use reports to be kept for two years,
 * so the default keeps two years of history. Whole quarters go: the cut is the start of the
 * quarter the retention reaches back into, and every quarter about to go has its use report
 * stored first (quarterly_reports, never pruned), so `report usage --quarter` still answers.
 */
export const DEFAULT_RETENTION = '2y';

/** `--retention 2y | 18m | 26w | 730d`. */
export function parseRetention(value: string): { amount: number; unit: 'd' | 'w' | 'm' | 'y' } {
  const m = /^\s*(\d+)\s*([dwmy])\s*$/i.exec(value);
  if (!m || Number(m[1]) < 1) throw badInput(`--retention '${value}' is not a duration`, 'e.g. --retention 2y (also 18m, 26w, 730d); the default is 2y');
  return { amount: Number(m[1]), unit: m[2].toLowerCase() as 'd' | 'w' | 'm' | 'y' };
}

/** The first day kept: `now` minus the retention, back to the start of its quarter. */
export function retentionCutoff(retention: string, now: Date | string): string {
  const { amount, unit } = parseRetention(retention);
  const d = new Date(iso(now));
  if (unit === 'd') d.setUTCDate(d.getUTCDate() - amount);
  else if (unit === 'w') d.setUTCDate(d.getUTCDate() - 7 * amount);
  else if (unit === 'm') d.setUTCMonth(d.getUTCMonth() - amount);
  else d.setUTCFullYear(d.getUTCFullYear() - amount);
  return quarterPeriod(quarterOf(d.toISOString().slice(0, 10))).from;
}

export interface PruneOptions {
  clusterId: string;
  retention: string;
  now: Date | string;
}

export interface PruneResult {
  cutoff: string;
  quartersKept: string[];
  pruned: boolean;
}

export async function pruneHistory(store: Store, opts: PruneOptions): Promise<PruneResult> {
  const cutoff = retentionCutoff(opts.retention, opts.now);
  const cutoffTime = `${cutoff}T00:00:00.000Z`;
  const { db } = store;
  const oldDays = await db.selectFrom('usage_days').select('day').where('cluster_id', '=', opts.clusterId).where('day', '<', cutoff).execute();
  const oldObs = await db.selectFrom('observations').select('id').where('cluster_id', '=', opts.clusterId).where('closed_at', '<', cutoffTime).limit(1).execute();
  const oldRuns = await db.selectFrom('sweep_runs').select('id').where('cluster_id', '=', opts.clusterId).where('observed_at', '<', cutoffTime).limit(1).execute();
  if (!oldDays.length && !oldObs.length && !oldRuns.length) return { cutoff, quartersKept: [], pruned: false };

  // The use reports of the quarters about to go, first (a report of a quarter already kept stays as it was).
  const quarters = [...new Set(oldDays.map((d) => quarterOf(d.day)))].sort();
  const kept: string[] = [];
  for (const quarter of quarters) {
    const have = await db.selectFrom('quarterly_reports').select('quarter').where('cluster_id', '=', opts.clusterId).where('quarter', '=', quarter).executeTakeFirst();
    if (have) continue;
    const report = await usageReport(store, { quarter, clusters: [opts.clusterId] });
    await db.insertInto('quarterly_reports').values({ cluster_id: opts.clusterId, quarter, generated_at: iso(new Date()), report_json: JSON.stringify(report) }).execute();
    kept.push(quarter);
  }

  await writeTx(store, async (tx) => {
    const c = opts.clusterId;
    await tx.deleteFrom('daily_usage').where('cluster_id', '=', c).where('day', '<', cutoff).execute();
    await tx.deleteFrom('usage_days').where('cluster_id', '=', c).where('day', '<', cutoff).execute();
    await tx.deleteFrom('observations').where('cluster_id', '=', c).where('closed_at', '<', cutoffTime).execute();
    await tx.deleteFrom('node_observations').where('cluster_id', '=', c).where('closed_at', '<', cutoffTime).execute();
    await tx.deleteFrom('pod_events').where('cluster_id', '=', c).where('at', '<', cutoffTime).execute();
    await tx.deleteFrom('entitlement_status').where('cluster_id', '=', c).where('observed_at', '<', cutoffTime).execute();
    await tx.deleteFrom('sweep_runs').where('cluster_id', '=', c).where('observed_at', '<', cutoffTime).execute();
    await tx
      .deleteFrom('pod_specs')
      .where('cluster_id', '=', c)
      .where('first_seen', '<', cutoffTime)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('observations as o').select(sql`1`.as('one')).where('o.cluster_id', '=', c).whereRef('o.pod_key', '=', 'pod_specs.pod_key'))))
      .execute();
    // A digest's scan serves every cluster: it goes when no recorded container runs it any more.
    const stale = await tx
      .selectFrom('scans')
      .select(['digest', 'signature_set_version'])
      .where('scanned_at', '<', cutoffTime)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('observations as o').select(sql`1`.as('one')).whereRef('o.image_digest', '=', 'scans.digest'))))
      .execute();
    for (const part of chunks(stale, 200)) {
      for (const s of part) {
        await tx.deleteFrom('findings').where('digest', '=', s.digest).where('signature_set_version', '=', s.signature_set_version).execute();
        await tx.deleteFrom('scans').where('digest', '=', s.digest).where('signature_set_version', '=', s.signature_set_version).execute();
      }
    }
  });
  return { cutoff, quartersKept: kept, pruned: true };
}
