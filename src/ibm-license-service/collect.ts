import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { log } from '../log.js';
import { loadCache, saveCache } from './cache.js';
import { LicenseServiceError, type LicenseServiceApi } from './client.js';
import { addDays, CACHE_DAYS, collectionWindow, daysFrom, type Day } from './days.js';
import { licenseServiceNdiName, periodRows, renderLicenseServiceNdi } from './ndi.js';
import type { CollectionResult, ServiceHealth } from './types.js';

export interface CollectOptions {
  api: LicenseServiceApi;
  /** Where the 7-day cache lives (kensus-ibm-license-service-cache.json). */
  cacheDir: string;
  /** Where the .ndi file is written. */
  outputDir: string;
  clusterId: string;
  /** The run's time (ms since the epoch). */
  now: number;
  toolVersion: string;
  /**
   * `startup`: a cache that covers the period means the schedule simply resumes (step 9), no
   * file. `scheduled` (the daily 01:00 run): a file of the cached days is always written.
   */
  mode: 'startup' | 'scheduled';
  /**
   * Called with each written file before the cache is updated (the beacon spool): when it
   * throws, the run counts as not done and is repeated, so no file is lost.
   */
  deliver?: (name: string, content: string) => Promise<void>;
}

/** A run that stopped half-way; the days fetched so far are kept in the cache. */
export class CollectionError extends Error {
  constructor(
    message: string,
    override readonly cause: unknown,
    readonly fetched: number,
    readonly missing: number,
  ) {
    super(message);
    this.name = 'CollectionError';
  }
}

const SAVE_EVERY_DAYS = 10;

/**
 * One collection run, steps 2–8 (and 10–12) of ibm-license-service-inventory.txt:
 * 1. `/version` must answer (the caller retries every 5 minutes when it does not);
 * 2. the period ends yesterday (UTC). With no cache it is the whole window (the first run:
 *    2021-12-31 … 2022-06-29 when deployed on 2022-06-30). With a cache it starts after the
 *    newest cached day, or 6 days before yesterday if that is earlier, so the file holds at
 *    least the 7 cached days: the daily run asks for one day, a restart after a gap asks for the
 *    missing days only, and a restart whose cache covers the last 7 days asks for nothing;
 * 3. each day not cached is requested (products and bundled products, dateFrom = dateTo = day);
 * 4. one .ndi file holds every day of the period;
 * 5. the final 7 days of the period stay cached.
 */
export async function collectOnce(o: CollectOptions): Promise<CollectionResult> {
  const service = await o.api.version();
  let health: ServiceHealth | null = null;
  let healthError: string | null = null;
  try {
    health = await o.api.health();
  } catch (err) {
    if (err instanceof LicenseServiceError && err.kind === 'unauthorized') throw err;
    healthError = `health: ${(err as Error).message}`;
    log.warn({ where: o.api.where, error: (err as Error).message }, 'License Service /health failed; the file says so in LastInventoryError');
  }

  const window = collectionWindow(o.now);
  const cache = await loadCache(o.cacheDir, o.clusterId);
  for (const day of [...cache.days.keys()]) if (day > window.end || day < window.start) cache.days.delete(day);
  const recent = daysFrom(addDays(window.end, -(CACHE_DAYS - 1)), window.end);

  let start: Day;
  if (cache.pendingStart) {
    start = cache.pendingStart > window.start ? cache.pendingStart : window.start;
  } else if (cache.days.size === 0) {
    start = window.start;
  } else {
    if (o.mode === 'startup' && recent.every((d) => cache.days.has(d))) {
      log.info({ cached: [...cache.days.keys()].sort() }, 'the License Service cache covers the period; waiting for the next 01:00 run');
      return { file: null, fileName: null, content: null, clusterId: o.clusterId, period: null, fetchedDays: [], cachedDays: [...cache.days.keys()].sort(), service, health, healthError, products: [], bundledProducts: [] };
    }
    const newest = [...cache.days.keys()].sort().at(-1)!;
    const afterNewest = addDays(newest, 1);
    start = afterNewest < recent[0] ? afterNewest : recent[0];
    if (start < window.start) start = window.start;
  }
  const period = { start, end: window.end };
  const missing = daysFrom(period.start, period.end).filter((d) => !cache.days.has(d));
  cache.pendingStart = period.start;
  await saveCache(o.cacheDir, cache);

  const fetched: Day[] = [];
  try {
    for (const day of missing) {
      const [products, bundledProducts] = await Promise.all([o.api.products(day), o.api.bundledProducts(day)]);
      cache.days.set(day, { products, bundledProducts });
      fetched.push(day);
      if (fetched.length % SAVE_EVERY_DAYS === 0) await saveCache(o.cacheDir, cache);
    }
  } catch (err) {
    await saveCache(o.cacheDir, cache).catch(() => {});
    throw new CollectionError(
      `${(err as Error).message} (${fetched.length} of ${missing.length} days fetched; they are cached and not asked for again)`,
      err,
      fetched.length,
      missing.length - fetched.length,
    );
  }

  const at = new Date(o.now);
  const fileName = licenseServiceNdiName(o.clusterId, at);
  const content = renderLicenseServiceNdi({ clusterId: o.clusterId, at, toolVersion: o.toolVersion, service, health, healthError, period, days: cache.days });
  await mkdir(o.outputDir, { recursive: true });
  const file = resolve(join(o.outputDir, fileName));
  await writeFile(`${file}.tmp`, content);
  await rename(`${file}.tmp`, file);
  if (o.deliver) await o.deliver(fileName, content);

  const rows = periodRows(o.clusterId, period, cache.days);
  const keepFrom = addDays(period.end, -(CACHE_DAYS - 1));
  for (const day of [...cache.days.keys()]) if (day < keepFrom) cache.days.delete(day);
  cache.pendingStart = null;
  await saveCache(o.cacheDir, cache);
  log.info({ file, period, fetched: fetched.length }, 'License Service inventory written');
  return { file, fileName, content, clusterId: o.clusterId, period, fetchedDays: fetched, cachedDays: [...cache.days.keys()].sort(), service, health, healthError, ...rows };
}
