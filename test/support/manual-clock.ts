import type { Clock } from '../../src/util/clock.js';

interface Sleeper {
  until: number;
  resolve: () => void;
}

/**
 * A clock the test moves: `sleep` waits until the test advances past its wake-up time. Lets a
 * test drive the 01:00 schedule, 5-minute retries and back-off over days in milliseconds.
 */
export class ManualClock implements Clock {
  private sleepers: Sleeper[] = [];
  private waiters: (() => void)[] = [];

  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const s: Sleeper = { until: this.t + Math.max(0, ms), resolve };
      this.sleepers.push(s);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((x) => x !== s);
        reject(signal.reason);
      }, { once: true });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Wake-up times of everyone asleep, earliest first. */
  pending(): number[] {
    return this.sleepers.map((s) => s.until).sort((a, b) => a - b);
  }

  /** Resolves once at least `n` sleepers wait (the loops under test have gone idle). */
  async idle(n = 1, timeoutMs = 30_000): Promise<number[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.sleepers.length < n) {
      if (Date.now() > deadline) throw new Error(`ManualClock: expected ${n} sleeper(s), have ${this.sleepers.length}`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
    return this.pending();
  }

  /** Moves time to `t`, waking (in order) everyone whose time has come. */
  advanceTo(t: number): void {
    if (t < this.t) throw new Error('ManualClock: time does not go back');
    this.t = t;
    const due = this.sleepers.filter((s) => s.until <= t).sort((a, b) => a.until - b.until);
    this.sleepers = this.sleepers.filter((s) => s.until > t);
    for (const s of due) s.resolve();
  }

  advance(ms: number): void {
    this.advanceTo(this.t + ms);
  }

  /** Moves to the earliest wake-up time and returns it. */
  advanceToNext(): number {
    const next = this.pending()[0];
    if (next === undefined) throw new Error('ManualClock: nobody is asleep');
    this.advanceTo(next);
    return next;
  }
}
