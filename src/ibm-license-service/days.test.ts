import { describe, expect, it } from 'vitest';
import { addDays, checkTimeZone, collectionWindow, daysFrom, isDay, nextLocalRun, utcDay } from './days.js';

describe('License Service days', () => {
  it('the reference example: deployed 2022-06-30, the period is 2021-12-31 … 2022-06-29', () => {
    const w = collectionWindow(Date.parse('2022-06-30T09:15:00Z'));
    expect(w).toEqual({ start: '2021-12-31', end: '2022-06-29' });
    expect(daysFrom(w.start, w.end)).toHaveLength(181);
  });

  it('the current day is the UTC day, whatever the local zone says', () => {
    // 23:30 UTC on 2022-06-30 is already 07-01 in Berlin; the reference counts in UTC.
    expect(collectionWindow(Date.parse('2022-06-30T23:30:00Z')).end).toBe('2022-06-29');
    expect(utcDay(Date.parse('2022-07-01T00:00:00Z'))).toBe('2022-07-01');
  });

  it('adds days across months, leap days and years', () => {
    expect(addDays('2022-06-29', -180)).toBe('2021-12-31');
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2024-12-31', 1)).toBe('2025-01-01');
    expect(daysFrom('2022-06-28', '2022-07-01')).toEqual(['2022-06-28', '2022-06-29', '2022-06-30', '2022-07-01']);
    expect(daysFrom('2022-07-01', '2022-06-30')).toEqual([]);
  });

  it('recognises real days only', () => {
    expect(isDay('2022-06-30')).toBe(true);
    expect(isDay('2022-02-30')).toBe(false);
    expect(isDay('2022-6-30')).toBe(false);
    expect(isDay(20220630)).toBe(false);
  });

  it('the next run is 01:00 the next day, cluster-local time', () => {
    const iso = (t: number) => new Date(t).toISOString();
    expect(iso(nextLocalRun(Date.parse('2022-06-30T09:15:00Z'), 'UTC'))).toBe('2022-07-01T01:00:00.000Z');
    // Berlin is UTC+2 in summer: 01:00 there is 23:00 UTC the day before.
    expect(iso(nextLocalRun(Date.parse('2022-06-30T09:15:00Z'), 'Europe/Berlin'))).toBe('2022-06-30T23:00:00.000Z');
    // Before 01:00 local it is the same day; at exactly 01:00 it is the next day.
    expect(iso(nextLocalRun(Date.parse('2022-07-01T00:30:00Z'), 'UTC'))).toBe('2022-07-01T01:00:00.000Z');
    expect(iso(nextLocalRun(Date.parse('2022-07-01T01:00:00Z'), 'UTC'))).toBe('2022-07-02T01:00:00.000Z');
    // New York (UTC-4 in summer).
    expect(iso(nextLocalRun(Date.parse('2022-06-30T09:15:00Z'), 'America/New_York'))).toBe('2022-07-01T05:00:00.000Z');
  });

  it('keeps 01:00 local across a daylight saving change (not a fixed 24 hours)', () => {
    const iso = (t: number) => new Date(t).toISOString();
    // Berlin leaves summer time on 2022-10-30 at 03:00: 01:00 on the 30th is UTC+2, on the 31st UTC+1.
    const first = nextLocalRun(Date.parse('2022-10-29T12:00:00Z'), 'Europe/Berlin');
    expect(iso(first)).toBe('2022-10-29T23:00:00.000Z');
    const second = nextLocalRun(first, 'Europe/Berlin');
    expect(iso(second)).toBe('2022-10-31T00:00:00.000Z');
    expect(second - first).toBe(25 * 3_600_000);
  });

  it('rejects an unknown time zone with a usage error', () => {
    expect(() => checkTimeZone('Mars/Olympus_Mons')).toThrow(/unknown time zone 'Mars\/Olympus_Mons'/);
    expect(checkTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
  });
});
