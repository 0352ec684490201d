import type { Report } from '../../model/report.js';
import type { KnownCluster, StoreCoverage, UsageReport } from '../history.js';
import { inventoryRows, running } from './inventory.js';
import { entitlementRows, statusOrder } from './products.js';
import { peakRows } from './history.js';
import type { EntitlementStatus, OverviewView, Period } from './types.js';

export interface SweepState {
  /** When the last sweep that finished had started (ISO), null before the first. */
  lastStarted: string | null;
  intervalMs: number | null;
  running: boolean;
}

/** Coverage from the store's heartbeats, over every cluster it holds (a node named with its cluster when there are several). */
function storeCoverage(list: StoreCoverage[]): OverviewView['coverage'] {
  const several = list.filter((c) => c.nodes.length).length > 1;
  const nodes = list.flatMap((c) => c.nodes.map((n) => ({ ...n, name: several ? `${c.clusterId}/${n.node}` : n.node })));
  const without = nodes.filter((n) => !n.covered).map((n) => n.name);
  return { source: 'store', nodes: nodes.length, withAgent: nodes.length - without.length, withoutAgent: without.length, nodesWithoutAgent: without };
}

/** The Overview: compliance at a glance, from the latest report and the quarter's history. */
export function overviewOf(report: Report | null, ctx: { quarter: UsageReport; period: Period; clusters: KnownCluster[]; sweep: SweepState; version: string; coverage?: StoreCoverage[] }): OverviewView {
  const rows = report ? inventoryRows(report) : null;
  const ents = report ? entitlementRows(report) : [];
  ents.sort((a, b) => statusOrder.indexOf(a.status) - statusOrder.indexOf(b.status) || a.product.localeCompare(b.product));
  const counts = Object.fromEntries(statusOrder.map((s) => [s, 0])) as Record<EntitlementStatus, number>;
  for (const e of ents) counts[e.status]++;

  let licensableContainers = 0;
  let freeContainers = 0;
  for (const c of report?.containers ?? []) {
    if (!running(c)) continue;
    if (c.products.some((p) => p.licensable === true)) licensableContainers++;
    else if (c.products.length && c.products.every((p) => p.licensable === false)) freeContainers++;
  }
  const productRows = rows?.products ?? [];

  const clusters = ctx.clusters.length
    ? ctx.clusters.map((c) => ({ id: c.id, name: c.name, source: c.source, lastSweep: c.lastSweep }))
    : report?.cluster
      ? [{ ...(report.cluster as { id: string; name: string | null; source: string }), lastSweep: report.scannedAt }]
      : [];
  const agentNodes = rows?.nodes.filter((n) => n.agent) ?? [];
  const next = ctx.sweep.lastStarted && ctx.sweep.intervalMs ? new Date(Date.parse(ctx.sweep.lastStarted) + ctx.sweep.intervalMs).toISOString().replace(/\.\d{3}Z$/, 'Z') : null;
  return {
    clusters,
    tool: { version: ctx.version },
    lastSweep: report?.scannedAt ?? null,
    nextSweep: next,
    sweeping: ctx.sweep.running,
    metadataOnly: report?.metadataOnly === true,
    coverage: ctx.coverage?.some((c) => c.nodes.length)
      ? storeCoverage(ctx.coverage)
      : {
          source: 'report',
          nodes: rows?.nodes.length ?? 0,
          withAgent: agentNodes.length,
          withoutAgent: (rows?.nodes.length ?? 0) - agentNodes.length,
          nodesWithoutAgent: rows?.nodes.filter((n) => !n.agent).map((n) => n.name) ?? [],
        },
    counts: {
      nodes: report?.nodes.length ?? 0,
      namespaces: rows?.namespaces.length ?? 0,
      pods: rows?.pods.length ?? 0,
      containers: report?.containers.length ?? 0,
      images: report?.images.length ?? 0,
      errors: report?.errors.length ?? 0,
    },
    entitlements: { counts, rows: ents },
    products: {
      licensable: productRows.filter((p) => p.licence === 'licensable').length,
      free: productRows.filter((p) => p.licence === 'free').length,
      unknown: productRows.filter((p) => p.licence === 'unknown').length,
      licensableContainers,
      freeContainers,
    },
    period: ctx.period,
    quarterPeaks: peakRows(ctx.quarter),
    ibmIncompleteAnnotationPods: Array.isArray(report?.ibmIncompleteAnnotationPods) ? (report!.ibmIncompleteAnnotationPods as string[]) : [],
    errors: report?.errors.slice(0, 50) ?? [],
  };
}
