/**
 * Bounded concurrency, one place for it (p-limit underneath): `mapLimit` for a list of jobs,
 * `Limiter` for jobs with a global cap and a cap per key (exec sessions per node), and
 * `Semaphore` for a slot held across a stream's life (layer blobs per registry).
 */
import pLimit, { type LimitFunction } from 'p-limit';

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const run = pLimit(Math.max(1, limit));
  return Promise.all(items.map((item, i) => run(() => fn(item, i))));
}

/**
 * At most `global` jobs at once, and at most `perKey` with one key (the tracker costs its node's
 * CPU and I/O, however low its priority). A job waiting for its key's slot holds no global one,
 * so jobs of other keys go ahead of it.
 */
export class Limiter {
  private readonly all: LimitFunction;
  private readonly byKey = new Map<string, LimitFunction>();

  constructor(
    readonly global: number,
    readonly perKey: number,
  ) {
    if (!(global >= 1) || !(perKey >= 1)) throw new Error('concurrency limits must be at least 1');
    this.all = pLimit(global);
  }

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let forKey = this.byKey.get(key);
    if (!forKey) this.byKey.set(key, (forKey = pLimit(this.perKey)));
    return forKey(() => this.all(fn));
  }
}

/** A counting semaphore: `acquire()` waits for a slot and returns its release (idempotent). */
export class Semaphore {
  private readonly limit: LimitFunction;

  constructor(slots: number) {
    this.limit = pLimit(Math.max(1, slots));
  }

  acquire(): Promise<() => void> {
    return new Promise((granted) => {
      void this.limit(() => new Promise<void>((release) => granted(() => release())));
    });
  }
}
