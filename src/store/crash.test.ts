import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { freshStore, storeKinds, type TestStore } from '../../test/support/stores.js';
import type { Store } from './open.js';
import { usageReport } from './report.js';

const IMAGES = 300;
const PODS = 3000;
/** What the child's sweep commits when it runs to the end (test/support/store-crash-cluster.ts). */
const FINDINGS_PER_IMAGE = 2;
const NODES = 20;
const MQ_CORES = 32;

interface KillPoint {
  label: string;
  /** Kill once the child has printed this line (prefix), after `delayMs`. */
  after: string;
  /** For 'image': after this many committed images. */
  count?: number;
  delayMs?: number;
}

const points: KillPoint[] = [
  { label: 'after 5 of 300 images', after: 'image', count: 5 },
  { label: 'as the observation step starts', after: 'observing', delayMs: 0 },
  { label: '150 ms into the observation step', after: 'observing', delayMs: 150 },
  { label: '400 ms into the observation step', after: 'observing', delayMs: 400 },
  { label: 'after the observation step, before the figures', after: 'observed', delayMs: 0 },
  { label: '200 ms into the figures step', after: 'completing', delayMs: 200 },
];

interface ChildResult {
  lines: string[];
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

/** Runs the sweep child and SIGKILLs it at the point; the lines it printed are the steps it had committed. */
function runChild(url: string, observedAt: string, point: KillPoint | null): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/store-sweep-child.ts', url, observedAt, String(IMAGES), String(PODS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let stderr = '';
    let images = 0;
    let armed = false;
    child.stderr.on('data', (d) => (stderr += d));
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (!point || armed) return;
      if (line.startsWith('image')) images++;
      const hit = point.after === 'image' ? line.startsWith('image') && images >= (point.count ?? 1) : line === point.after;
      if (!hit) return;
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), point.delayMs ?? 0);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ lines, signal, code, stderr }));
  });
}

async function count(store: Store, table: string): Promise<number> {
  const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(store.db);
  return Number(r.rows[0].n);
}

describe.each(storeKinds)('a sweep killed with SIGKILL on %s', (kind) => {
  let t: TestStore | undefined;
  const reached = new Set<string>();
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it.each(points)('$label leaves the store consistent and keeps what it committed', async (point) => {
    const ts = (t = await freshStore(kind));
    const killed = await runChild(ts.url, '2026-06-01T02:00:00.000Z', point);
    // The child either died of the signal or had already finished: both must leave a sound store.
    expect(killed.signal === 'SIGKILL' || killed.code === 0, killed.stderr).toBe(true);
    const store = await ts.open();
    if (kind === 'sqlite') {
      const check = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(store.db);
      expect(check.rows.map((r) => r.integrity_check)).toEqual(['ok']);
    }

    // Every image the child announced is there with all its findings; no image is half there.
    const announced = killed.lines.filter((l) => l.startsWith('image ')).map((l) => l.slice(6));
    const scans = await store.db.selectFrom('scans').select('digest').execute();
    const digests = new Set(scans.map((s) => s.digest));
    for (const d of announced) expect(digests.has(d)).toBe(true);
    expect(scans.length).toBeGreaterThanOrEqual(announced.length);
    expect(scans.length).toBeLessThanOrEqual(announced.length + 1);
    const perScan = await store.db.selectFrom('findings').select(['digest', ({ fn }) => fn.countAll().as('n')]).groupBy('digest').execute();
    expect(perScan.every((r) => Number(r.n) === FINDINGS_PER_IMAGE)).toBe(true);
    expect(perScan.length).toBe(scans.length);

    // The observation step is all or nothing.
    const runs = await store.db.selectFrom('sweep_runs').select(['status']).execute();
    expect(runs).toHaveLength(1);
    const status = runs[0].status;
    reached.add(status);
    const observations = await count(store, 'observations');
    const nodes = await count(store, 'node_observations');
    const specs = await count(store, 'pod_specs');
    if (status === 'running') expect([observations, nodes, specs]).toEqual([0, 0, 0]);
    else expect([observations, nodes, specs]).toEqual([PODS, NODES, PODS]);
    if (killed.lines.includes('observed')) expect(status).not.toBe('running');
    // The figures step likewise.
    const days = await store.db.selectFrom('usage_days').selectAll().execute();
    if (status === 'complete') expect(days).toHaveLength(1);
    if (status === 'running') expect(days).toHaveLength(0);
    if (days.length) {
      const mq = (await usageReport(store, { period: { from: '2026-06-01', to: '2026-06-02' } })).peaks.find((p) => p.productName === 'IBM MQ Advanced')!;
      expect(mq.quantity).toBe(MQ_CORES);
    }
    await store.close();

    // The next sweep goes through, and completes a run the killed one left with its observations in.
    const next = await runChild(ts.url, '2026-06-02T02:00:00.000Z', null);
    expect(next.code, next.stderr).toBe(0);
    const after = await ts.open();
    const report = await usageReport(after, { period: { from: '2026-06-01', to: '2026-06-03' } });
    const mq = report.peaks.find((p) => p.productName === 'IBM MQ Advanced')!;
    const expectedDays = status === 'running' ? ['2026-06-02'] : ['2026-06-01', '2026-06-02'];
    expect(mq.daily).toEqual(expectedDays.map((day) => ({ day, quantity: MQ_CORES })));
    expect((await after.db.selectFrom('sweep_runs').select('status').orderBy('observed_at').execute()).map((r) => r.status)).toEqual([status === 'running' ? 'running' : 'complete', 'complete']);
    expect(await count(after, 'scans')).toBe(IMAGES);
    expect(await count(after, 'observations')).toBe(PODS);
  });

  it('was killed both before and after the observation step committed', () => {
    // The kill points above are only worth something if they landed on both sides of a commit.
    expect([...reached].sort()).toEqual(expect.arrayContaining(['observed', 'running']));
  });
});
