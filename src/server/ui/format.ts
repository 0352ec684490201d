/** Numbers and times as the page writes them. */

export const num = (n: number | null | undefined, digits = 1): string =>
  n === null || n === undefined ? '—' : Number.isInteger(n) ? n.toLocaleString('en') : n.toLocaleString('en', { maximumFractionDigits: digits });

export const pct = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : `${num(n)} %`);

/** "2026-11-23 02:00 UTC" */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** "3 h ago", "in 4 h" */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.round((Date.parse(iso) - now) / 1000);
  const a = Math.abs(s);
  const text = a < 90 ? `${a} s` : a < 5400 ? `${Math.round(a / 60)} min` : a < 172_800 ? `${Math.round(a / 3600)} h` : `${Math.round(a / 86_400)} days`;
  return s < 0 ? `${text} ago` : `in ${text}`;
}

export const plural = (n: number, one: string, many = `${one}s`) => `${num(n)} ${n === 1 ? one : many}`;
