import type { Report, UsageRow } from '../model/report.js';
import type { Installation, UsagePeak, UsageReport } from '../model/usage-report.js';
import { pool } from '../store/report.js';

/**
 * The history behind the dashboard's History view and the quarter's peaks: the JSON of
 * `kensus report usage` (CONTRACT.md, the shapes of src/model/usage-report.ts). Without a store
 * it is kept in memory, fed with every report the server sees; with a store it comes from the
 * store's query functions instead (store-history.ts).
 */

export type { Installation, UsagePeak, UsageReport } from '../model/usage-report.js';

/** Nodes with and without a recent node-agent heartbeat (the store's `agentCoverage`). */
export interface StoreCoverage {
  clusterId: string;
  nodes: Array<{ node: string; lastHeartbeat: string | null; covered: boolean }>;
}

export interface UsageQuery {
  from: string;
  to: string;
  clusterId?: string;
}

export interface KnownCluster {
  id: string;
  name: string | null;
  source: string;
  lastSweep: string | null;
}

export interface HistoryProvider {
  usage(query: UsageQuery): Promise<UsageReport>;
  clusters(): Promise<KnownCluster[]>;
  /** Every product seen running, per workload and container, first and last seen; only a store keeps them. */
  installations?(): Promise<Installation[]>;
  /** Node-agent coverage per cluster at `now`; only a store records the agents' heartbeats. */
  coverage?(now: Date): Promise<StoreCoverage[]>;
}

export interface MemoryHistory extends HistoryProvider {
  /** Takes in one sweep's report: each licence figure's value counts toward the report's UTC day. */
  record(report: Report): void;
}

interface Figure {
  clusterId: string;
  productId: string;
  productName: string;
  metric: string;
  scope: string;
  sku: string | null;
  cloudpakId: string | null;
  vendor: string | null;
  rule: string;
  /** day → the day's peak and its PVU. */
  days: Map<string, { quantity: number; pvu: number | null }>;
}

const clusterOf = (r: Report) => (r.cluster as { id?: string; name?: string | null; source?: string } | undefined) ?? {};
const skuOf = (u: UsageRow) => (typeof u.sku === 'string' ? u.sku : null);

/** The figure's identity across days: the same product, metric, scope, SKU and Cloud Pak. */
export function figureKey(f: { clusterId: string; productId: string; metric: string; scope: string; sku: string | null; cloudpakId: string | null }): string {
  return [f.clusterId, f.productId, f.metric, f.scope, f.sku ?? '', f.cloudpakId ?? ''].join('\u001f');
}

export function createMemoryHistory(): MemoryHistory {
  const figures = new Map<string, Figure>();
  const clusters = new Map<string, KnownCluster>();
  return {
    record(report) {
      const c = clusterOf(report);
      const clusterId = c.id ?? 'unknown';
      const day = report.scannedAt.slice(0, 10);
      const known = clusters.get(clusterId);
      if (!known || (known.lastSweep ?? '') <= report.scannedAt) clusters.set(clusterId, { id: clusterId, name: c.name ?? null, source: c.source ?? 'unknown', lastSweep: report.scannedAt });
      for (const u of report.usage) {
        const base = { clusterId, productId: u.productId, productName: u.productName, metric: u.metric, scope: u.scope, sku: skuOf(u), cloudpakId: u.cloudpakId ?? null };
        const key = figureKey(base);
        const fig = figures.get(key) ?? { ...base, vendor: u.vendor ?? null, rule: u.rule, days: new Map() };
        // The latest sweep's wording of the figure, as the store keeps it.
        Object.assign(fig, { productName: u.productName, vendor: u.vendor ?? fig.vendor, rule: u.rule });
        const prev = fig.days.get(day);
        if (!prev || u.quantity > prev.quantity) fig.days.set(day, { quantity: u.quantity, pvu: u.pvu ?? null });
        figures.set(key, fig);
      }
    },
    async usage(q) {
      const peaks: UsagePeak[] = [];
      for (const f of figures.values()) {
        if (q.clusterId && f.clusterId !== q.clusterId) continue;
        const days = [...f.days.entries()].filter(([d]) => d >= q.from && d < q.to).sort(([a], [b]) => a.localeCompare(b));
        if (days.length === 0) continue;
        let peak = days[0];
        for (const d of days) if (d[1].quantity > peak[1].quantity) peak = d;
        const { days: _days, ...identity } = f;
        peaks.push({ ...identity, quantity: peak[1].quantity, pvu: peak[1].pvu, day: peak[0], firstDay: days[0][0], daily: days.map(([day, v]) => ({ day, quantity: v.quantity })) });
      }
      peaks.sort((a, b) => a.productName.localeCompare(b.productName) || a.metric.localeCompare(b.metric) || a.scope.localeCompare(b.scope) || (a.sku ?? '').localeCompare(b.sku ?? ''));
      const clusterIds = [...new Set(peaks.map((p) => p.clusterId))].sort();
      return { schemaVersion: '1', period: { from: q.from, to: q.to }, clusters: clusterIds, peaks, pooled: clusterIds.length > 1 ? pool(peaks) : [], errors: [] };
    },
    async clusters() {
      return [...clusters.values()].sort((a, b) => a.id.localeCompare(b.id));
    },
  };
}
