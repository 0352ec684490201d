import { afterEach, describe, expect, it } from 'vitest';
import { buildClusterModel } from '../cluster/model.js';
import { rawNode, rawPod, testClusterObjects, type NodeSpec, type PodSpec } from '../../test/support/cluster-objects.js';
import type { ClusterPod } from '../cluster/model.js';
import { clusterOf, freshStore, mqPod, reportOf, storeKinds, type TestStore } from '../../test/support/stores.js';
import type { Store } from './open.js';
import { recordClusterReport, hasScan, recordImageScan, beginSweep, inShard, recordObservations, completeSweep } from './record.js';
import { recordPodEvent } from './events.js';
import { inventoryAt } from './figures.js';
import { computeUsage } from '../licensing/usage.js';
import { entitlementHistory, ibmFirstSeen, installations, usageReport, type UsageReport } from './report.js';

const SIG = 'sig-test-1';
const nodes: NodeSpec[] = [
  { name: 'n1', cpu: '16' },
  { name: 'n2', cpu: '16' },
];

async function sweep(store: Store, clusterId: string, at: string, pods: PodSpec[], opts: { name?: string; nodes?: NodeSpec[] } = {}) {
  const model = clusterOf(opts.nodes ?? nodes, pods, opts.name ?? null);
  const report = await reportOf(model, clusterId, new Date(at));
  return recordClusterReport(store, { clusterId, clusterName: opts.name ?? clusterId, observedAt: at, report, model, signatureSetVersion: SIG, toolVersion: 'test' });
}

const mq = (r: UsageReport) => r.peaks.find((p) => p.productName === 'IBM MQ Advanced' && p.scope === 'cluster')!;

describe.each(storeKinds)('history on %s', (kind) => {
  let t: TestStore;
  afterEach(async () => t.cleanup());

  it("the reference's example: 8 cores all year, 12 in November → 12 for the year", async () => {
    t = await freshStore(kind);
    const store = await t.open();
    // Sweeps on the 1st and 15th of each month: 8 cores of MQ; on 10 November a second queue
    // manager of 4 cores is deployed, and removed after the sweep of 20 November.
    const eight = [mqPod('qm-a', 'n1', 8)];
    const twelve = [...eight, mqPod('qm-b', 'n2', 4)];
    const days: Array<[string, PodSpec[]]> = [];
    for (let m = 1; m <= 12; m++) {
      const mm = String(m).padStart(2, '0');
      days.push([`2026-${mm}-01T02:00:00Z`, eight]);
      if (m === 11) days.push(['2026-11-10T02:00:00Z', twelve]);
      days.push([`2026-${mm}-15T02:00:00Z`, m === 11 ? twelve : eight]);
      if (m === 11) days.push(['2026-11-20T02:00:00Z', twelve]);
    }
    for (const [at, pods] of days) await sweep(store, 'prod', at, pods);

    const year = await usageReport(store, { period: { from: '2026-01-01', to: '2027-01-01' } });
    expect(year.schemaVersion).toBe('1');
    expect(year.period).toEqual({ from: '2026-01-01', to: '2027-01-01' });
    const row = year.peaks.find((p) => p.productName === 'IBM MQ Advanced' && p.scope === 'cluster')!;
    expect([row.quantity, row.pvu, row.day, row.metric]).toEqual([12, 840, '2026-11-10', 'VIRTUAL_PROCESSOR_CORE']);
    expect(row.daily).toHaveLength(days.length);
    // qm-b was last seen on 20 November: the sweep of 1 December no longer saw it.
    expect(row.daily.filter((d) => d.quantity === 12).map((d) => d.day)).toEqual(['2026-11-10', '2026-11-15', '2026-11-20']);
    expect(row.daily.find((d) => d.day === '2026-12-01')!.quantity).toBe(8);
    // The quarter without November: 8.
    expect(mq(await usageReport(store, { quarter: '2026Q3' })).quantity).toBe(8);
    expect(mq(await usageReport(store, { quarter: '2026Q4' })).quantity).toBe(12);
    // `to` is exclusive: 1 November to 10 November does not reach the 12.
    expect(mq(await usageReport(store, { period: { from: '2026-11-01', to: '2026-11-10' } })).quantity).toBe(8);
    expect(year.clusters).toEqual(['prod']);
    expect(year.pooled).toEqual([]);
  });

  it('a 2-hour batch job of 12 cores between two nightly sweeps counts toward that day\'s peak', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    const qm = [mqPod('qm-a', 'n1', 8)];
    await sweep(store, 'prod', '2026-08-13T02:00:00Z', qm);
    await sweep(store, 'prod', '2026-08-14T02:00:00Z', qm);
    const job = buildClusterModel([], [rawPod(mqPod('batch-7f9c', 'n2', 12, { namespace: 'batch' }))], 'live').pods[0] as ClusterPod;
    expect(await recordPodEvent(store, { clusterId: 'prod', kind: 'start', at: '2026-08-14T14:00:00Z', pod: job, resourceVersion: '1001' })).toBe(true);
    expect(await recordPodEvent(store, { clusterId: 'prod', kind: 'stop', at: '2026-08-14T16:00:00Z', namespace: 'batch', name: 'batch-7f9c', uid: job.uid, resourceVersion: '1002' })).toBe(true);
    await sweep(store, 'prod', '2026-08-15T02:00:00Z', qm);

    const r = mq(await usageReport(store, { period: { from: '2026-08-13', to: '2026-08-16' } }));
    // 14 August: 8 (qm-a on n1) + 12 (the job on n2) = 20 cores; the sweeps of 14 and 15 August saw 8.
    expect(r.daily).toEqual([
      { day: '2026-08-13', quantity: 8 },
      { day: '2026-08-14', quantity: 20 },
      { day: '2026-08-15', quantity: 8 },
    ]);
    expect([r.quantity, r.pvu, r.day]).toEqual([20, 1400, '2026-08-14']);
    const days = await store.db.selectFrom('usage_days').select(['day', 'samples']).orderBy('day').execute();
    expect(days).toEqual([
      { day: '2026-08-13', samples: 1 },
      { day: '2026-08-14', samples: 3 },
      { day: '2026-08-15', samples: 1 },
    ]);
    // An event older than the latest sweep is kept but changes nothing.
    expect(await recordPodEvent(store, { clusterId: 'prod', kind: 'start', at: '2026-08-15T01:00:00Z', pod: job })).toBe(false);
    expect(mq(await usageReport(store, { period: { from: '2026-08-15', to: '2026-08-16' } })).quantity).toBe(8);
    const events = await store.db.selectFrom('pod_events').select(['kind', 'applied']).orderBy('id').execute();
    expect(events).toEqual([
      { kind: 'start', applied: 1 },
      { kind: 'stop', applied: 1 },
      { kind: 'start', applied: 0 },
    ]);
  });

  it('what is known to have run through midnight counts for the next day, what a sweep no longer sees does not', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    await sweep(store, 'prod', '2026-05-01T22:00:00Z', [mqPod('qm-a', 'n1', 8), mqPod('qm-b', 'n2', 4)]);
    // qm-b is gone by the sweep of 02:00: it was last seen at 22:00, so it is not counted at midnight.
    await sweep(store, 'prod', '2026-05-02T02:00:00Z', [mqPod('qm-a', 'n1', 8)]);
    // A job started at 23:00 and stopped at 01:00 (events) ran at midnight: 3 May counts it.
    const job = buildClusterModel([], [rawPod(mqPod('night-job', 'n2', 2, { namespace: 'batch' }))], 'live').pods[0] as ClusterPod;
    await recordPodEvent(store, { clusterId: 'prod', kind: 'start', at: '2026-05-02T23:00:00Z', pod: job });
    await recordPodEvent(store, { clusterId: 'prod', kind: 'stop', at: '2026-05-03T01:00:00Z', namespace: 'batch', name: 'night-job' });
    await sweep(store, 'prod', '2026-05-03T02:00:00Z', [mqPod('qm-a', 'n1', 8)]);
    await sweep(store, 'prod', '2026-05-04T02:00:00Z', [mqPod('qm-a', 'n1', 8)]);
    const r = mq(await usageReport(store, { period: { from: '2026-05-01', to: '2026-05-05' } }));
    // 1 May 8 + 4; 2 May 8 (the job at 23:00: 8 + 2); 3 May: qm-a 8 (seen on both sides of
    // midnight) + the job 2 at midnight; 4 May 8.
    expect(r.daily).toEqual([
      { day: '2026-05-01', quantity: 12 },
      { day: '2026-05-02', quantity: 10 },
      { day: '2026-05-03', quantity: 10 },
      { day: '2026-05-04', quantity: 8 },
    ]);
  });

  it("rebuilds exactly the sweep's figures from what it recorded (the issue-7 test cluster)", async () => {
    t = await freshStore(kind);
    const store = await t.open();
    const { nodes: rawNodes, pods: rawPods } = testClusterObjects();
    const model = buildClusterModel(rawNodes, rawPods, 'snapshot');
    const at = '2026-11-23T10:00:00Z';
    const report = await reportOf(model, 'k7', new Date(at));
    expect(report.usage.length).toBeGreaterThan(8);
    await recordClusterReport(store, { clusterId: 'k7', observedAt: at, report, model, signatureSetVersion: SIG, toolVersion: 'test' });
    const inv = await inventoryAt(store.db, 'k7', new Date(at).toISOString());
    expect(computeUsage(inv).usage).toEqual(report.usage);
    const usage = await usageReport(store, { period: { from: '2026-11-23', to: '2026-11-24' } });
    expect(usage.peaks).toHaveLength(report.usage.length);
    for (const u of report.usage) {
      const p = usage.peaks.find((x) => x.productId === u.productId && x.metric === u.metric && x.scope === u.scope && x.sku === ((u.sku as string | null | undefined) ?? null) && x.cloudpakId === u.cloudpakId);
      expect(p, `${u.productName} ${u.metric} ${u.scope}`).toBeDefined();
      expect([p!.quantity, p!.pvu, p!.day]).toEqual([u.quantity, u.pvu, '2026-11-23']);
    }
  });

  it('is incremental: a digest read with the same signature set is not recorded again', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(await hasScan(store, digest, SIG)).toBe(false);
    const h = await beginSweep(store, { clusterId: 'prod', observedAt: '2026-01-01T00:00:00Z', source: 'live', signatureSetVersion: SIG, toolVersion: 'test' });
    const evidence = [{ kind: 'file' as const, path: '/opt/mqm/bin/dspmqver', rule: 'ibm-mq/dspmqver' }];
    await recordImageScan(store, h, {
      ref: 'icr.io/ibm-messaging/mq:9.4',
      digest,
      products: [
        { id: 'ibm-mq', vendor: 'IBM', product: 'IBM MQ', edition: 'Advanced', version: '9.4.0.0', licenseMetric: 'VIRTUAL_PROCESSOR_CORE', licensable: true, confidence: 'high', evidence },
      ],
    });
    expect(await hasScan(store, digest, SIG)).toBe(true);
    expect(await hasScan(store, digest, 'sig-test-2')).toBe(false);
    const findings = await store.db.selectFrom('findings').selectAll().execute();
    expect(findings).toHaveLength(1);
    expect(JSON.parse(findings[0].evidence_json)).toEqual(evidence);
    expect(findings[0]).toMatchObject({ cluster_id: 'prod', product_id: 'ibm-mq', licensable: 1, version: '9.4.0.0' });
  });

  it('two clusters in one store report apart and pooled; an entitlement listing both pools them', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    await sweep(store, 'c-1', '2026-07-01T02:00:00Z', [mqPod('qm-a', 'n1', 8)], { name: 'prod-cluster-1' });
    await sweep(store, 'c-2', '2026-07-01T03:00:00Z', [mqPod('qm-x', 'n1', 3)], { name: 'prod-cluster-2' });
    await sweep(store, 'c-1', '2026-07-02T02:00:00Z', [mqPod('qm-a', 'n1', 4)], { name: 'prod-cluster-1' });
    await sweep(store, 'c-2', '2026-07-02T03:00:00Z', [mqPod('qm-x', 'n1', 6)], { name: 'prod-cluster-2' });

    await expect(usageReport(store, { quarter: '2026Q3' })).rejects.toMatchObject({ message: expect.stringMatching(/holds 2 clusters \(c-1, c-2\)/), hint: expect.stringMatching(/--cluster ID, or --all-clusters/), exitCode: 2 });
    expect(mq(await usageReport(store, { quarter: '2026Q3', clusters: ['c-1'] })).quantity).toBe(8);
    expect(mq(await usageReport(store, { quarter: '2026Q3', clusters: ['prod-cluster-2'] })).quantity).toBe(6);
    const all = await usageReport(store, { quarter: '2026Q3', clusters: 'all' });
    expect(all.clusters).toEqual(['c-1', 'c-2']);
    expect(all.peaks.filter((p) => p.productName === 'IBM MQ Advanced').map((p) => [p.clusterId, p.quantity, p.day])).toEqual([
      ['c-1', 8, '2026-07-01'],
      ['c-2', 6, '2026-07-02'],
    ]);
    // Pooled per day: 1 July 8 + 3 = 11, 2 July 4 + 6 = 10 → 11 on 1 July (not 8 + 6).
    const pooled = all.pooled.find((p) => p.productName === 'IBM MQ Advanced')!;
    expect([pooled.quantity, pooled.pvu, pooled.day, pooled.clusters]).toEqual([11, 770, '2026-07-01', ['c-1', 'c-2']]);
    expect(pooled.daily).toEqual([
      { day: '2026-07-01', quantity: 11 },
      { day: '2026-07-02', quantity: 10 },
    ]);

    const ents = await entitlementHistory(
      store,
      [
        { product: 'IBM MQ Advanced', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: 10, clusters: ['prod-cluster-1', 'prod-cluster-2'] },
        { product: 'IBM MQ Advanced', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: 10, clusters: ['prod-cluster-2'] },
      ],
      { quarter: '2026Q3' },
    );
    expect(ents.map((e) => [e.clusters, e.used, e.day, e.status])).toEqual([
      [['prod-cluster-1', 'prod-cluster-2'], 11, '2026-07-01', 'over'],
      [['prod-cluster-2'], 6, '2026-07-02', 'ok'],
    ]);
  });

  it('keeps installations first and last seen, and the first day of each IBM program', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    await sweep(store, 'prod', '2026-01-05T02:00:00Z', [mqPod('qm-a', 'n1', 2)]);
    await sweep(store, 'prod', '2026-02-05T02:00:00Z', [mqPod('qm-a', 'n1', 2)]);
    await sweep(store, 'prod', '2026-04-10T02:00:00Z', []);
    const inst = await installations(store);
    expect(inst.map((i) => [i.productId, i.namespace, i.workload, i.container, i.firstSeen, i.lastSeen, i.current])).toEqual([
      ['ibm-208423bb063c43288328b1d788745b0c', 'mq', 'ReplicaSet/qm-a-rs', 'qmgr', '2026-01-05T02:00:00.000Z', '2026-02-05T02:00:00.000Z', false],
    ]);
    const ibm = await ibmFirstSeen(store, { now: '2026-04-10T12:00:00Z' });
    expect(ibm.map((p) => [p.productName, p.firstDay, p.lastDay, p.daysSinceFirst])).toEqual([['IBM MQ Advanced', '2026-01-05', '2026-02-05', 95]]);
  });

  it('counts a sharded run once every shard has recorded its part, each shard covering only its images', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    // Six queue managers of 2 cores, each its own image, over two shards.
    const pods = Array.from({ length: 6 }, (_, i) => mqPod(`qm-${i}`, i % 2 ? 'n1' : 'n2', 2, { containers: [{ name: 'qmgr', image: `icr.io/ibm-messaging/mq-${i}:9.4`, limits: { cpu: '2' } }] }));
    const model = clusterOf(nodes, pods);
    const report = await reportOf(model, 'prod', new Date('2026-09-01T02:00:00Z'));
    const keys = model.pods.map((p) => p.containers[0].imageDigest!);
    const shard0 = keys.filter((k) => inShard(k, { index: 0, count: 2 })).length;
    expect(shard0).toBeGreaterThan(0);
    expect(shard0).toBeLessThan(6);
    const runId = 'run-2026-09-01';
    const start = (index: number, at: string) => beginSweep(store, { clusterId: 'prod', observedAt: at, source: 'live', signatureSetVersion: SIG, toolVersion: 'test', shard: { index, count: 2 }, runId });
    const h1 = await start(1, '2026-09-01T02:00:05Z');
    await recordObservations(store, h1, { model, report });
    expect((await completeSweep(store, h1)).figured).toBe(false);
    expect(await store.db.selectFrom('daily_usage').selectAll().execute()).toEqual([]);
    expect((await store.db.selectFrom('observations').select('id').execute()).length).toBe(6 - shard0);
    const h0 = await start(0, '2026-09-01T02:00:00Z');
    await recordObservations(store, h0, { model, report });
    expect((await completeSweep(store, h0)).figured).toBe(true);
    expect((await store.db.selectFrom('observations').select('id').execute()).length).toBe(6);
    expect(mq(await usageReport(store, { quarter: '2026Q3' })).quantity).toBe(12);
    expect((await store.db.selectFrom('sweep_runs').select('status').execute()).map((r) => r.status)).toEqual(['complete', 'complete']);
  });

  it('holds the entitlements a sweep was given against its figures, per sweep', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    const entitlements = [{ product: 'IBM MQ Advanced', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: 10, 'alert-threshold': 80 }];
    for (const [at, cores] of [['2026-10-01T02:00:00Z', 6], ['2026-10-02T02:00:00Z', 9], ['2026-10-03T02:00:00Z', 12]] as const) {
      const model = clusterOf(nodes, [mqPod('qm-a', 'n1', cores)]);
      const report = await reportOf(model, 'prod', new Date(at));
      await recordClusterReport(store, { clusterId: 'prod', observedAt: at, report, model, signatureSetVersion: SIG, toolVersion: 'test', entitlements });
    }
    const rows = await store.db.selectFrom('entitlement_status').select(['observed_at', 'used', 'owned', 'status']).orderBy('observed_at').execute();
    expect(rows.map((r) => [r.observed_at.slice(0, 10), r.used, r.owned, r.status])).toEqual([
      ['2026-10-01', 6, 10, 'ok'],
      ['2026-10-02', 9, 10, 'warning'],
      ['2026-10-03', 12, 10, 'over'],
    ]);
  });

  it('refuses a sweep older than the latest recorded one of the cluster', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    await sweep(store, 'prod', '2026-03-02T02:00:00Z', []);
    await expect(sweep(store, 'prod', '2026-03-01T02:00:00Z', [])).rejects.toMatchObject({ message: expect.stringMatching(/observed at 2026-03-02T02:00:00.000Z, after 2026-03-01T02:00:00.000Z/), hint: expect.stringMatching(/oldest first/), exitCode: 2 });
  });

  it('prunes past the retention on write and keeps the quarterly reports', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    await sweep(store, 'prod', '2024-02-10T02:00:00Z', [mqPod('qm-a', 'n1', 5)]);
    await sweep(store, 'prod', '2024-05-10T02:00:00Z', [mqPod('qm-b', 'n1', 3)]);
    await sweep(store, 'prod', '2026-06-30T02:00:00Z', [mqPod('qm-b', 'n1', 3)]);
    // Two years back from 30 June 2026 is 30 June 2024: its quarter starts on 1 April 2024, so
    // 2024Q1 goes (its report kept) and 2024Q2 stays whole.
    expect((await store.db.selectFrom('usage_days').select('day').orderBy('day').execute()).map((d) => d.day)).toEqual(['2024-05-10', '2026-06-30']);
    const kept = await store.db.selectFrom('quarterly_reports').select(['cluster_id', 'quarter']).execute();
    expect(kept).toEqual([{ cluster_id: 'prod', quarter: '2024Q1' }]);
    expect(mq(await usageReport(store, { quarter: '2024Q1' }))).toMatchObject({ quantity: 5, day: '2024-02-10' });
    // qm-a's interval closed in May 2024, after the cut: kept. A second sweep moves the cut.
    await sweep(store, 'prod', '2026-07-01T02:00:00Z', [mqPod('qm-b', 'n1', 3)]);
    expect((await store.db.selectFrom('usage_days').select('day').orderBy('day').execute()).map((d) => d.day)).toEqual(['2026-06-30', '2026-07-01']);
    expect((await store.db.selectFrom('quarterly_reports').select('quarter').orderBy('quarter').execute()).map((q) => q.quarter)).toEqual(['2024Q1', '2024Q2']);
    // qm-a was last seen in February: 10 May counts qm-b's 3 only.
    expect(mq(await usageReport(store, { quarter: '2024Q2' }))).toMatchObject({ quantity: 3, day: '2024-05-10' });
    const obs = await store.db.selectFrom('observations').select(['pod']).execute();
    expect(obs.map((o) => o.pod)).toEqual(['qm-b']);
  });
});
