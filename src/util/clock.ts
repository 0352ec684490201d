import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Time as the long-running loops see it. Injected so tests can drive days, 01:00 runs and
 * 5-minute retries without waiting (test/ibm-license-service/manual-clock.ts).
 */
export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    // Node timers hold at most ~24.8 days; our waits are at most a day.
    await sleep(Math.max(0, Math.min(ms, 2 ** 31 - 1)), undefined, { signal });
  },
};
