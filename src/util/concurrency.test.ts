import { describe, expect, it } from 'vitest';
import { Limiter, mapLimit, Semaphore } from './concurrency.js';

describe('Limiter', () => {
  it('keeps to the global and the per-node limit', async () => {
    const limiter = new Limiter(3, 2);
    const active = { all: 0, n1: 0, n2: 0 };
    const peak = { all: 0, n1: 0, n2: 0 };
    const job = (node: 'n1' | 'n2') =>
      limiter.run(node, async () => {
        active.all++;
        active[node]++;
        peak.all = Math.max(peak.all, active.all);
        peak[node] = Math.max(peak[node], active[node]);
        await new Promise((r) => setTimeout(r, 10));
        active.all--;
        active[node]--;
      });
    await Promise.all([...Array(6)].map(() => job('n1')).concat([...Array(4)].map(() => job('n2'))));
    expect(peak).toEqual({ all: 3, n1: 2, n2: 2 });
  });
});

describe('Semaphore', () => {
  it('never lets more than its size through', async () => {
    const sem = new Semaphore(2);
    let inFlight = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const release = await sem.acquire();
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        release();
        release(); // a second release is harmless
      }),
    );
    expect(peak).toBe(2);
  });
});

describe('mapLimit', () => {
  it('keeps input order and at most `limit` jobs in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (ms, i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, ms));
      inFlight--;
      return i * 10;
    });
    expect(out).toEqual([0, 10, 20, 30, 40]);
    expect(peak).toBe(2);
  });
});
