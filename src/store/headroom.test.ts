import { afterEach, describe, expect, it } from 'vitest';
import { buildClusterModel } from '../cluster/model.js';
import { testClusterObjects } from '../../test/support/cluster-objects.js';
import { freshStore, reportOf, storeKinds, type TestStore } from '../../test/support/stores.js';
import type { Entitlement } from '../licensing/entitlements.js';
import type { Store } from './open.js';
import { recordClusterReport } from './record.js';
import { headroomFor, podFigures, type PodFigure } from './headroom.js';

/**
 * The test cluster (test/support/cluster-objects.ts) holds, by hand: NVIDIA AI Enterprise on
 * 8 H100 + 2 A100 GPUs (nodes rule) = 10, IBM MQ 9 VPC, MongoDB Enterprise 2 instances.
 */
async function sweep(store: Store, clusterId: string, name: string, at: string) {
  const { nodes, pods } = testClusterObjects();
  const model = buildClusterModel(nodes, pods, 'snapshot', name);
  const report = await reportOf(model, clusterId, new Date(at));
  await recordClusterReport(store, { clusterId, clusterName: name, observedAt: at, report, model, signatureSetVersion: 'sig-1', toolVersion: 'test' });
}

const entitlements: Entitlement[] = [
  { product: 'NVIDIA AI Enterprise', metric: 'per-gpu', quantity: 12 },
  { product: 'IBM MQ Advanced', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: 10 },
  { product: 'MongoDB Enterprise Server', metric: 'per-instance', quantity: 2 },
  { product: 'Oracle Database', metric: 'per-core', quantity: 100 },
];

const nim4: PodFigure = { productId: 'nvidia-ai-enterprise', productName: 'NVIDIA AI Enterprise', metric: 'gpu', scope: 'nodes', quantity: 4, sku: 'NVAIE-H100' };
const mq1: PodFigure = { productId: '208423bb063c43288328b1d788745b0c', productName: 'IBM MQ Advanced', metric: 'VIRTUAL_PROCESSOR_CORE', scope: 'cluster', quantity: 1 };
const mongo1: PodFigure = { productId: 'mongodb-enterprise', productName: 'MongoDB Enterprise Server', metric: 'instance', scope: 'cluster', quantity: 1 };

describe.each(storeKinds)('licence-aware admission from the store on %s', (kind) => {
  let t: TestStore;
  afterEach(async () => t.cleanup());

  it('gives figure, entitlement and headroom for GPUs, IBM VPC cores and instances, from the latest day', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    await sweep(store, 'prod', 'prod-cluster-1', '2026-11-01T02:00:00Z');
    await sweep(store, 'prod', 'prod-cluster-1', '2026-11-02T02:00:00Z');

    const h = await headroomFor(store, 'prod', [nim4, mq1, mongo1], entitlements, 'ai-inference');
    expect(h.map((x) => [x.product, x.figure, x.pod, x.withPod, x.entitlement, x.headroom, x.headroomAfter, x.fits, x.day])).toEqual([
      ['NVIDIA AI Enterprise', 10, 4, 14, 12, 2, -2, false, '2026-11-02'],
      ['IBM MQ Advanced', 9, 1, 10, 10, 1, 0, true, '2026-11-02'],
      ['MongoDB Enterprise Server', 2, 1, 3, 2, 0, -1, false, '2026-11-02'],
    ]);
    expect(h[0].message).toBe('NVIDIA AI Enterprise per-gpu: this pod adds 4 to 10 in use (peak of 2026-11-02) of 12 entitled, 2 left: 14 would exceed the entitlement by 2');
    expect(h[1].message).toBe('IBM MQ Advanced VIRTUAL_PROCESSOR_CORE: this pod adds 1 to 9 in use (peak of 2026-11-02) of 10 entitled, 1 left; 0 left after it');
    // Oracle is not in the pod: its entitlement is not touched.
    expect(h.some((x) => x.product === 'Oracle Database')).toBe(false);
    // The cluster may be named by its name too; a pod of no licensed product touches nothing.
    expect((await headroomFor(store, 'prod-cluster-1', [mq1], entitlements)).map((x) => x.headroom)).toEqual([1]);
    expect(await headroomFor(store, 'prod', [], entitlements)).toEqual([]);
  });

  it('an entitlement listing clusters pools their figures; one for other clusters does not cover the pod', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    await sweep(store, 'c1', 'prod-cluster-1', '2026-11-01T02:00:00Z');
    await sweep(store, 'c2', 'prod-cluster-2', '2026-11-01T02:00:00Z');
    const pooled: Entitlement[] = [
      { product: 'IBM MQ Advanced', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: 20, clusters: ['prod-cluster-1', 'prod-cluster-2'] },
      { product: 'NVIDIA AI Enterprise', metric: 'per-gpu', quantity: 100, clusters: ['dev-cluster'] },
    ];
    const h = await headroomFor(store, 'c1', [mq1, nim4], pooled);
    expect(h.map((x) => [x.product, x.figure, x.withPod, x.headroom, x.fits, x.clusters])).toEqual([['IBM MQ Advanced', 18, 19, 2, true, ['prod-cluster-1', 'prod-cluster-2']]]);
  });

  it('a cluster with no figures yet has the whole entitlement as headroom', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    const h = await headroomFor(store, 'new', [mq1], entitlements);
    expect(h.map((x) => [x.figure, x.withPod, x.headroom, x.fits, x.day])).toEqual([[0, 1, 10, true, null]]);
  });
});

describe('headroomFor reads by key, never by scanning (SQLite query plan)', () => {
  let t: TestStore;
  afterEach(async () => t.cleanup());

  it('both reads search an index of usage_days and daily_usage by cluster and day', async () => {
    t = await freshStore('sqlite');
    const store = await t.open();
    await sweep(store, 'prod', 'prod-cluster-1', '2026-11-01T02:00:00Z');
    const { sql } = await import('kysely');
    const plan = async (q: ReturnType<typeof sql>) => (await q.execute(store.db)).rows.map((r: any) => String(r.detail)).join(' | ');
    const days = await plan(sql`explain query plan select day from usage_days where cluster_id = ${'prod'} order by day desc limit 1`);
    const rows = await plan(sql`explain query plan select row_json from daily_usage where cluster_id = ${'prod'} and day = ${'2026-11-01'}`);
    expect(days).toMatch(/SEARCH usage_days USING (COVERING )?INDEX sqlite_autoindex_usage_days_1 \(cluster_id=\?\)/);
    expect(rows).toMatch(/SEARCH daily_usage USING INDEX \S+ \((cluster_id=\? AND day=\?|day=\? AND cluster_id=\?)\)/);
    expect(`${days} ${rows}`).not.toMatch(/\bSCAN\b/);
  });
});

describe.each(storeKinds)('podFigures: what a pod manifest adds, by the licence rules, on %s', (kind) => {
  let t: TestStore;
  afterEach(async () => t.cleanup());

  const nim = (gpus: number, nodeName?: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'nim-new', namespace: 'ai-inference' },
    spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'nim', image: 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3', resources: { limits: { cpu: '8', 'nvidia.com/gpu': String(gpus) } } }] },
  });

  it('GPUs asked for where the node is unknown, none on a node already licensed, IBM cores from the CPU limits', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    await sweep(store, 'prod', 'prod-cluster-1', '2026-11-01T02:00:00Z');
    const free = await podFigures(store, 'prod', nim(4));
    expect(free.filter((f) => f.productId === 'nvidia-ai-enterprise' && f.scope === 'nodes').map((f) => f.quantity)).toEqual([4]);
    const h = await headroomFor(store, 'prod', free, entitlements, 'ai-inference');
    expect(h.map((x) => [x.product, x.figure, x.withPod, x.fits])).toEqual([['NVIDIA AI Enterprise', 10, 14, false]]);
    // gpu-h100 runs NIM already: its 8 GPUs are counted; another NIM pod there adds none.
    const onH100 = await podFigures(store, 'prod', nim(2, 'gpu-h100'));
    expect(onH100.some((f) => f.scope === 'nodes')).toBe(false);
    expect(await headroomFor(store, 'prod', onH100, [entitlements[0]])).toEqual([]);

    const mqPod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'qm-new', namespace: 'mq', annotations: { productID: '208423bb063c43288328b1d788745b0c', productName: 'IBM MQ Advanced', productMetric: 'VIRTUAL_PROCESSOR_CORE', productChargedContainers: 'All' } }, spec: { containers: [{ name: 'qmgr', image: 'icr.io/ibm-messaging/mq:9.4.0.0-r1', resources: { limits: { cpu: '2' } } }] } };
    const mq = await podFigures(store, 'prod', mqPod);
    expect(mq.map((f) => [f.productName, f.metric, f.quantity])).toEqual([['IBM MQ Advanced', 'VIRTUAL_PROCESSOR_CORE', 2]]);
    expect((await headroomFor(store, 'prod', mq, entitlements)).map((x) => [x.figure, x.withPod, x.headroom, x.headroomAfter, x.fits])).toEqual([[9, 11, 1, -1, false]]);
  });

  it('with includeUntouched, every entitlement with its headroom (the report of headroom left)', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    await sweep(store, 'prod', 'prod-cluster-1', '2026-11-01T02:00:00Z');
    const h = await headroomFor(store, 'prod', [], entitlements, undefined, { includeUntouched: true });
    expect(h.map((x) => [x.product, x.figure, x.entitlement, x.headroom])).toEqual([
      ['NVIDIA AI Enterprise', 10, 12, 2],
      ['IBM MQ Advanced', 9, 10, 1],
      ['MongoDB Enterprise Server', 2, 2, 0],
      ['Oracle Database', 18, 100, 82],
    ]);
  });
});
