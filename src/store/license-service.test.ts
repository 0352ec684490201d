import { afterEach, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import { clusterOf, freshStore, IBM_MQ, mqPod, reportOf, storeKinds, type TestStore } from '../../test/support/stores.js';
import type { PodSpec } from '../../test/support/cluster-objects.js';
import type { Store } from './open.js';
import { recordClusterReport } from './record.js';
import { ibmNinetyDayRule, licenseServiceCluster, licenseServiceComparison, recordLicenseService, type LicenseServiceRecord } from './license-service.js';

const nodes = [
  { name: 'n1', cpu: '16' },
  { name: 'n2', cpu: '16' },
];

async function sweep(store: Store, at: string, pods: PodSpec[]) {
  const model = clusterOf(nodes, pods, 'prod');
  const report = await reportOf(model, 'prod', new Date(at));
  await recordClusterReport(store, { clusterId: 'prod', clusterName: 'prod', observedAt: at, report, model, signatureSetVersion: 'sig-1', toolVersion: 'test' });
}

const DB2 = { productId: '0a6a2cf2b5b84f0dbbd1c5fef2b7e7b1', productName: 'IBM Db2 Standard Edition' };
const LS_CLUSTER = 'd8259158-fdfe-4ba3-ae28-be62a51df7f9';

/** License Service's rows for three days: MQ 8, 4, none; Db2 (which Kensus never saw) 2 on the second day. */
function lsRecord(): LicenseServiceRecord {
  const mq = (day: string, q: number) => ({ day, productId: IBM_MQ.productID, productName: IBM_MQ.productName, metricName: 'VIRTUAL_PROCESSOR_CORE', metricQuantity: q, metricPeakDate: day });
  return {
    lsClusterId: LS_CLUSTER,
    collectedAt: '2026-08-04T01:00:00Z',
    serviceVersion: '4.2.14',
    period: { start: '2026-08-01', end: '2026-08-03' },
    products: [mq('2026-08-01', 8), mq('2026-08-02', 4), { day: '2026-08-02', productId: DB2.productId, productName: DB2.productName, metricName: 'VIRTUAL_PROCESSOR_CORE', metricQuantity: 2, metricPeakDate: '2026-08-02' }],
    bundledProducts: [],
  };
}

describe.each(storeKinds)('IBM License Service data in the store on %s', (kind) => {
  let t: TestStore;
  afterEach(async () => t.cleanup());

  it('is recorded per day beside Kensus figures, and the report shows both and their difference', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    // Kensus: MQ 8 cores on 1 August; on 2 and 3 August a second queue manager of 4 cores.
    await sweep(store, '2026-08-01T02:00:00Z', [mqPod('qm-a', 'n1', 8)]);
    await sweep(store, '2026-08-02T02:00:00Z', [mqPod('qm-a', 'n1', 8), mqPod('qm-b', 'n2', 4)]);
    await sweep(store, '2026-08-03T02:00:00Z', [mqPod('qm-a', 'n1', 8), mqPod('qm-b', 'n2', 4)]);

    // License Service data names its own cluster id; the store's only cluster is where it goes.
    const cluster = await licenseServiceCluster(store, undefined, LS_CLUSTER);
    expect(cluster).toBe('prod');
    expect(await recordLicenseService(store, cluster, lsRecord())).toEqual({ days: 3, rows: 3 });
    // Recording the same run again replaces its days: nothing doubles.
    await recordLicenseService(store, cluster, lsRecord());

    const c = await licenseServiceComparison(store, { period: { from: '2026-08-01', to: '2026-08-05' } });
    expect(c.clusters).toEqual([{ clusterId: 'prod', licenseServiceDays: 3, kensusDays: 3, comparedDays: 3, lastCollectedAt: '2026-08-04T01:00:00.000Z', serviceVersion: '4.2.14' }]);
    const rows = c.comparison.map((r) => [r.day, r.productName, r.kensus, r.licenseService, r.difference, r.status]);
    expect(rows).toEqual([
      ['2026-08-01', 'IBM MQ Advanced', 8, 8, 0, 'agree'],
      ['2026-08-02', DB2.productName, null, 2, -2, 'license-service-only'],
      ['2026-08-02', 'IBM MQ Advanced', 12, 4, 8, 'differ'],
      // License Service answered for 3 August and counted no MQ: Kensus sees 12 cores it does not count.
      ['2026-08-03', 'IBM MQ Advanced', 12, null, 12, 'kensus-only'],
    ]);
    const mqPeak = c.peaks.find((p) => p.productId === IBM_MQ.productID)!;
    expect([mqPeak.quantity, mqPeak.day, mqPeak.daily]).toEqual([8, '2026-08-01', [{ day: '2026-08-01', quantity: 8 }, { day: '2026-08-02', quantity: 4 }]]);

    // A period without License Service data compares nothing.
    expect(await licenseServiceComparison(store, { period: { from: '2026-07-01', to: '2026-08-01' } })).toEqual({ clusters: [], peaks: [], comparison: [] });
  });

  it('asks which cluster when the store holds several', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    await store.db.insertInto('clusters').values([
      { cluster_id: 'a', name: 'prod-1', first_seen: '2026-01-01T00:00:00.000Z', last_seen: '2026-01-01T00:00:00.000Z' },
      { cluster_id: 'b', name: 'prod-2', first_seen: '2026-01-01T00:00:00.000Z', last_seen: '2026-01-01T00:00:00.000Z' },
    ]).execute();
    await expect(licenseServiceCluster(store, undefined, LS_CLUSTER)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/holds 2 clusters/) });
    expect(await licenseServiceCluster(store, 'prod-2', LS_CLUSTER)).toBe('b');
  });

  it("IBM's 90-day rule: a program past 90 days without License Service is overdue, with License Service it is ok", async () => {
    t = await freshStore(kind);
    const store = await t.open();
    for (const at of ['2026-01-10T02:00:00Z', '2026-02-10T02:00:00Z', '2026-03-10T02:00:00Z', '2026-04-10T02:00:00Z', '2026-04-20T02:00:00Z']) await sweep(store, at, [mqPod('qm-a', 'n1', 8)]);

    const early = await ibmNinetyDayRule(store, { now: '2026-02-11T00:00:00Z' });
    expect(early.map((p) => [p.productName, p.status, p.dueDay])).toEqual([['IBM MQ Advanced', 'due', '2026-04-10']]);

    const late = (await ibmNinetyDayRule(store, { now: '2026-04-21T00:00:00Z' }))[0];
    expect([late.status, late.daysSinceFirst, late.licenseServiceLastDay, late.licenseServiceRunning]).toEqual(['overdue', 101, null, false]);
    expect(late.warning).toMatch(/IBM MQ Advanced has run in cluster prod for 101 days \(since 2026-01-10\) without IBM License Service.*due 2026-04-10/);

    // License Service data collected for yesterday: it is there.
    await recordLicenseService(store, 'prod', { ...lsRecord(), collectedAt: '2026-04-21T01:00:00Z', period: { start: '2026-04-20', end: '2026-04-20' }, products: [] });
    const ok = (await ibmNinetyDayRule(store, { now: '2026-04-21T02:00:00Z' }))[0];
    expect([ok.status, ok.licenseServiceLastDay, ok.warning]).toEqual(['ok', '2026-04-20', null]);
    // Data a month old is not a License Service that is maintained.
    expect((await ibmNinetyDayRule(store, { now: '2026-05-21T02:00:00Z' }))[0].status).toBe('due');
  });

  it("the 90-day rule counts License Service's own container seen running", async () => {
    t = await freshStore(kind);
    const store = await t.open();
    const ls: PodSpec = {
      namespace: 'ibm-licensing',
      name: 'ibm-licensing-service-instance-5c8b7d9f4-x2x7q',
      node: 'n2',
      containers: [{ name: 'ibm-licensing-service-instance', image: 'icr.io/cpopen/cpfs/ibm-licensing:4.2.14', limits: { cpu: '500m' } }],
    };
    for (const at of ['2026-01-10T02:00:00Z', '2026-04-20T02:00:00Z']) await sweep(store, at, [mqPod('qm-a', 'n1', 8), ls]);
    const r = (await ibmNinetyDayRule(store, { now: '2026-04-21T00:00:00Z' }))[0];
    expect([r.status, r.licenseServiceRunning]).toEqual(['ok', true]);
  });
});

describe.each(storeKinds)('migration 0004 on %s', (kind) => {
  let t: TestStore;
  afterEach(async () => t.cleanup());

  it('upgrades a store at 0003 holding data, keeping it, and takes License Service rows', async () => {
    t = await freshStore(kind);
    const old = await t.open({ migrateTo: '0003_node_agents' });
    expect((await old.db.introspection.getTables()).some((x) => x.name === 'license_service_usage')).toBe(false);
    const db = old.db as unknown as Kysely<any>;
    const at = '2026-08-01T02:00:00.000Z';
    await db.insertInto('clusters').values({ cluster_id: 'prod', name: 'prod', first_seen: at, last_seen: at }).execute();
    await db.insertInto('agent_heartbeats').values({ cluster_id: 'prod', node: 'n1', at, tool_version: 't', containers: 3, containers_read: 3, error_count: 0 }).execute();
    await old.close();

    const store = await t.open();
    expect((await store.db.selectFrom('agent_heartbeats').selectAll().execute()).map((r) => r.containers)).toEqual([3]);
    expect(await licenseServiceCluster(store, undefined, LS_CLUSTER)).toBe('prod');
    await recordLicenseService(store, 'prod', lsRecord());
    expect(await store.db.selectFrom('license_service_days').select('day').orderBy('day').execute()).toEqual([{ day: '2026-08-01' }, { day: '2026-08-02' }, { day: '2026-08-03' }]);
    expect((await store.db.selectFrom('license_service_usage').selectAll().execute()).length).toBe(3);
  });
});
