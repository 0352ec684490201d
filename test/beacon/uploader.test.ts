import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BeaconSettings } from '../../src/beacon/settings.js';
import { BeaconUploader } from '../../src/beacon/uploader.js';
import { retryAfterMs, UploadError } from '../../src/beacon/upload.js';
import { ManualClock } from '../support/manual-clock.js';
import { startTestBeacon, type TestBeacon } from './server.js';

let beacon: TestBeacon;
beforeAll(async () => {
  beacon = await startTestBeacon();
});
afterAll(async () => {
  await beacon.stop();
});
beforeEach(async () => {
  beacon.received.clear();
  beacon.attempts.length = 0;
  await beacon.up();
});

function settings(extra: Partial<BeaconSettings> = {}): BeaconSettings {
  return { url: beacon.url, token: beacon.token, method: 'PUT', mustUpload: false, spoolDir: mkdtempSync(join(tmpdir(), 'kensus-spool-')), ...extra };
}
const quick = { retryMinMs: 5, timeoutMs: 2000 };
const ndi = (i: number) => `<?xml version="1.0"?><Inventory n="${i}"/>`;

describe('beacon upload', () => {
  it('spools first, uploads by PUT, and deletes only after the 2xx', async () => {
    const up = new BeaconUploader(settings(), quick);
    await up.enqueue('k8s-node-d8259158-worker-1-20220630T100000.ndi', ndi(1));
    expect(readdirSync(up.settings.spoolDir)).toEqual(['k8s-node-d8259158-worker-1-20220630T100000.ndi']);
    const r = await up.flush();
    expect(r).toEqual({ uploaded: ['k8s-node-d8259158-worker-1-20220630T100000.ndi'], failed: [], waiting: 0 });
    expect(beacon.received.get('k8s-node-d8259158-worker-1-20220630T100000.ndi')).toEqual({ count: 1, body: ndi(1), method: 'PUT' });
    expect(readdirSync(up.settings.spoolDir)).toEqual([]);
  });

  it('POST sends the file to the location with its name in Content-Disposition', async () => {
    const up = new BeaconUploader(settings({ method: 'POST' }), quick);
    await up.enqueue('k8s-image-d8259158-0123456789ab-20220630T100000.ndi', ndi(2));
    await up.flush();
    expect(beacon.received.get('k8s-image-d8259158-0123456789ab-20220630T100000.ndi')?.method).toBe('POST');
  });

  it('500s and slow answers are retried with back-off; a short Retry-After is waited out', async () => {
    const up = new BeaconUploader(settings(), { ...quick, retries: 3 });
    await up.enqueue('a.ndi', ndi(1));
    beacon.failNext(2, 500);
    beacon.failNext(1, 503, '1');
    const started = Date.now();
    expect((await up.flush()).uploaded).toEqual(['a.ndi']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(beacon.attempts.map((a) => a.status)).toEqual([500, 500, 503, 201]);

    beacon.slow(300);
    try {
      const slowUp = new BeaconUploader(settings(), { ...quick, timeoutMs: 100, retries: 1 });
      await slowUp.enqueue('b.ndi', ndi(2));
      const r = await slowUp.flush();
      expect(r.failed[0].error.kind).toBe('timeout');
      expect(r.failed[0].error.message).toMatch(/gave no answer within 0\.1 s/);
      expect(r.waiting).toBe(1);
    } finally {
      beacon.slow(0);
    }
  });

  it('a wrong token is not retried in a loop; the file stays spooled and the message names the cause', async () => {
    const up = new BeaconUploader(settings({ token: 'not-the-token' }), quick);
    await up.enqueue('a.ndi', ndi(1));
    await up.enqueue('b.ndi', ndi(2));
    const r = await up.flush();
    expect(r.failed).toHaveLength(1);
    expect(r.failed[0].error).toBeInstanceOf(UploadError);
    expect(r.failed[0].error.message).toMatch(/^the beacon at http:\/\/127\.0\.0\.1:\d+\/ManageSoftRL\/Inventories\/a\.ndi refused the token \(HTTP 401\)$/);
    expect(beacon.attempts).toHaveLength(1);
    expect(r.waiting).toBe(2);
  });

  it('a long Retry-After ends the sweep; the uploader comes back when the beacon asked', async () => {
    const clock = new ManualClock(Date.parse('2022-06-30T10:00:00Z'));
    const up = new BeaconUploader(settings(), { ...quick, clock });
    beacon.failNext(1, 503, '120');
    await up.enqueue('a.ndi', ndi(1));
    up.start();
    try {
      expect(await clock.idle()).toEqual([Date.parse('2022-06-30T10:02:00Z')]);
      expect(beacon.received.size).toBe(0);
      clock.advanceToNext();
      await clock.idle();
      expect(beacon.received.get('a.ndi')?.count).toBe(1);
    } finally {
      await up.stop();
    }
  });

  it('the beacon down for several sweeps: back-off doubles up to 5 minutes, and every file arrives exactly once afterwards', async () => {
    const clock = new ManualClock(Date.parse('2022-06-30T10:00:00Z'));
    const s = settings();
    const up = new BeaconUploader(s, { ...quick, retries: 0, clock });
    await beacon.down();
    up.start();
    const waits: number[] = [];
    try {
      for (let i = 0; i < 7; i++) {
        await up.enqueue(`k8s-ibm-licensing-d8259158-2022070${i}T010000.ndi`, ndi(i));
        const [next] = await clock.idle();
        waits.push((next - clock.now()) / 1000);
        clock.advanceToNext();
      }
      await clock.idle();
      expect(beacon.received.size).toBe(0);
      // Each enqueue wakes a sweep at once; the waits after failed sweeps double: 30 s … 300 s.
      expect(waits).toEqual([30, 60, 120, 240, 300, 300, 300]);
      expect(readdirSync(s.spoolDir)).toHaveLength(7);
      await beacon.up();
      clock.advanceToNext();
      await clock.idle();
      expect([...beacon.received.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `k8s-ibm-licensing-d8259158-2022070${i}T010000.ndi`));
      expect([...beacon.received.values()].every((v) => v.count === 1)).toBe(true);
      expect(readdirSync(s.spoolDir)).toEqual([]);
      // After success the loop sleeps until the next file.
      expect((await clock.idle())[0] - clock.now()).toBe(86_400_000);
    } finally {
      await up.stop();
    }
  });

  it('nothing is lost across a restart: a new uploader on the same spool sends what the old one could not', async () => {
    const s = settings();
    await beacon.down();
    const first = new BeaconUploader(s, { ...quick, retries: 0 });
    await first.enqueue('a.ndi', ndi(1));
    await first.enqueue('b.ndi', ndi(2));
    expect((await first.flush()).failed[0].error.kind).toBe('unreachable');
    await first.stop();
    await beacon.up();
    const second = new BeaconUploader(s, quick);
    expect((await second.flush()).uploaded).toEqual(['a.ndi', 'b.ndi']);
    expect(beacon.received.get('a.ndi')?.count).toBe(1);
  });

  it('mustUpload true: a failed upload is fatal; false (the default): the uploader keeps running', async () => {
    await beacon.down();
    const clock = new ManualClock(Date.now());
    let fatal: UploadError | null = null;
    const must = new BeaconUploader(settings({ mustUpload: true }), { ...quick, retries: 0, clock, onFatal: (e) => (fatal = e) });
    await must.enqueue('a.ndi', ndi(1));
    must.start();
    await must.stop(); // the loop has ended by itself
    expect(fatal).toBeInstanceOf(UploadError);
    expect(fatal!.message).toMatch(/cannot reach the beacon at http:\/\/127\.0\.0\.1:\d+\/ManageSoftRL\/Inventories\/a\.ndi: ECONNREFUSED/);
    expect(readdirSync(must.settings.spoolDir)).toEqual(['a.ndi']);

    let fatal2: UploadError | null = null;
    const keep = new BeaconUploader(settings(), { ...quick, retries: 0, clock, onFatal: (e) => (fatal2 = e) });
    await keep.enqueue('a.ndi', ndi(1));
    keep.start();
    try {
      await clock.idle();
      expect(fatal2).toBeNull();
      expect(keep.last?.failed).toHaveLength(1);
    } finally {
      await keep.stop();
    }
  });

  it('the spool takes plain file names only and ignores half-written files', async () => {
    const up = new BeaconUploader(settings(), quick);
    await expect(up.enqueue('../etc/passwd', 'x')).rejects.toThrow(/not a plain file name/);
    await expect(up.enqueue('.tmp-1', 'x')).rejects.toThrow(/not a plain file name/);
    writeFileSync(join(up.settings.spoolDir, '.tmp-999-abc'), 'half');
    await up.enqueue('a.ndi', ndi(1));
    expect(await up.spool.list()).toEqual(['a.ndi']);
  });

  it('reads Retry-After in seconds and as an HTTP date', () => {
    expect(retryAfterMs('120')).toBe(120_000);
    expect(retryAfterMs('Thu, 30 Jun 2022 10:01:00 GMT', Date.parse('2022-06-30T10:00:00Z'))).toBe(60_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs('999999999')).toBe(86_400_000);
  });
});
