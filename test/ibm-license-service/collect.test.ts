import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { CACHE_FILE } from '../../src/ibm-license-service/cache.js';
import { licenseServiceClient, LicenseServiceError } from '../../src/ibm-license-service/client.js';
import { collectOnce, CollectionError, type CollectOptions } from '../../src/ibm-license-service/collect.js';
import { daysFrom } from '../../src/ibm-license-service/days.js';
import { startTestLicenseService, type TestLicenseService } from './server.js';

const clusterId = 'd8259158-fdfe-4ba3-ae28-be62a51df7f9';
let ls: TestLicenseService;

beforeAll(async () => {
  ls = await startTestLicenseService();
});
afterAll(async () => {
  await ls.stop();
});
beforeEach(() => {
  ls.requests.length = 0;
});

function run(dir: string, now: string, mode: CollectOptions['mode'], extra: Partial<CollectOptions> = {}) {
  return collectOnce({
    api: licenseServiceClient({ url: ls.url, token: ls.token, tlsVerify: false }, { retryMinMs: 5, timeoutMs: 5000 }),
    cacheDir: dir,
    outputDir: join(dir, 'out'),
    clusterId,
    now: Date.parse(now),
    toolVersion: '0.1.0',
    mode,
    ...extra,
  });
}

function parseNdi(xml: string) {
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['Product', 'BundledProduct', 'Property'].includes(name) }).parse(xml);
  const sp = doc.Inventory.ServiceProvider;
  const props = Object.fromEntries(sp.Property.map((p: any) => [p.Name, p.Value]));
  return { root: doc.Inventory, sp, props, products: sp.Product ?? [], bundled: sp.BundledProduct ?? [] };
}

function cacheOnDisk(dir: string) {
  return JSON.parse(readFileSync(join(dir, CACHE_FILE), 'utf8'));
}

describe('License Service collection runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kensus-ils-collect-'));

  it('first run (deployed 2022-06-30): every day 2021-12-31 … 2022-06-29, one file with all of them, the final 7 days cached', async () => {
    const r = await run(dir, '2022-06-30T10:00:00Z', 'startup');
    const all = daysFrom('2021-12-31', '2022-06-29');
    expect(r.period).toEqual({ start: '2021-12-31', end: '2022-06-29' });
    expect(ls.productDays()).toEqual(all);
    expect(ls.bundledDays()).toEqual(all);
    // One day per request, the token as the URL parameter IBM documents.
    expect(ls.requests.filter((q) => q.path === '/products').every((q) => q.query.dateFrom === q.query.dateTo && q.auth === 'query')).toBe(true);
    expect(r.fileName).toBe('k8s-ibm-licensing-d8259158-20220630T100000.ndi');
    expect(readdirSync(join(dir, 'out'))).toEqual([r.fileName]);
    const ndi = parseNdi(readFileSync(r.file!, 'utf8'));
    expect(ndi.props.StartDate).toBe('2021-12-31');
    expect(ndi.props.EndDate).toBe('2022-06-30');
    expect(ndi.props.Version).toBe('4.2.14');
    expect(ndi.props.BuildDate).toBe('Mon Jul 12 16:45:52 UTC 2021');
    expect(ndi.products).toHaveLength(181 * 2);
    expect(ndi.bundled).toHaveLength(181);
    expect(new Set(ndi.products.map((p: any) => p.date))).toEqual(new Set(all.map((d) => `${d}T00:00:00Z`)));
    expect(r.products).toHaveLength(362);
    expect(r.bundledProducts).toHaveLength(181);
    expect(r.cachedDays).toEqual(daysFrom('2022-06-23', '2022-06-29'));
    const disk = cacheOnDisk(dir);
    expect(Object.keys(disk.days)).toEqual(daysFrom('2022-06-23', '2022-06-29'));
    expect(disk.pendingStart).toBeNull();
  });

  it('01:00 the next day: only the previous day is requested, the cache slides, the file holds the 7 cached days', async () => {
    const r = await run(dir, '2022-07-01T01:00:00Z', 'scheduled');
    expect(ls.productDays()).toEqual(['2022-06-30']);
    expect(ls.bundledDays()).toEqual(['2022-06-30']);
    expect(r.fetchedDays).toEqual(['2022-06-30']);
    expect(r.period).toEqual({ start: '2022-06-24', end: '2022-06-30' });
    expect(r.cachedDays).toEqual(daysFrom('2022-06-24', '2022-06-30'));
    expect(Object.keys(cacheOnDisk(dir).days)).toEqual(daysFrom('2022-06-24', '2022-06-30'));
    const ndi = parseNdi(r.content!);
    expect([ndi.props.StartDate, ndi.props.EndDate]).toEqual(['2022-06-24', '2022-07-01']);
    expect([...new Set(ndi.products.map((p: any) => p.date))]).toEqual(daysFrom('2022-06-24', '2022-06-30').map((d) => `${d}T00:00:00Z`));
    // Cached days come back with the figures the service gave for them.
    const june24 = ndi.products.find((p: any) => p.date === '2022-06-24T00:00:00Z' && p.name === 'IBM Cloud Pak for Data');
    expect(Number(june24.metricQuantity)).toBe(ls.dataFor('2022-06-24').products[0].metricQuantity);
    expect(r.fileName).toBe('k8s-ibm-licensing-d8259158-20220701T010000.ndi');
  });

  it('a restart whose cache covers the period asks for nothing and writes nothing (the schedule resumes)', async () => {
    const r = await run(dir, '2022-07-01T08:30:00Z', 'startup');
    expect(r.file).toBeNull();
    expect(r.period).toBeNull();
    expect(ls.requests.filter((q) => q.path !== '/version' && q.path !== '/health')).toEqual([]);
    expect(r.cachedDays).toEqual(daysFrom('2022-06-24', '2022-06-30'));
  });

  it('a restart after days off back-fills only the missing days', async () => {
    const r = await run(dir, '2022-07-05T08:00:00Z', 'startup');
    expect(ls.productDays()).toEqual(['2022-07-01', '2022-07-02', '2022-07-03', '2022-07-04']);
    expect(r.period).toEqual({ start: '2022-06-28', end: '2022-07-04' });
    expect(r.cachedDays).toEqual(daysFrom('2022-06-28', '2022-07-04'));
    ls.requests.length = 0;
    // A gap longer than the cache: the file covers every day not yet delivered.
    const r2 = await run(dir, '2022-07-20T08:00:00Z', 'startup');
    expect(ls.productDays()).toEqual(daysFrom('2022-07-05', '2022-07-19'));
    expect(r2.period).toEqual({ start: '2022-07-05', end: '2022-07-19' });
    expect(parseNdi(r2.content!).props.StartDate).toBe('2022-07-05');
    expect(r2.cachedDays).toEqual(daysFrom('2022-07-13', '2022-07-19'));
  });

  it('a gap longer than the window asks for the window only', async () => {
    const r = await run(dir, '2023-07-20T08:00:00Z', 'startup');
    expect(r.period).toEqual({ start: '2023-01-20', end: '2023-07-19' });
    expect(ls.productDays()).toHaveLength(181);
  });

  it('a run cut short keeps what it fetched; the next run finishes the same period without asking again', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kensus-ils-cut-'));
    ls.failDays(['2022-03-01']);
    const err = await run(d, '2022-06-30T10:00:00Z', 'startup').catch((e) => e);
    ls.failDays([]);
    expect(err).toBeInstanceOf(CollectionError);
    expect(err.message).toMatch(/HTTP 500 for \/(bundled_)?products for 2022-03-01 \(60 of 181 days fetched; they are cached/);
    expect(cacheOnDisk(d).pendingStart).toBe('2021-12-31');
    expect(readdirSync(d)).not.toContain('out');
    ls.requests.length = 0;
    const r = await run(d, '2022-06-30T10:05:00Z', 'startup');
    expect(ls.productDays()).toEqual(daysFrom('2022-03-01', '2022-06-29'));
    expect(r.period).toEqual({ start: '2021-12-31', end: '2022-06-29' });
    expect(parseNdi(r.content!).products).toHaveLength(362);
  });

  it('a failing /health does not stop the run; the file says so', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kensus-ils-health-'));
    ls.failNext(3, 500, ['/health']);
    const r = await run(d, '2022-06-30T10:00:00Z', 'startup');
    expect(r.healthError).toMatch(/health: .*HTTP 500 for \/health/);
    expect(r.content).toMatch(/<ServiceProvider Type="IBM License Service" LastInventoryResult="1" LastInventoryError="health: [^"]*HTTP 500 for \/health"/);
  });

  it('the health data goes into the file', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kensus-ils-pods-'));
    ls.incompletePods.push({ namespace: 'db2', name: 'db2-bad' }, { namespace: 'mq', name: 'qm-1' });
    try {
      const r = await run(d, '2022-06-30T10:00:00Z', 'startup');
      const ndi = parseNdi(r.content!);
      expect(ndi.props.IncompleteAnnotationCount).toBe('2');
      expect(ndi.props.IncompleteAnnotationPods).toBe('db2/db2-bad,mq/qm-1');
    } finally {
      ls.incompletePods.length = 0;
    }
  });

  it('short trouble is retried: two 500s, then the answers', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kensus-ils-retry-'));
    ls.failNext(2, 503, ['/products']);
    const r = await run(d, '2022-06-30T10:00:00Z', 'startup');
    expect(ls.requests.filter((q) => q.path === '/products' && q.status === 503)).toHaveLength(2);
    expect(r.period?.start).toBe('2021-12-31');
  });

  it('a refused token stops the run with an unauthorized error, nothing written', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kensus-ils-token-'));
    const err = await run(d, '2022-06-30T10:00:00Z', 'startup', {
      api: licenseServiceClient({ url: ls.url, token: 'wrong', tlsVerify: false }, { retryMinMs: 5 }),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(LicenseServiceError);
    expect(err.kind).toBe('unauthorized');
    expect(err.message).toMatch(/refused the token for \/health \(HTTP 401\)/);
    // One attempt, no retries of a refused token.
    expect(ls.requests.filter((q) => q.status === 401)).toHaveLength(1);
    expect(readdirSync(d)).toEqual([]);
  });

  it('a slow service times out; a service that is down is unreachable', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kensus-ils-slow-'));
    ls.slow(400);
    try {
      const err = await run(d, '2022-06-30T10:00:00Z', 'startup', {
        api: licenseServiceClient({ url: ls.url, token: ls.token, tlsVerify: false }, { retries: 0, timeoutMs: 100 }),
      }).catch((e) => e);
      expect(err).toBeInstanceOf(LicenseServiceError);
      expect(err.kind).toBe('timeout');
    } finally {
      ls.slow(0);
    }
    await ls.down();
    try {
      const err = await run(d, '2022-06-30T10:00:00Z', 'startup', {
        api: licenseServiceClient({ url: ls.url, token: ls.token, tlsVerify: false }, { retries: 0 }),
      }).catch((e) => e);
      expect(err.kind).toBe('unreachable');
      expect(err.message).toMatch(/cannot reach the License Service at http:\/\/127\.0\.0\.1:\d+ for \/version: ECONNREFUSED/);
    } finally {
      await ls.up();
    }
  });
});
