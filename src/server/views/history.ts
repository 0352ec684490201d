import { normalizeMetric, productMatches } from '../../licensing/entitlements.js';
import { figureKey, type UsageReport } from '../history.js';
import { daysOf } from './period.js';
import type { EntitlementRow, HistoryChart, HistoryView, PeakRow, Period } from './types.js';

/** The peaks of `report usage` as table rows (the daily series left out). */
export function peakRows(u: UsageReport): PeakRow[] {
  return u.peaks.map((p) => ({
    key: figureKey(p),
    clusterId: p.clusterId,
    productId: p.productId,
    productName: p.productName,
    metric: p.metric,
    scope: p.scope,
    sku: p.sku,
    cloudpakId: p.cloudpakId,
    quantity: p.quantity,
    pvu: p.pvu,
    day: p.day,
  }));
}

/**
 * One chart per product and metric: a line per figure (scope, SKU, Cloud Pak) and, where an
 * entitlement names that product and metric, the quantity owned (summed over such entitlements;
 * a namespace-bound one owns only what its namespaces use, see the Entitlements view).
 */
export function historyOf(u: UsageReport, period: Period, entitlements: EntitlementRow[]): HistoryView {
  const charts = new Map<string, HistoryChart>();
  for (const p of u.peaks) {
    const id = `${p.productId}\u001f${p.metric}`;
    const chart = charts.get(id) ?? { productId: p.productId, productName: p.productName, metric: p.metric, owned: null, series: [] };
    const label = [p.scope, p.sku, p.cloudpakId && p.scope === 'bundled-product' ? 'in Cloud Pak' : null, u.peaks.some((o) => o.clusterId !== p.clusterId) ? p.clusterId.slice(0, 8) : null].filter(Boolean).join(' · ');
    chart.series.push({ key: figureKey(p), label, scope: p.scope, sku: p.sku, cloudpakId: p.cloudpakId, peak: { quantity: p.quantity, day: p.day }, daily: p.daily });
    charts.set(id, chart);
  }
  for (const chart of charts.values()) {
    const owning = entitlements.filter(
      (e) => e.status !== 'unlicensed' && e.status !== 'not-applicable' && productMatches(e.product, { productId: chart.productId, productName: chart.productName }) && normalizeMetric(e.metric) === normalizeMetric(chart.metric),
    );
    if (owning.length) chart.owned = owning.reduce((a, e) => a + e.owned, 0);
  }
  return {
    period,
    days: daysOf(period),
    charts: [...charts.values()].sort((a, b) => a.productName.localeCompare(b.productName) || a.metric.localeCompare(b.metric)),
    errors: u.errors,
  };
}
