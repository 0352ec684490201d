import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daysFrom } from '../../src/ibm-license-service/days.js';
import { startCollector, type CollectorOptions } from '../../src/ibm-license-service/scheduler.js';
import { mergeSettings } from '../../src/ibm-license-service/settings.js';
import type { CollectionResult } from '../../src/ibm-license-service/types.js';
import { kubeConfigFor, kubectl, startTestCluster, type TestCluster } from '../support/k8s.js';
import { ManualClock } from '../support/manual-clock.js';
import { registerLicenseService } from './register.js';
import { startTestLicenseService, type TestLicenseService } from './server.js';

let cluster: TestCluster;
let ls: TestLicenseService;
const clusterId = 'd8259158-fdfe-4ba3-ae28-be62a51df7f9';
const iso = (t: number) => new Date(t).toISOString();
const MIN = 60_000;

beforeAll(async () => {
  [cluster, ls] = await Promise.all([
    startTestCluster({ fixture: { nodes: [{ name: 'worker-1', capacity: { cpu: '4', memory: '8Gi', pods: '110' } }] } }),
    startTestLicenseService({ https: true }),
  ]);
});
afterAll(async () => {
  await Promise.all([cluster?.stop(), ls?.stop()]);
});

function collector(clock: ManualClock, dir: string, extra: Partial<CollectorOptions> = {}) {
  const results: CollectionResult[] = [];
  const c = startCollector({
    settings: mergeSettings({ enable: true }),
    kubeConfig: () => kubeConfigFor(cluster),
    clock,
    cacheDir: dir,
    outputDir: join(dir, 'out'),
    clusterId,
    toolVersion: '0.1.0',
    timeZone: 'UTC',
    client: { retryMinMs: 5, timeoutMs: 5000 },
    onResult: (r) => {
      results.push(r);
    },
    ...extra,
  });
  return { c, results };
}

describe('the daily License Service collection', () => {
  it('enabled before License Service is installed: discovery is retried every 5 minutes and the collection starts by itself', async () => {
    const clock = new ManualClock(Date.parse('2022-06-30T10:00:00Z'));
    const dir = mkdtempSync(join(tmpdir(), 'kensus-ils-sched-'));
    const { c, results } = collector(clock, dir);
    try {
      expect((await clock.idle()).map(iso)).toEqual(['2022-06-30T10:05:00.000Z']);
      expect(c.status.state).toBe('retrying');
      expect(c.status.lastError).toMatch(/^IBM License Service is not installed/);
      await registerLicenseService(cluster, ls, { steps: ['crd', 'instance'] });
      clock.advanceToNext();
      expect((await clock.idle()).map(iso)).toEqual(['2022-06-30T10:10:00.000Z']);
      expect(c.status.lastError).toMatch(/^no License Service Service found/);
      await registerLicenseService(cluster, ls);
      clock.advanceToNext();
      // Found: it runs at once, then sleeps until 01:00.
      expect((await clock.idle()).map(iso)).toEqual(['2022-07-01T01:00:00.000Z']);
      expect(results).toHaveLength(1);
      expect(results[0].period).toEqual({ start: '2021-12-31', end: '2022-06-29' });
      expect(results[0].fileName).toBe('k8s-ibm-licensing-d8259158-20220630T101000.ndi');
      expect(c.status.endpoint).toBe(`https://ibm-licensing-service-instance.ibm-licensing.svc:${ls.port}`);

      ls.requests.length = 0;
      clock.advanceToNext();
      expect((await clock.idle()).map(iso)).toEqual(['2022-07-02T01:00:00.000Z']);
      expect(results[1].fetchedDays).toEqual(['2022-06-30']);
      expect(results[1].period).toEqual({ start: '2022-06-24', end: '2022-06-30' });
      expect(results[1].cachedDays).toEqual(daysFrom('2022-06-24', '2022-06-30'));
      // Every day: one new day each time.
      for (const [wake, day] of [['2022-07-03T01:00:00.000Z', '2022-07-01'], ['2022-07-04T01:00:00.000Z', '2022-07-02']]) {
        clock.advanceToNext();
        expect((await clock.idle()).map(iso)).toEqual([wake]);
        expect(results.at(-1)!.fetchedDays).toEqual([day]);
      }
      expect(ls.productDays()).toEqual(['2022-06-30', '2022-07-01', '2022-07-02']);
      expect(readdirSync(join(dir, 'out')).sort()).toEqual([
        'k8s-ibm-licensing-d8259158-20220630T101000.ndi',
        'k8s-ibm-licensing-d8259158-20220701T010000.ndi',
        'k8s-ibm-licensing-d8259158-20220702T010000.ndi',
        'k8s-ibm-licensing-d8259158-20220703T010000.ndi',
      ]);
    } finally {
      await c.stop();
    }

    // A restart the same morning: the cache covers the period, so nothing is asked and the
    // schedule resumes at 01:00.
    ls.requests.length = 0;
    const clock2 = new ManualClock(Date.parse('2022-07-03T08:00:00Z'));
    const second = collector(clock2, dir);
    try {
      expect((await clock2.idle()).map(iso)).toEqual(['2022-07-04T01:00:00.000Z']);
      expect(second.results[0].file).toBeNull();
      expect(ls.productDays()).toEqual([]);
    } finally {
      await second.c.stop();
    }

    // A restart after four days off: only the missing days are asked for.
    const clock3 = new ManualClock(Date.parse('2022-07-07T08:00:00Z'));
    const third = collector(clock3, dir);
    try {
      expect((await clock3.idle()).map(iso)).toEqual(['2022-07-08T01:00:00.000Z']);
      expect(third.results[0].fetchedDays).toEqual(['2022-07-03', '2022-07-04', '2022-07-05', '2022-07-06']);
      expect(third.results[0].period).toEqual({ start: '2022-06-30', end: '2022-07-06' });
    } finally {
      await third.c.stop();
    }
  });

  it('/version not answering: retried every 5 minutes until it does', async () => {
    const clock = new ManualClock(Date.parse('2022-06-30T10:00:00Z'));
    const dir = mkdtempSync(join(tmpdir(), 'kensus-ils-version-'));
    await ls.down();
    const { c, results } = collector(clock, dir, { client: { retries: 0 } });
    try {
      for (const at of ['10:05', '10:10', '10:15']) {
        expect((await clock.idle()).map(iso)).toEqual([`2022-06-30T${at}:00.000Z`]);
        expect(c.status.state).toBe('retrying');
        expect(c.status.lastError).toMatch(/cannot reach the License Service at https:\/\/ibm-licensing-service-instance\.ibm-licensing\.svc:\d+ for \/version: ECONNREFUSED/);
        if (at !== '10:15') clock.advanceToNext();
      }
      expect(results).toEqual([]);
      await ls.up();
      clock.advanceToNext();
      expect((await clock.idle()).map(iso)).toEqual(['2022-07-01T01:00:00.000Z']);
      expect(results[0].period?.start).toBe('2021-12-31');
      expect(results[0].fileName).toBe('k8s-ibm-licensing-d8259158-20220630T101500.ndi');
    } finally {
      await ls.up();
      await c.stop();
    }
  });

  it('01:00 is cluster-local time; the days stay UTC days', async () => {
    const clock = new ManualClock(Date.parse('2022-06-30T10:00:00Z'));
    const dir = mkdtempSync(join(tmpdir(), 'kensus-ils-berlin-'));
    const { c, results } = collector(clock, dir, { timeZone: 'Europe/Berlin' });
    try {
      // 01:00 in Berlin (UTC+2) on 2022-07-01 is 23:00 UTC on 2022-06-30.
      expect((await clock.idle()).map(iso)).toEqual(['2022-06-30T23:00:00.000Z']);
      ls.requests.length = 0;
      clock.advanceToNext();
      expect((await clock.idle()).map(iso)).toEqual(['2022-07-01T23:00:00.000Z']);
      // In UTC 2022-06-30 has not ended at that moment: nothing new yet, the file holds the 7 cached days.
      expect(results[1].fetchedDays).toEqual([]);
      expect(results[1].period).toEqual({ start: '2022-06-23', end: '2022-06-29' });
      clock.advanceToNext();
      await clock.idle();
      expect(results[2].fetchedDays).toEqual(['2022-06-30']);
    } finally {
      await c.stop();
    }
  });

  it('a rotated token: the refused run goes back to discovery and picks up the new Secret', async () => {
    const clock = new ManualClock(Date.parse('2022-06-30T10:00:00Z'));
    const dir = mkdtempSync(join(tmpdir(), 'kensus-ils-rotate-'));
    const { c, results } = collector(clock, dir);
    const oldToken = ls.token;
    try {
      expect((await clock.idle()).map(iso)).toEqual(['2022-07-01T01:00:00.000Z']);
      ls.setToken('rotated-token-2022');
      const r = await kubectl(cluster, ['-n', 'ibm-licensing', 'create', 'secret', 'generic', 'ibm-licensing-token', '--from-literal=token=rotated-token-2022', '--dry-run=client', '-o', 'yaml']);
      expect((await kubectl(cluster, ['apply', '-f', '-'], { input: r.stdout })).code).toBe(0);
      clock.advanceToNext();
      expect((await clock.idle()).map(iso)).toEqual(['2022-07-01T01:05:00.000Z']);
      expect(c.status.lastError).toMatch(/refused the token for \/health \(HTTP 401\)/);
      clock.advanceToNext();
      expect((await clock.idle()).map(iso)).toEqual(['2022-07-02T01:00:00.000Z']);
      expect(results[1].fetchedDays).toEqual(['2022-06-30']);
    } finally {
      ls.setToken(oldToken);
      await c.stop();
    }
  });
});
