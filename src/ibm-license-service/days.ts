import { DateTime } from 'luxon';
import { badInput } from '../errors.js';

/** A calendar day in UTC, `YYYY-MM-DD` (the License Service API's date format). */
export type Day = string;

const DAY_MS = 86_400_000;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The rolling window of ibm-license-service-inventory.txt ("Data collection process"): deployed
 * on 2022-06-30, the period ends yesterday (2022-06-29) and starts on 2021-12-31. The text says
 * "subtracting 179 days" but 2022-06-29 − 179 days is 2022-01-01; its worked example subtracts
 * 180. We follow the example (first run: 2021-12-31 … 2022-06-29), so the window always holds
 * the full 180 days before yesterday plus yesterday, never fewer than the text promises.
 */
export const WINDOW_SPAN_DAYS = 180;
/** "Cache the final 7 days of the period." */
export const CACHE_DAYS = 7;

export function isDay(s: unknown): s is Day {
  return typeof s === 'string' && DAY_RE.test(s) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s);
}

/** The UTC day of an instant (step 3 of the reference: "the current day in the UTC time zone"). */
export function utcDay(ms: number): Day {
  return new Date(ms).toISOString().slice(0, 10);
}

export function addDays(day: Day, n: number): Day {
  return utcDay(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS);
}

/** Every day from `start` through `end`, both inclusive. */
export function daysFrom(start: Day, end: Day): Day[] {
  const out: Day[] = [];
  for (let d = start; d <= end; d = addDays(d, 1)) out.push(d);
  return out;
}

/** Steps 3–5: the period a run may cover, ending yesterday (UTC). */
export function collectionWindow(nowMs: number): { start: Day; end: Day } {
  const end = addDays(utcDay(nowMs), -1);
  return { start: addDays(end, -WINDOW_SPAN_DAYS), end };
}

/** Throws a usage error unless `zone` is an IANA time zone name luxon knows. */
export function checkTimeZone(zone: string): string {
  if (!DateTime.now().setZone(zone).isValid) throw badInput(`unknown time zone '${zone}'`, 'give an IANA name such as Europe/Berlin or UTC');
  return zone;
}

/** The zone of this process (a pod's TZ): the "cluster-local time" of the reference. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/**
 * The next 01:00:00 local time strictly after `nowMs` (steps 9 and 13: "every day at 01:00,
 * cluster-local time"). Computed afresh each day rather than as a 24-hour timer, so a daylight
 * saving change does not move the run to 00:00 or 02:00.
 */
export function nextLocalRun(nowMs: number, zone: string, hour = 1): number {
  const local = DateTime.fromMillis(nowMs, { zone });
  let next = local.set({ hour, minute: 0, second: 0, millisecond: 0 });
  if (next.toMillis() <= nowMs) next = local.plus({ days: 1 }).set({ hour, minute: 0, second: 0, millisecond: 0 });
  return next.toMillis();
}
