import { productMatches } from '../../licensing/entitlements.js';
import type { ProductFinding } from '../../model/finding.js';
import type { Report, UsageRow } from '../../model/report.js';
import type { EntitlementRow, EntitlementStatus, Licence, ProductRef } from './types.js';

/** The order the page lists entitlements in: what needs action first (over, warning, unlicensed). */
export const statusOrder: EntitlementStatus[] = ['over', 'warning', 'unlicensed', 'ok', 'not-applicable'];
/** How bad a status is, as `--fail-on` ranks them (unlicensed worst). */
const severity: Record<EntitlementStatus, number> = { 'not-applicable': 0, ok: 1, warning: 2, over: 3, unlicensed: 4 };

export function worst(statuses: Array<EntitlementStatus | null>): EntitlementStatus | null {
  let out: EntitlementStatus | null = null;
  for (const s of statuses) if (s && (!out || severity[s] > severity[out])) out = s;
  return out;
}

export const licenceOf = (licensable: boolean | null | undefined): Licence => (licensable === true ? 'licensable' : licensable === false ? 'free' : 'unknown');

export function entitlementRows(report: Report): EntitlementRow[] {
  const raw = (report.entitlements as Array<Partial<EntitlementRow>> | undefined) ?? [];
  return raw.map((e) => ({
    product: String(e.product ?? ''),
    metric: String(e.metric ?? ''),
    used: Number(e.used ?? 0),
    owned: Number(e.owned ?? 0),
    percentage: typeof e.percentage === 'number' ? e.percentage : null,
    threshold: typeof e.threshold === 'number' ? e.threshold : null,
    status: (e.status ?? 'ok') as EntitlementStatus,
    basis: String(e.basis ?? ''),
    namespaces: Array.isArray(e.namespaces) ? e.namespaces.map(String) : [],
  }));
}

/** Does this usage row stand for (or bundle, or gate) the finding's product? */
function rowCovers(u: UsageRow, f: Pick<ProductFinding, 'id' | 'product'>): boolean {
  if (u.productId === f.id || `ibm-${u.productId}` === f.id) return true;
  if (Array.isArray(u.gatedProducts) && (u.gatedProducts as string[]).includes(f.id)) return true;
  return productMatches(u.productName, { productId: f.id, productName: f.product });
}

/**
 * For each product a finding names, the worst status of the entitlements it counts toward:
 * entitlements naming the product itself, or a licence figure it is part of (a Cloud Pak that
 * bundles it, NVIDIA AI Enterprise for the software it gates).
 */
export function productStatusOf(report: Report): (f: Pick<ProductFinding, 'id' | 'product'>) => EntitlementStatus | null {
  const ents = entitlementRows(report);
  const memo = new Map<string, EntitlementStatus | null>();
  return (f) => {
    if (memo.has(f.id)) return memo.get(f.id)!;
    const names = new Set<string>([f.product]);
    for (const u of report.usage) {
      if (!rowCovers(u, f)) continue;
      names.add(u.productName);
      if (u.cloudpakId) for (const cp of report.usage) if (cp.productId === u.cloudpakId) names.add(cp.productName);
    }
    const statuses = ents.filter((e) => [...names].some((n) => productMatches(e.product, { productId: f.id, productName: n }))).map((e) => e.status);
    const s = worst(statuses);
    memo.set(f.id, s);
    return s;
  };
}

/** The distinct products of some findings, as the tables show them. */
export function productRefs(findings: ProductFinding[], statusOf: (f: ProductFinding) => EntitlementStatus | null): ProductRef[] {
  const out = new Map<string, ProductRef>();
  for (const f of findings) if (!out.has(f.id)) out.set(f.id, { id: f.id, product: f.product, vendor: f.vendor, licence: licenceOf(f.licensable), status: statusOf(f) });
  return [...out.values()].sort((a, b) => a.product.localeCompare(b.product));
}

export const productNames = (refs: ProductRef[]) => refs.map((p) => p.product);
export const statusNames = (refs: ProductRef[]) => [...new Set(refs.map((p) => p.status ?? 'none'))];
