import { beforeAll, describe, expect, it } from 'vitest';
import { simulatedReports } from '../../../test/support/dashboard-history.js';
import type { Report } from '../../model/report.js';
import { createMemoryHistory } from '../history.js';
import { historyOf } from './history.js';
import { inventoryRows } from './inventory.js';
import { overviewOf } from './overview.js';
import { periodOf, quarterOf } from './period.js';
import { entitlementRows } from './products.js';
import { findingSpec, namespaceSpec, nodeSpec, podSpec } from './specs.js';
import { csvOf, pageOf } from './table.js';

let reports: Report[];
let latest: Report;

beforeAll(async () => {
  reports = await simulatedReports();
  latest = reports[reports.length - 1];
});

describe('dashboard views of the test cluster (figures worked out in src/cluster/test-fixtures.ts)', () => {
  it('nodes: CPU, GPUs with model and SKU, products, and the worst entitlement status of what runs there', () => {
    const { nodes } = inventoryRows(latest);
    const h100 = nodes.find((n) => n.name === 'gpu-h100')!;
    expect(h100).toMatchObject({ cpu: 64, gpuCount: 8, gpus: [{ count: 8, product: 'NVIDIA-H100-80GB-HBM3', sku: 'NVAIE-H100' }], pods: 8, nvaieGated: ['nvidia-nim'], agent: false });
    // ace-1..3, apic-1..3, nim-llm, oracle-1; ACE, APIC (in the Cloud Pak) and Oracle have no entitlement.
    expect(h100.products.map((p) => [p.product, p.status])).toEqual([
      ['IBM API Connect', 'unlicensed'], ['IBM App Connect Enterprise', 'unlicensed'], ['NVIDIA NIM', 'ok'], ['Oracle Database', 'unlicensed'],
    ]);
    expect(h100.status).toBe('unlicensed');
    // Only the free CUDA toolkit runs on gpu-nolabel (oracle-done has Succeeded): no status.
    expect(nodes.find((n) => n.name === 'gpu-nolabel')).toMatchObject({ status: null, products: [{ product: 'NVIDIA CUDA Toolkit', licence: 'free' }] });
  });

  it('namespaces: running pods, CPU limits of running containers, GPUs by model and SKU', () => {
    const ns = Object.fromEntries(inventoryRows(latest).namespaces.map((n) => [n.namespace, n]));
    // mq: mq-1..3 (3 each) + mq-4 (0.5); mq-pending is not running.
    expect(ns.mq).toMatchObject({ pods: 5, runningPods: 4, cpuLimits: 9.5, status: 'warning' });
    expect(ns.db).toMatchObject({ pods: 5, runningPods: 4, cpuLimits: 8 });
    expect(ns['ai-inference']).toMatchObject({ gpuCount: 2, gpus: [{ count: 2, product: 'NVIDIA-H100-80GB-HBM3', sku: 'NVAIE-H100' }], nvaieAllocated: 2, status: 'ok' });
    // One 1g.5gb MIG slice of an A100 with 14 slices: ceil(1 × 2 / 14) = 1 GPU for NVAIE.
    expect(ns['ml-training']).toMatchObject({ gpuCount: 0, nvaieAllocated: 1 });
    // db2-limited's istio-proxy and db2-nolimit have no CPU limit.
    expect(ns.db2).toMatchObject({ cpuLimits: 2, unlimitedContainers: 2 });
  });

  it('GPU SKUs: GPUs on nodes vs GPUs allocated to NVAIE-gated pods', () => {
    expect(inventoryRows(latest).gpus.map((g) => [g.sku, g.onNodes, g.onGatedNodes, g.allocatedToGated])).toEqual([
      ['NVAIE-A100', 2, 2, 1],
      ['NVAIE-H100', 8, 8, 2],
      [null, 2, 0, 0],
    ]);
  });

  it('findings carry their evidence chain and can be filtered by pod, sorted and paged', () => {
    const { findings } = inventoryRows(latest);
    const page = pageOf(findings, findingSpec, { filters: { pod: 'db/oracle-0' } });
    expect(page.total).toBe(1);
    expect(page.items[0]).toMatchObject({ product: 'Oracle Database', node: 'plain-1', licence: 'licensable', status: 'unlicensed', method: 'image' });
    expect(page.items[0].evidence[0]).toMatchObject({ kind: 'imageRef' });
    const byNode = pageOf(findings, findingSpec, { filters: { node: 'plain-1' }, sort: 'pod', order: 'desc', pageSize: 2, page: 2 });
    // plain-1: mq-1..3, db2-nolimit, oracle-0, mongo-1 (nginx has no product) = 6 findings, 3 pages of 2.
    expect([byNode.total, byNode.pages, byNode.page]).toEqual([6, 3, 2]);
    // Descending: oracle-0, mq-3 | mq-2, mq-1 | mongo-1, db2-nolimit.
    expect(byNode.items.map((f) => f.pod)).toEqual(['mq-2', 'mq-1']);
    // Menus offer what the other filters leave: plain-1's namespaces, and every node.
    expect(byNode.facets.namespace).toEqual(['db', 'db2', 'mq']);
    expect(byNode.facets.node).toEqual(['gpu-h100', 'gpu-mig', 'gpu-nolabel', 'plain-1']);
  });

  it('every table searches, filters and writes the selected rows as CSV', () => {
    const { nodes, namespaces, pods } = inventoryRows(latest);
    expect(pageOf(nodes, nodeSpec, { q: 'h100' }).items.map((n) => n.name)).toEqual(['gpu-h100']);
    expect(pageOf(nodes, nodeSpec, { filters: { sku: 'NVAIE-A100' } }).items.map((n) => n.name)).toEqual(['gpu-mig']);
    expect(pageOf(namespaces, namespaceSpec, { filters: { status: 'warning' } }).items.map((n) => n.namespace)).toEqual(['mq']);
    expect(pageOf(pods, podSpec, { filters: { namespace: 'mq', phase: 'Pending' } }).items.map((p) => p.pod)).toEqual(['mq-pending']);
    const csv = csvOf(namespaces, namespaceSpec, { filters: { product: 'IBM MQ' } });
    expect(csv.split('\r\n')[0]).toBe('Namespace,Pods,Running pods,Containers,CPU limits (cores),Containers without CPU limit,GPUs,GPU models and SKUs,NVAIE GPUs allocated,Products,Nodes,Status');
    expect(csv.split('\r\n')[1]).toBe('mq,5,4,5,9.5,0,0,,0,IBM MQ,gpu-mig; plain-1,warning');
  });

  it('overview: entitlement counts with over, warning and unlicensed first, licensable vs free products, the quarter peak', async () => {
    const history = createMemoryHistory();
    for (const r of reports) history.record(r);
    const period = quarterOf(new Date('2026-11-23T12:00:00Z'));
    const quarter = await history.usage({ from: period.from, to: period.to });
    const o = overviewOf(latest, { quarter, period, clusters: await history.clusters(), sweep: { lastStarted: '2026-11-23T02:00:00Z', intervalMs: 6 * 3600_000, running: false }, version: '0.1.0' });
    expect(o.entitlements.counts).toEqual({ over: 0, warning: 1, unlicensed: 5, ok: 1, 'not-applicable': 0 });
    expect(o.entitlements.rows.map((e) => e.status)).toEqual(['warning', 'unlicensed', 'unlicensed', 'unlicensed', 'unlicensed', 'unlicensed', 'ok']);
    expect(o.entitlements.rows[0]).toMatchObject({ product: 'IBM MQ Advanced', used: 9, owned: 10, percentage: 90 });
    expect(o.nextSweep).toBe('2026-11-23T08:00:00Z');
    expect(o.coverage).toMatchObject({ nodes: 5, withAgent: 0, withoutAgent: 5 });
    // Nine products: the CUDA toolkit is free, Db2 (annotation only) cannot be told.
    expect([o.products.licensable, o.products.free, o.products.unknown]).toEqual([7, 1, 1]);
    // mq-pending does not run: 4 MQ containers.
    expect(inventoryRows(latest).products.find((p) => p.id === 'ibm-mq')).toMatchObject({ containers: 4, namespaces: 1, nodes: 2 });
    const mq = o.quarterPeaks.find((p) => p.productName === 'IBM MQ Advanced')!;
    expect([mq.quantity, mq.pvu, mq.day]).toEqual([9, 630, '2026-11-02']);
    const ace = o.quarterPeaks.find((p) => p.productName === 'IBM App Connect Enterprise')!;
    expect([ace.quantity, ace.day]).toEqual([140, '2026-10-20']);
  });

  it('overview coverage: from the store when it has heartbeats (nodes named with their cluster when there are several), else from the report', async () => {
    const history = createMemoryHistory();
    const period = quarterOf(new Date('2026-11-23T12:00:00Z'));
    const quarter = await history.usage({ from: period.from, to: period.to });
    const ctx = { quarter, period, clusters: [], sweep: { lastStarted: null, intervalMs: null, running: false }, version: '0.1.0' };
    const storeCoverage = [
      { clusterId: 'east', nodes: [{ node: 'a', lastHeartbeat: '2026-11-23T11:50:00Z', covered: true }, { node: 'b', lastHeartbeat: null, covered: false }] },
      { clusterId: 'west', nodes: [{ node: 'a', lastHeartbeat: '2026-11-23T08:00:00Z', covered: false }] },
    ];
    // 3 nodes over two clusters, one covered: east/b never had an agent, west/a's heartbeat is stale.
    expect(overviewOf(latest, { ...ctx, coverage: storeCoverage }).coverage).toEqual({ source: 'store', nodes: 3, withAgent: 1, withoutAgent: 2, nodesWithoutAgent: ['east/b', 'west/a'] });
    expect(overviewOf(latest, { ...ctx, coverage: storeCoverage.slice(0, 1) }).coverage).toEqual({ source: 'store', nodes: 2, withAgent: 1, withoutAgent: 1, nodesWithoutAgent: ['b'] });
    // A store without any recorded node (no sweep yet): what the report says.
    expect(overviewOf(latest, { ...ctx, coverage: [{ clusterId: 'east', nodes: [] }] }).coverage).toMatchObject({ source: 'report', nodes: 5, withAgent: 0 });
  });

  it('history: daily series per figure and what the entitlements own, over any period up to two years', async () => {
    const history = createMemoryHistory();
    for (const r of reports) history.record(r);
    const q4 = periodOf({ quarter: '2026Q4' }, new Date());
    const view = historyOf(await history.usage(q4), q4, entitlementRows(latest));
    expect(view.days.length).toBe(92);
    const mq = view.charts.find((c) => c.productName === 'IBM MQ Advanced')!;
    expect(mq.owned).toBe(10);
    expect(mq.series[0].daily).toEqual([
      { day: '2026-10-05', quantity: 6 }, { day: '2026-10-20', quantity: 7 }, { day: '2026-11-02', quantity: 9 }, { day: '2026-11-23', quantity: 9 },
    ]);
    const q3 = periodOf({ from: '2026-07-01', to: '2026-10-01' }, new Date());
    const before = historyOf(await history.usage(q3), q3, []);
    expect(before.charts.find((c) => c.productName === 'IBM MQ Advanced')!.series[0].peak).toEqual({ quantity: 9, day: '2026-09-20' });
    expect(() => periodOf({ from: '2024-01-01', to: '2026-12-01' }, new Date())).toThrow(/at most two years/);
    expect(() => periodOf({ from: '2026-02-30', to: '2026-03-01' }, new Date())).toThrow(/is not a day/);
    expect(periodOf({}, new Date('2026-12-01T21:00:00Z'))).toEqual({ from: '2026-10-01', to: '2027-01-01', label: '2026Q4' });
  });
});
