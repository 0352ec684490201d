/**
 * Kubernetes resource quantities ("500m", "1.5", "2", "16Gi", "1e3") as numbers.
 * CPU is kept in integer millicores so sums like 0.3 + 1.6 stay exact before rounding.
 */
const decimalSuffix: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const binarySuffix: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const quantityRe = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;

/** A quantity as a plain number, or null when the string is not a Kubernetes quantity. */
export function parseQuantity(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string') return null;
  const m = quantityRe.exec(value.trim());
  if (!m) return null;
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  const suffix = m[3] ?? '';
  const factor = binarySuffix[suffix] ?? decimalSuffix[suffix];
  return base * factor;
}

/** CPU quantity in millicores (rounded up to a whole millicore, as Kubernetes does). */
export function parseMilliCpu(value: unknown): number | null {
  const q = parseQuantity(value);
  if (q === null) return null;
  // 1e-9 guards against float noise such as 1.9 * 1000 = 1899.9999999999998.
  return Math.ceil(q * 1000 - 1e-9);
}

/** Millicores back to cores for display (exact to three decimals). */
export function milliToCores(milli: number): number {
  return Math.round(milli) / 1000;
}

/** What a quantity measures, for the bounds below. */
export type QuantityKind = 'cpu' | 'bytes' | 'count';

/**
 * The largest value believed per kind: far above any machine that exists (the largest single
 * systems have a few thousand logical CPUs and tens of TiB of memory), far below what an
 * edited or hostile file can say (1e27 cores). Past them a figure would be nonsense.
 */
export const QUANTITY_LIMITS: Readonly<Record<QuantityKind, { max: number; unit: string }>> = {
  cpu: { max: 100_000, unit: 'cores' },
  bytes: { max: 2 ** 50, unit: 'bytes (1 PiB)' },
  count: { max: 100_000, unit: 'devices' },
};

export type QuantityCheck = { ok: true; value: number } | { ok: false; reason: string };

/**
 * A quantity checked before use: absent is `undefined`; otherwise a number, or why it cannot be
 * believed (not a quantity, not finite, negative, absurdly large, a fraction of a device).
 */
export function checkQuantity(value: unknown, kind: QuantityKind): QuantityCheck | undefined {
  if (value === undefined || value === null) return undefined;
  const n = parseQuantity(value);
  if (n === null) {
    if (typeof value === 'number' || (typeof value === 'string' && /^[+-]?(inf(inity)?|nan)$/i.test(value.trim()))) return { ok: false, reason: 'is not a finite number' };
    return { ok: false, reason: 'is not a Kubernetes quantity (such as 500m, 2, 16Gi)' };
  }
  if (!Number.isFinite(n)) return { ok: false, reason: 'is not a finite number' };
  if (n < 0) return { ok: false, reason: 'is negative' };
  const limit = QUANTITY_LIMITS[kind];
  if (n > limit.max) return { ok: false, reason: `is more than ${limit.max} ${limit.unit}: not a real machine` };
  if (kind === 'count' && !Number.isInteger(n)) return { ok: false, reason: 'is not a whole number of devices' };
  return { ok: true, value: n };
}

/** The quantity as given, short and escaped, for a message (never the raw bytes of a long string). */
export function quoteQuantity(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}
