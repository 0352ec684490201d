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
