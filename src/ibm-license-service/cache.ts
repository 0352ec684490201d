import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '../log.js';
import { isDay, type Day } from './days.js';
import type { ApiBundledProduct, ApiProduct, DayData } from './types.js';

/**
 * The on-disk cache of ibm-license-service-inventory.txt: "if the agent is restarted, [the
 * cache] allows it to restore data from the cache, reducing the load on the IBM License
 * Service". It keeps the final 7 days of the last file, and during a run every day fetched so
 * far, so a run cut short (crash, License Service down) resumes without asking again.
 */
export interface CacheState {
  clusterId: string;
  /** First day of a run that has not written its file yet; null between runs. */
  pendingStart: Day | null;
  days: Map<Day, DayData>;
}

export const CACHE_FILE = 'kensus-ibm-license-service-cache.json';
const SCHEMA = 1;
const MAX_CACHE_BYTES = 256 << 20;

export function emptyCache(clusterId: string): CacheState {
  return { clusterId, pendingStart: null, days: new Map() };
}

/**
 * Reads the cache of `dir`. A missing file is an empty cache; a damaged one, or one of another
 * cluster, is set aside (renamed `.bad`) with a warning and the run starts afresh: the License
 * Service still has the data.
 */
export async function loadCache(dir: string, clusterId: string): Promise<CacheState> {
  const path = join(dir, CACHE_FILE);
  let text: string;
  try {
    const st = await stat(path);
    if (st.size > MAX_CACHE_BYTES) throw new Error(`larger than ${MAX_CACHE_BYTES} bytes`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyCache(clusterId);
    return setAside(path, clusterId, (err as Error).message);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return setAside(path, clusterId, 'not JSON');
  }
  const parsed = parseCache(doc);
  if (typeof parsed === 'string') return setAside(path, clusterId, parsed);
  if (parsed.clusterId !== clusterId) {
    log.warn({ path, cached: parsed.clusterId, clusterId }, 'the License Service cache belongs to another cluster; starting afresh');
    return emptyCache(clusterId);
  }
  return parsed;
}

async function setAside(path: string, clusterId: string, why: string): Promise<CacheState> {
  log.warn({ path, why }, 'the License Service cache is damaged; it is kept as .bad and the data is requested again');
  await rename(path, `${path}.bad`).catch(() => {});
  return emptyCache(clusterId);
}

/** Written to a temporary file and renamed, so a crash leaves the old cache or the new one. */
export async function saveCache(dir: string, state: CacheState): Promise<void> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, CACHE_FILE);
  const days = Object.fromEntries([...state.days.entries()].sort(([a], [b]) => a.localeCompare(b)));
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ schema: SCHEMA, clusterId: state.clusterId, pendingStart: state.pendingStart, days })}\n`);
  await rename(tmp, path);
}

function parseCache(doc: unknown): CacheState | string {
  if (typeof doc !== 'object' || doc === null) return 'not an object';
  const o = doc as Record<string, unknown>;
  if (o.schema !== SCHEMA) return `unknown schema ${String(o.schema)}`;
  if (typeof o.clusterId !== 'string') return 'no clusterId';
  if (o.pendingStart !== null && !isDay(o.pendingStart)) return 'bad pendingStart';
  if (typeof o.days !== 'object' || o.days === null) return 'no days';
  const days = new Map<Day, DayData>();
  for (const [day, v] of Object.entries(o.days as Record<string, unknown>)) {
    if (!isDay(day)) return `bad day ${String(day).slice(0, 20)}`;
    const d = v as { products?: unknown; bundledProducts?: unknown };
    if (!Array.isArray(d?.products) || !Array.isArray(d?.bundledProducts)) return `bad data for ${day}`;
    if (!d.products.every(isProduct) || !d.bundledProducts.every(isBundled)) return `bad rows for ${day}`;
    days.set(day, { products: d.products as ApiProduct[], bundledProducts: d.bundledProducts as ApiBundledProduct[] });
  }
  return { clusterId: o.clusterId, pendingStart: (o.pendingStart as Day | null) ?? null, days };
}

const isStr = (v: unknown) => typeof v === 'string';
const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const isStrOrNull = (v: unknown) => v === null || typeof v === 'string';

function isProduct(r: unknown): boolean {
  const o = r as Record<string, unknown>;
  return !!o && isStr(o.id) && isStr(o.name) && isStr(o.metricName) && isNum(o.metricQuantity) && isStrOrNull(o.metricPeakDate);
}

function isBundled(r: unknown): boolean {
  const o = r as Record<string, unknown>;
  return (
    !!o &&
    ['productId', 'productName', 'cloudpakId', 'cloudpakName', 'cloudpakVersion', 'metricName', 'metricConversion'].every((k) => isStr(o[k])) &&
    isNum(o.metricMeasuredQuantity) &&
    isNum(o.metricConvertedQuantity) &&
    isStrOrNull(o.cloudpakMetricName) &&
    isStrOrNull(o.metricPeakDate)
  );
}
