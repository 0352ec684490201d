import { badInput } from '../../errors.js';
import type { Period } from './types.js';

const dayMs = 86_400_000;
/** The History view reaches back at most two years (731 days: one of them may be a leap year). */
export const maxPeriodDays = 731;

const iso = (d: Date) => d.toISOString().slice(0, 10);

/** The calendar quarter (UTC) that holds `now`: IBM's quarterly reporting period. */
export function quarterOf(now: Date): Period {
  const y = now.getUTCFullYear();
  const q = Math.floor(now.getUTCMonth() / 3);
  return { from: iso(new Date(Date.UTC(y, q * 3, 1))), to: iso(new Date(Date.UTC(y, q * 3 + 3, 1))), label: `${y}Q${q + 1}` };
}

function parseDay(text: string, name: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!d || iso(d) !== text) throw badInput(`${name}=${text} is not a day`, 'give YYYY-MM-DD, e.g. 2026-10-01');
  return d;
}

/**
 * The period a request asks for: `quarter=YYYYQn`, or `from` and `to` (exclusive), default the
 * quarter of `now`; at most two years.
 */
export function periodOf(query: { from?: string; to?: string; quarter?: string }, now: Date): Period {
  if (query.quarter) {
    const m = /^(\d{4})Q([1-4])$/.exec(query.quarter);
    if (!m) throw badInput(`quarter=${query.quarter} is not a quarter`, 'give YYYYQn, e.g. 2026Q4');
    return quarterOf(new Date(Date.UTC(Number(m[1]), (Number(m[2]) - 1) * 3, 1)));
  }
  if (!query.from && !query.to) return quarterOf(now);
  if (!query.from || !query.to) throw badInput('from and to go together', 'give both days, e.g. from=2026-10-01&to=2027-01-01 (to is exclusive)');
  const from = parseDay(query.from, 'from');
  const to = parseDay(query.to, 'to');
  const days = (to.getTime() - from.getTime()) / dayMs;
  if (days <= 0) throw badInput(`to=${query.to} is not after from=${query.from}`, 'to is exclusive: the day after the last day wanted');
  if (days > maxPeriodDays) throw badInput(`the period ${query.from} to ${query.to} is ${days} days long; the history goes back at most two years`, `ask for at most ${maxPeriodDays} days`);
  return { from: query.from, to: query.to, label: `${query.from} – ${iso(new Date(to.getTime() - dayMs))}` };
}

/** Every UTC day of a period, for chart axes. */
export function daysOf(p: { from: string; to: string }): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${p.from}T00:00:00Z`), end = Date.parse(`${p.to}T00:00:00Z`); t < end; t += dayMs) out.push(iso(new Date(t)));
  return out;
}
