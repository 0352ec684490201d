import { badInput } from '../errors.js';
import type { IbmNinetyDayStatus, LicenseServiceComparison, LicenseServiceComparisonRow, LicenseServicePeak } from '../model/usage-report.js';
import type { Store } from './open.js';
import { checkPeriod, ibmFirstSeen, quarterPeriod, resolveClusters, type ClusterChoice } from './report.js';
import { chunks, iso, writeTx } from './util.js';

/**
 * IBM License Service data in the store, beside Kensus's own IBM figures (issue 16: "reports show
 * both and their difference (a pod Kensus sees that License Service does not count, or the
 * reverse, is what an auditor asks about)"). A collection run's rows are recorded per day; a day
 * License Service answered for with no row for a program means it counted none of it that day.
 */

/** One collection's rows, as src/ibm-license-service hands them on (the store imports nothing of it). */
export interface LicenseServiceRecord {
  /** The cluster id License Service data carries (the kube-system namespace uid). */
  lsClusterId: string;
  collectedAt: Date | string;
  serviceVersion: string;
  /** First and last day (inclusive) the run's data covers. */
  period: { start: string; end: string };
  products: Array<{ day: string; productId: string; productName: string; metricName: string; metricQuantity: number; metricPeakDate: string | null }>;
  bundledProducts: Array<{
    day: string;
    cloudpakId: string;
    cloudpakName: string;
    cloudpakVersion: string;
    productId: string;
    productName: string;
    metricName: string;
    metricConversion: string;
    metricMeasuredQuantity: number;
    metricConvertedQuantity: number;
    metricPeakDate: string | null;
  }>;
}

function daysOf(start: string, end: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${start}T00:00:00Z`); t <= Date.parse(`${end}T00:00:00Z`); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/**
 * The store cluster License Service data belongs to: the one given (id or name), else the only
 * cluster the store holds, else (an empty store) License Service's own cluster id.
 */
export async function licenseServiceCluster(store: Store, given: string | undefined, lsClusterId: string): Promise<string> {
  if (given) {
    const hit = await store.db.selectFrom('clusters').select('cluster_id').where((eb) => eb.or([eb('cluster_id', '=', given), eb('name', '=', given)])).executeTakeFirst();
    return hit?.cluster_id ?? given;
  }
  const known = await store.db.selectFrom('clusters').select('cluster_id').execute();
  if (known.some((k) => k.cluster_id === lsClusterId)) return lsClusterId;
  if (known.length === 1) return known[0].cluster_id;
  if (known.length > 1) throw badInput(`the store ${store.display} holds ${known.length} clusters; which one is License Service's?`, 'give --store-cluster ID (the id or name kensus sweep recorded)');
  return lsClusterId;
}

/**
 * Records one collection run into `clusterId`, in one transaction: every day of its period is
 * replaced (a later run over the same day wins), so recording a run twice changes nothing.
 */
export async function recordLicenseService(store: Store, clusterId: string, rec: LicenseServiceRecord): Promise<{ days: number; rows: number }> {
  const days = daysOf(rec.period.start, rec.period.end);
  if (!days.length) return { days: 0, rows: 0 };
  const at = iso(rec.collectedAt);
  const usage = [
    ...rec.products.map((p) => ({
      cluster_id: clusterId,
      day: p.day,
      kind: 'product' as const,
      product_id: p.productId,
      metric: p.metricName,
      cloudpak_id: '',
      product_name: p.productName,
      cloudpak_name: null,
      cloudpak_version: null,
      metric_conversion: null,
      quantity: p.metricQuantity,
      converted_quantity: null,
      peak_date: p.metricPeakDate,
    })),
    ...rec.bundledProducts.map((b) => ({
      cluster_id: clusterId,
      day: b.day,
      kind: 'bundled' as const,
      product_id: b.productId,
      metric: b.metricName,
      cloudpak_id: b.cloudpakId,
      product_name: b.productName,
      cloudpak_name: b.cloudpakName,
      cloudpak_version: b.cloudpakVersion,
      metric_conversion: b.metricConversion,
      quantity: b.metricMeasuredQuantity,
      converted_quantity: b.metricConvertedQuantity,
      peak_date: b.metricPeakDate,
    })),
  ].filter((r) => r.day >= rec.period.start && r.day <= rec.period.end);
  await writeTx(store, async (db) => {
    const known = await db.selectFrom('clusters').select('cluster_id').where('cluster_id', '=', clusterId).executeTakeFirst();
    if (!known) await db.insertInto('clusters').values({ cluster_id: clusterId, name: null, first_seen: at, last_seen: at }).execute();
    for (const part of chunks(days, 400)) {
      await db.deleteFrom('license_service_usage').where('cluster_id', '=', clusterId).where('day', 'in', part).execute();
      await db.deleteFrom('license_service_days').where('cluster_id', '=', clusterId).where('day', 'in', part).execute();
    }
    const count = (day: string, kind: string) => usage.filter((u) => u.day === day && u.kind === kind).length;
    const dayRows = days.map((day) => ({ cluster_id: clusterId, day, ls_cluster_id: rec.lsClusterId, collected_at: at, service_version: rec.serviceVersion, products: count(day, 'product'), bundled_products: count(day, 'bundled') }));
    for (const part of chunks(dayRows, 400)) await db.insertInto('license_service_days').values(part).execute();
    for (const part of chunks(usage, 400)) await db.insertInto('license_service_usage').values(part).execute();
  });
  return { days: days.length, rows: usage.length };
}

/** Kensus's IBM figure kinds that License Service has a counterpart for. */
const COMPARED_SCOPES = ['cluster', 'cloudpak', 'bundled-product'];

const keyOf = (r: { kind: string; productId: string; metric: string; cloudpakId: string | null }) => [r.kind, r.productId, r.metric, r.cloudpakId ?? ''].join('\u0000');

/**
 * Kensus's IBM figures and License Service's rows side by side, per cluster, product (bundled
 * product within its Cloud Pak) and day, on the days both have data: `difference` is Kensus's
 * quantity minus License Service's. A program Kensus measures that License Service does not
 * count that day is `kensus-only` (often a pod without the License Service annotations); the
 * reverse is `license-service-only` (a pod Kensus did not see, or an annotation it could not read).
 * Standalone programs and Cloud Paks compare with License Service's `/products` rows (a Cloud Pak
 * is a product there, in converted cores); bundled products by their measured quantity.
 */
export async function licenseServiceComparison(store: Store, opts: { period?: { from: string; to: string }; quarter?: string; clusters?: ClusterChoice }): Promise<LicenseServiceComparison> {
  const period = opts.quarter ? quarterPeriod(opts.quarter) : opts.period ? checkPeriod(opts.period.from, opts.period.to) : null;
  if (!period) throw badInput('the License Service comparison needs a period', 'give --from DAY --to DAY or --quarter YYYYQn');
  const clusters = await resolveClusters(store, opts.clusters);
  const out: LicenseServiceComparison = { clusters: [], peaks: [], comparison: [] };
  if (!clusters.length) return out;
  const lsDays = await store.db
    .selectFrom('license_service_days')
    .select(['cluster_id', 'day', 'collected_at', 'service_version'])
    .where('cluster_id', 'in', clusters)
    .where('day', '>=', period.from)
    .where('day', '<', period.to)
    .execute();
  if (!lsDays.length) return out;
  const kensusDays = await store.db.selectFrom('usage_days').select(['cluster_id', 'day']).where('cluster_id', 'in', clusters).where('day', '>=', period.from).where('day', '<', period.to).execute();
  const lsRows = await store.db
    .selectFrom('license_service_usage')
    .selectAll()
    .where('cluster_id', 'in', clusters)
    .where('day', '>=', period.from)
    .where('day', '<', period.to)
    .execute();
  const kRows = await store.db
    .selectFrom('daily_usage')
    .select(['cluster_id', 'day', 'product_id', 'product_name', 'metric', 'scope', 'cloudpak_id', 'quantity'])
    .where('cluster_id', 'in', clusters)
    .where('vendor', '=', 'IBM')
    .where('scope', 'in', COMPARED_SCOPES)
    .where('day', '>=', period.from)
    .where('day', '<', period.to)
    .execute();

  for (const clusterId of clusters) {
    const mineLs = lsDays.filter((d) => d.cluster_id === clusterId);
    if (!mineLs.length) continue;
    const lsSet = new Set(mineLs.map((d) => d.day));
    const kSet = new Set(kensusDays.filter((d) => d.cluster_id === clusterId).map((d) => d.day));
    const both = [...lsSet].filter((d) => kSet.has(d)).sort();
    const latest = mineLs.reduce((a, b) => (b.collected_at > a.collected_at ? b : a));
    out.clusters.push({
      clusterId,
      licenseServiceDays: lsSet.size,
      kensusDays: kSet.size,
      comparedDays: both.length,
      lastCollectedAt: latest.collected_at,
      serviceVersion: latest.service_version,
    });

    // License Service's own peaks of the period (what its quarterly data would report).
    const peaks = new Map<string, LicenseServicePeak>();
    for (const r of lsRows.filter((x) => x.cluster_id === clusterId).sort((a, b) => a.day.localeCompare(b.day))) {
      const k = keyOf({ kind: r.kind, productId: r.product_id, metric: r.metric, cloudpakId: r.cloudpak_id });
      const p = peaks.get(k);
      if (!p) peaks.set(k, { clusterId, kind: r.kind, productId: r.product_id, productName: r.product_name, cloudpakId: r.cloudpak_id || null, metric: r.metric, quantity: r.quantity, day: r.day, daily: [{ day: r.day, quantity: r.quantity }] });
      else {
        p.daily.push({ day: r.day, quantity: r.quantity });
        if (r.quantity > p.quantity) Object.assign(p, { quantity: r.quantity, day: r.day });
      }
    }
    out.peaks.push(...[...peaks.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.productId.localeCompare(b.productId) || a.metric.localeCompare(b.metric)));

    const compared = new Set(both);
    const rows = new Map<string, LicenseServiceComparisonRow>();
    const rowFor = (day: string, kind: 'product' | 'bundled', productId: string, productName: string, metric: string, cloudpakId: string | null) => {
      const k = `${day}\u0000${keyOf({ kind, productId, metric, cloudpakId })}`;
      let row = rows.get(k);
      if (!row) rows.set(k, (row = { clusterId, day, kind, productId, productName, cloudpakId, metric, kensus: null, licenseService: null, difference: 0, status: 'agree' }));
      return row;
    };
    for (const r of kRows) {
      if (r.cluster_id !== clusterId || !compared.has(r.day)) continue;
      const bundled = r.scope === 'bundled-product';
      rowFor(r.day, bundled ? 'bundled' : 'product', r.product_id, r.product_name, r.metric, bundled ? r.cloudpak_id || null : null).kensus = r.quantity;
    }
    for (const r of lsRows) {
      if (r.cluster_id !== clusterId || !compared.has(r.day)) continue;
      const row = rowFor(r.day, r.kind, r.product_id, r.product_name, r.metric, r.kind === 'bundled' ? r.cloudpak_id || null : null);
      row.licenseService = r.quantity;
      row.productName = r.product_name;
    }
    for (const row of rows.values()) {
      row.difference = Math.round(((row.kensus ?? 0) - (row.licenseService ?? 0)) * 1e6) / 1e6;
      row.status = row.licenseService === null ? 'kensus-only' : row.kensus === null ? 'license-service-only' : row.difference === 0 ? 'agree' : 'differ';
    }
    out.comparison.push(
      ...[...rows.values()].sort((a, b) => a.day.localeCompare(b.day) || a.kind.localeCompare(b.kind) || a.productId.localeCompare(b.productId) || a.metric.localeCompare(b.metric) || (a.cloudpakId ?? '').localeCompare(b.cloudpakId ?? '')),
    );
  }
  return out;
}

/**
 * Whether IBM License Service is known to run in each cluster as of `now`: it answered a
 * collection for a day within the last week (it collects daily, so older data means it is not
 * maintained), or a sweep saw its own container (the `ibm-licensing` image of the IBM Licensing
 * operator's instance) running within the last week.
 */
export async function licenseServicePresence(store: Store, clusters: string[], now: Date | string): Promise<Map<string, { lastDay: string | null; seenRunning: boolean }>> {
  const out = new Map<string, { lastDay: string | null; seenRunning: boolean }>();
  if (!clusters.length) return out;
  const since = new Date(Date.parse(iso(now)) - 7 * 86_400_000).toISOString();
  const days = await store.db
    .selectFrom('license_service_days')
    .select(({ fn }) => ['cluster_id', fn.max('day').as('last_day')])
    .where('cluster_id', 'in', clusters)
    .groupBy('cluster_id')
    .execute();
  const running = await store.db
    .selectFrom('observations')
    .select('cluster_id')
    .distinct()
    .where('cluster_id', 'in', clusters)
    .where('running', '=', 1)
    .where((eb) => eb.or([eb('closed_at', 'is', null), eb('last_seen', '>=', since)]))
    .where((eb) => eb.or([eb('image', 'like', '%/ibm-licensing:%'), eb('image', 'like', '%/ibm-licensing@%'), eb('image', 'like', 'ibm-licensing:%')]))
    .execute();
  for (const c of clusters) {
    const last = days.find((d) => d.cluster_id === c)?.last_day ?? null;
    out.set(c, { lastDay: last === null ? null : String(last), seenRunning: running.some((r) => r.cluster_id === c) });
  }
  return out;
}

const DAY_MS = 86_400_000;

/**
 * IBM's 90-day rule (ibm-container-licensing.txt: "implement IBM License Service within 90 days
 * of their first Eligible Container Product deployment"): every IBM program with container
 * licence figures in a cluster, its first day, and whether the cluster has License Service (data
 * collected within the last week, or its container seen running). A program still deployed (a
 * figure within the last week) more than 90 days after its first day, in a cluster without
 * License Service, is `overdue` and carries a warning.
 */
export async function ibmNinetyDayRule(store: Store, opts: { clusters?: ClusterChoice; now?: Date | string } = {}): Promise<IbmNinetyDayStatus[]> {
  const now = iso(opts.now ?? new Date());
  const programs = await ibmFirstSeen(store, { clusters: opts.clusters, now });
  const presence = await licenseServicePresence(store, [...new Set(programs.map((p) => p.clusterId))], now);
  const weekAgo = new Date(Date.parse(now) - 7 * DAY_MS).toISOString().slice(0, 10);
  return programs.map((p) => {
    const ls = presence.get(p.clusterId) ?? { lastDay: null, seenRunning: false };
    const has = ls.seenRunning || (ls.lastDay !== null && ls.lastDay >= weekAgo);
    const dueDay = new Date(Date.parse(`${p.firstDay}T00:00:00Z`) + 90 * DAY_MS).toISOString().slice(0, 10);
    const deployed = p.lastDay >= weekAgo;
    const status: IbmNinetyDayStatus['status'] = has ? 'ok' : p.daysSinceFirst > 90 && deployed ? 'overdue' : 'due';
    const warning =
      status === 'overdue'
        ? `${p.productName} has run in cluster ${p.clusterId} for ${p.daysSinceFirst} days (since ${p.firstDay}) without IBM License Service; IBM requires it within 90 days of the first deployment (due ${dueDay}), else all cores of the cluster are charged`
        : null;
    return { ...p, dueDay, licenseServiceLastDay: ls.lastDay, licenseServiceRunning: ls.seenRunning, status, warning };
  });
}
