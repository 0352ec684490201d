import { reconcile, type Entitlement, type EntitlementStatus } from '../licensing/entitlements.js';
import { badInput } from '../errors.js';
import type { ProductFinding } from '../model/finding.js';
import type { UsageRow } from '../model/report.js';
import type { Store } from './open.js';
import type { DailyUsageTable } from './schema.js';
import { iso } from './util.js';
import type { IbmProgramHistory, Installation, Period, PooledPeak, UsagePeak, UsageReport } from '../model/usage-report.js';

export type { DailyQuantity, IbmProgramHistory, Installation, Period, PooledPeak, UsagePeak, UsageReport } from '../model/usage-report.js';

/**
 * What the store answers: `report usage` (CONTRACT.md: per figure the peak of the period, the
 * first day it was reached and the daily series; `to` exclusive), installations first and last
 * seen, the first day each IBM program ran (IBM's 90-day rule), and entitlements pooled across
 * the clusters they list.
 */

const dayRe = /^\d{4}-\d{2}-\d{2}$/;

function checkDay(value: string, flag: string): string {
  const d = new Date(`${value}T00:00:00Z`);
  if (!dayRe.test(value) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value) {
    throw badInput(`${flag} '${value}' is not a day`, `write it as YYYY-MM-DD, e.g. ${flag} 2026-07-01`);
  }
  return value;
}

/** `--quarter 2026Q3` → 2026-07-01 … 2026-10-01. */
export function quarterPeriod(quarter: string): Period {
  const m = /^(\d{4})[-\s]?Q([1-4])$/i.exec(quarter.trim());
  if (!m) throw badInput(`--quarter '${quarter}' is not a quarter`, 'write it as YYYYQn, e.g. --quarter 2026Q3');
  const year = Number(m[1]);
  const q = Number(m[2]);
  const from = new Date(Date.UTC(year, (q - 1) * 3, 1));
  const to = new Date(Date.UTC(year, q * 3, 1));
  return { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) };
}

/** The quarter (YYYYQn) a day falls in. */
export function quarterOf(day: string): string {
  const month = Number(day.slice(5, 7));
  return `${day.slice(0, 4)}Q${Math.floor((month - 1) / 3) + 1}`;
}

export function checkPeriod(from: string, to: string): Period {
  checkDay(from, '--from');
  checkDay(to, '--to');
  if (to <= from) throw badInput(`--to ${to} is not after --from ${from}`, '--to is exclusive: --from 2026-07-01 --to 2026-10-01 is the third quarter');
  return { from, to };
}

export type ClusterChoice = string[] | 'all' | undefined;

/** The clusters a report covers: the named ones, all, or the only one the store holds. */
export async function resolveClusters(store: Store, choice: ClusterChoice): Promise<string[]> {
  const known = (await store.db.selectFrom('clusters').select('cluster_id').orderBy('cluster_id').execute()).map((r) => r.cluster_id);
  if (choice === 'all') return known;
  if (choice && choice.length) {
    const names = await store.db.selectFrom('clusters').select(['cluster_id', 'name']).execute();
    return choice.map((c) => {
      const hit = names.find((n) => n.cluster_id === c) ?? names.find((n) => n.name === c);
      if (!hit) throw badInput(`the store ${store.display} holds no cluster '${c}'`, known.length ? `it holds: ${known.join(', ')}` : 'record a sweep first: kensus sweep');
      return hit.cluster_id;
    });
  }
  if (known.length > 1) throw badInput(`the store ${store.display} holds ${known.length} clusters (${known.join(', ')})`, 'choose one with --cluster ID, or --all-clusters');
  return known;
}

/** A daily_usage row as the reports read it (every column but when the peak was reached). */
type DayRow = Omit<DailyUsageTable, 'peak_at'>;

const figureKey = (r: Pick<DayRow, 'product_id' | 'metric' | 'scope' | 'sku' | 'cloudpak_id'>) => [r.product_id, r.metric, r.scope, r.sku, r.cloudpak_id].join('\u0000');

function peakOf(rows: DayRow[]): Omit<UsagePeak, 'clusterId'> {
  const sorted = [...rows].sort((a, b) => a.day.localeCompare(b.day));
  let best = sorted[0];
  for (const r of sorted) if (r.quantity > best.quantity) best = r;
  const last = sorted[sorted.length - 1];
  return {
    productId: last.product_id,
    productName: last.product_name,
    metric: last.metric,
    scope: last.scope,
    sku: best.sku || null,
    cloudpakId: best.cloudpak_id || null,
    quantity: best.quantity,
    pvu: best.pvu,
    day: best.day,
    daily: sorted.map((r) => ({ day: r.day, quantity: r.quantity })),
    firstDay: sorted[0].day,
    vendor: last.vendor,
    rule: best.rule,
    ...cloudpakOf(best),
  };
}

function cloudpakOf(r: DayRow): Pick<UsagePeak, 'cloudpak'> {
  if (!r.cloudpak_id) return {};
  const row = JSON.parse(r.row_json) as UsageRow;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return { cloudpak: { name: text(row.cloudpakName) ?? (r.scope === 'cloudpak' ? r.product_name : null), version: text(row.cloudpakVersion), metric: text(row.cloudpakMetric), conversion: text(row.metricConversion) } };
}

type Figure = Pick<UsagePeak, 'productId' | 'metric' | 'scope' | 'sku' | 'cloudpakId'>;
const peakOrder = (a: Figure, b: Figure) =>
  a.productId.localeCompare(b.productId) || a.metric.localeCompare(b.metric) || a.scope.localeCompare(b.scope) || (a.sku ?? '').localeCompare(b.sku ?? '') || (a.cloudpakId ?? '').localeCompare(b.cloudpakId ?? '');

export interface UsageReportOptions {
  period?: Period;
  quarter?: string;
  clusters?: ClusterChoice;
}

/** `kensus report usage`: the peaks of the period, per cluster, and pooled when there are several. */
export async function usageReport(store: Store, opts: UsageReportOptions): Promise<UsageReport> {
  const period = opts.quarter ? quarterPeriod(opts.quarter) : opts.period ? checkPeriod(opts.period.from, opts.period.to) : null;
  if (!period) throw badInput('report usage needs a period', 'give --from DAY --to DAY or --quarter YYYYQn');
  const clusters = await resolveClusters(store, opts.clusters);
  const rows: DayRow[] = clusters.length
    ? await store.db
        .selectFrom('daily_usage')
        .select(['cluster_id', 'day', 'product_id', 'metric', 'scope', 'sku', 'cloudpak_id', 'product_name', 'vendor', 'quantity', 'pvu', 'rule', 'row_json'])
        .where('cluster_id', 'in', clusters)
        .where('day', '>=', period.from)
        .where('day', '<', period.to)
        .execute()
    : [];
  const peaks: UsagePeak[] = [];
  for (const clusterId of clusters) {
    const mine = rows.filter((r) => r.cluster_id === clusterId);
    if (!mine.length && opts.quarter) {
      // The days were pruned past the retention: the quarter's report was kept.
      const kept = await store.db.selectFrom('quarterly_reports').select('report_json').where('cluster_id', '=', clusterId).where('quarter', '=', quarterOf(period.from)).executeTakeFirst();
      if (kept) peaks.push(...(JSON.parse(kept.report_json) as UsageReport).peaks);
      continue;
    }
    const byFigure = new Map<string, DayRow[]>();
    for (const r of mine) byFigure.set(figureKey(r), [...(byFigure.get(figureKey(r)) ?? []), r]);
    peaks.push(...[...byFigure.values()].map((fig) => ({ clusterId, ...peakOf(fig) })).sort(peakOrder));
  }
  return {
    schemaVersion: '1',
    period,
    ...(opts.quarter ? { quarter: quarterOf(period.from) } : {}),
    clusters,
    peaks,
    pooled: clusters.length > 1 ? pool(peaks) : [],
    errors: [],
  };
}

/** Per figure and day, the sum over clusters of their daily peaks; the pooled peak is the highest such day. */
export function pool(peaks: UsagePeak[]): PooledPeak[] {
  const byFigure = new Map<string, UsagePeak[]>();
  for (const p of peaks) {
    const k = figureKey({ product_id: p.productId, metric: p.metric, scope: p.scope, sku: p.sku ?? '', cloudpak_id: p.cloudpakId ?? '' });
    byFigure.set(k, [...(byFigure.get(k) ?? []), p]);
  }
  const out: PooledPeak[] = [];
  for (const figs of byFigure.values()) {
    const days = new Map<string, number>();
    for (const f of figs) for (const d of f.daily) days.set(d.day, (days.get(d.day) ?? 0) + d.quantity);
    const daily = [...days].sort(([a], [b]) => a.localeCompare(b)).map(([day, quantity]) => ({ day, quantity }));
    const best = daily.reduce((a, b) => (b.quantity > a.quantity ? b : a), daily[0]);
    const pvuPerUnit = figs.find((f) => f.pvu !== null && f.quantity > 0);
    const first = figs[0];
    out.push({
      productId: first.productId,
      productName: first.productName,
      metric: first.metric,
      scope: first.scope,
      sku: first.sku,
      cloudpakId: first.cloudpakId,
      quantity: best.quantity,
      pvu: pvuPerUnit ? (pvuPerUnit.pvu! / pvuPerUnit.quantity) * best.quantity : null,
      day: best.day,
      daily,
      firstDay: daily[0].day,
      vendor: first.vendor,
      clusters: [...new Set(figs.map((f) => f.clusterId))].sort(),
    });
  }
  return out.sort(peakOrder);
}

/** Every product seen running, per workload and container: first and last seen. */
export async function installations(store: Store, opts: { clusters?: ClusterChoice } = {}): Promise<Installation[]> {
  const clusters = await resolveClusters(store, opts.clusters);
  if (!clusters.length) return [];
  const rows = await store.db
    .selectFrom('observations')
    .select(['cluster_id', 'namespace', 'workload', 'container', 'image', 'image_digest', 'products_json', 'first_seen', 'last_seen', 'closed_at'])
    .where('cluster_id', 'in', clusters)
    .where('running', '=', 1)
    .execute();
  const out = new Map<string, Installation>();
  for (const r of rows) {
    for (const p of JSON.parse(r.products_json) as ProductFinding[]) {
      const k = [r.cluster_id, p.id, r.namespace, r.workload, r.container].join('\u0000');
      const prev = out.get(k);
      const current = r.closed_at === null;
      if (!prev) {
        out.set(k, { clusterId: r.cluster_id, productId: p.id, product: p.product, vendor: p.vendor, namespace: r.namespace, workload: r.workload, container: r.container, image: r.image, imageDigest: r.image_digest, firstSeen: r.first_seen, lastSeen: r.last_seen, current });
        continue;
      }
      if (r.first_seen < prev.firstSeen) prev.firstSeen = r.first_seen;
      if (r.last_seen >= prev.lastSeen) Object.assign(prev, { lastSeen: r.last_seen, image: r.image, imageDigest: r.image_digest });
      prev.current ||= current;
    }
  }
  return [...out.values()].sort(
    (a, b) => a.clusterId.localeCompare(b.clusterId) || a.productId.localeCompare(b.productId) || a.namespace.localeCompare(b.namespace) || a.workload.localeCompare(b.workload) || a.container.localeCompare(b.container),
  );
}

/** The first day each IBM program (container licensing) ran in each cluster: the input of IBM's 90-day rule. */
export async function ibmFirstSeen(store: Store, opts: { clusters?: ClusterChoice; now?: Date | string } = {}): Promise<IbmProgramHistory[]> {
  const clusters = await resolveClusters(store, opts.clusters);
  if (!clusters.length) return [];
  const rows = await store.db
    .selectFrom('daily_usage')
    .select(({ fn }) => ['cluster_id', 'product_id', fn.max('product_name').as('product_name'), fn.min('day').as('first_day'), fn.max('day').as('last_day')])
    .where('cluster_id', 'in', clusters)
    .where('vendor', '=', 'IBM')
    .where('scope', '!=', 'cloudpak')
    .groupBy(['cluster_id', 'product_id'])
    .orderBy('cluster_id')
    .orderBy('product_id')
    .execute();
  const now = new Date(iso(opts.now ?? new Date())).getTime();
  return rows.map((r) => ({
    clusterId: r.cluster_id,
    productId: r.product_id,
    productName: String(r.product_name),
    firstDay: String(r.first_day),
    lastDay: String(r.last_day),
    daysSinceFirst: Math.floor((now - new Date(`${String(r.first_day)}T00:00:00Z`).getTime()) / 86_400_000),
  }));
}

export interface PooledEntitlement {
  product: string;
  metric: string;
  owned: number;
  clusters: string[];
  /** The highest pooled use of the period, the first day it was reached, and its status. */
  used: number;
  day: string | null;
  status: EntitlementStatus;
  percentage: number | null;
  daily: Array<{ day: string; used: number }>;
}

/**
 * Entitlements held against the history: one that lists clusters pools the daily figures of all
 * of them (the reference's `clusters: [prod-cluster-1, prod-cluster-2]`), one that lists none
 * pools every cluster of the store. Each day's use is what `reconcile` makes of the clusters'
 * peaks of that day together; the entitlement's figure is the highest day.
 */
export async function entitlementHistory(store: Store, entitlements: Entitlement[], opts: UsageReportOptions): Promise<PooledEntitlement[]> {
  const period = opts.quarter ? quarterPeriod(opts.quarter) : opts.period ? checkPeriod(opts.period.from, opts.period.to) : null;
  if (!period) throw badInput('entitlement history needs a period', 'give --from DAY --to DAY or --quarter YYYYQn');
  const clusterRows = await store.db.selectFrom('clusters').select(['cluster_id', 'name']).execute();
  const out: PooledEntitlement[] = [];
  for (const ent of entitlements) {
    const wanted = ent.clusters?.length ? clusterRows.filter((c) => ent.clusters!.includes(c.name ?? '') || ent.clusters!.includes(c.cluster_id)) : clusterRows;
    const ids = wanted.map((c) => c.cluster_id);
    const rows = ids.length
      ? await store.db.selectFrom('daily_usage').select(['day', 'row_json']).where('cluster_id', 'in', ids).where('day', '>=', period.from).where('day', '<', period.to).execute()
      : [];
    const byDay = new Map<string, UsageRow[]>();
    for (const r of rows) byDay.set(r.day, [...(byDay.get(r.day) ?? []), JSON.parse(r.row_json) as UsageRow]);
    // The pooled figure is the entitlement's own: without its cluster list, reconcile holds it against every row given.
    const { clusters: _clusters, ...pooled } = ent;
    if (ent.detection) throw badInput(`entitlement for ${ent.product} counts by detection (image names), which the daily figures do not keep`, 'give it a metric the licence figures measure, or read the per-sweep status');
    const daily = [...byDay]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([day, usage]) => ({ day, result: reconcile([pooled], usage, null)[0] }));
    const best = daily.reduce<(typeof daily)[number] | null>((a, b) => (!a || b.result.used > a.result.used ? b : a), null);
    const result = best?.result ?? reconcile([pooled], [], null)[0];
    out.push({
      product: ent.product,
      metric: ent.metric,
      owned: ent.quantity,
      clusters: wanted.map((c) => c.name ?? c.cluster_id).sort(),
      used: result.used,
      day: best?.day ?? null,
      status: result.status,
      percentage: result.percentage,
      daily: daily.map((d) => ({ day: d.day, used: d.result.used })),
    });
  }
  return out;
}
