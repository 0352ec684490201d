/** The readable text report (`--format table`, the default) and the fixed-width tables it is made of. */
import type { Report } from '../model/report.js';
import type { ProductFinding } from '../model/finding.js';

/** Fixed-width text table; columns sized to their widest cell. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

function productCells(p: ProductFinding): string[] {
  const licensable = p.licensable === null ? '?' : p.licensable ? 'yes' : 'no (free)';
  return [p.product, p.edition ?? '-', p.version ?? '-', p.licenseMetric, licensable, p.confidence];
}

/** The readable report: one section per kind of subject, only the sections that have rows. */
export function renderTable(report: Report): string {
  const out: string[] = [];
  if (report.images.length) {
    const rows: string[][] = [];
    for (const img of report.images) {
      if (img.products.length === 0) rows.push([img.ref, '(no licensed product found)', '', '', '', '', '']);
      for (const p of img.products) rows.push([img.ref, ...productCells(p)]);
    }
    out.push('IMAGES\n' + textTable(['IMAGE', 'PRODUCT', 'EDITION', 'VERSION', 'METRIC', 'LICENSABLE', 'CONFIDENCE'], rows));
  }
  if (report.containers.length) {
    const rows: string[][] = [];
    for (const c of report.containers) {
      const where = [c.namespace, c.pod, c.name].filter(Boolean).join('/');
      if (c.products.length === 0) rows.push([c.node ?? '-', where || c.id.slice(0, 12), c.method, '(none)', '', '']);
      for (const p of c.products) rows.push([c.node ?? '-', where || c.id.slice(0, 12), c.method, p.product, p.edition ?? '-', p.version ?? '-']);
    }
    out.push('CONTAINERS\n' + textTable(['NODE', 'CONTAINER', 'METHOD', 'PRODUCT', 'EDITION', 'VERSION'], rows));
  }
  if (report.nodes.length) {
    const rows = report.nodes.map((n) => [
      n.name,
      String(n.cpu),
      n.gpus.map((g) => `${g.count}x ${g.product ?? 'unknown'}`).join(', ') || '-',
      n.gpus.map((g) => g.sku ?? 'unknown').join(', ') || '-',
      [...new Set(n.products.map((p) => p.product))].join(', ') || '-',
    ]);
    out.push('NODES\n' + textTable(['NODE', 'CPU', 'GPUS', 'SKU', 'PRODUCTS'], rows));
  }
  if (report.usage.length) {
    const rows = report.usage.map((u) => [u.productName, u.metric, String(u.quantity), u.pvu === null ? '-' : String(u.pvu), u.scope, u.rule]);
    out.push('LICENCE USAGE\n' + textTable(['PRODUCT', 'METRIC', 'QUANTITY', 'PVU', 'SCOPE', 'RULE'], rows));
  }
  if (report.gpuSkus.length) {
    const rows = report.gpuSkus.map((g) => [g.sku ?? 'unknown (no GPU product label)', String(g.gpus), g.nodes.join(', ')]);
    out.push('GPU SKUS\n' + textTable(['SKU', 'GPUS', 'NODES'], rows));
  }
  const entitlements = report.entitlements as Array<Record<string, unknown>> | undefined;
  if (Array.isArray(entitlements) && entitlements.length) {
    const rows = entitlements.map((e) => [String(e.product), String(e.metric), String(e.used), String(e.owned), `${e.percentage}%`, String(e.status)]);
    out.push('ENTITLEMENTS\n' + textTable(['PRODUCT', 'METRIC', 'USED', 'OWNED', '%', 'STATUS'], rows));
  }
  if (report.errors.length) {
    out.push('ERRORS\n' + textTable(['TARGET', 'MESSAGE'], report.errors.map((e) => [e.target, e.message])));
  }
  if (out.length === 0) out.push('Nothing scanned.\n');
  return out.join('\n');
}
