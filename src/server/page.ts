import type { Report } from '../model/report.js';

const esc = (s: unknown) =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function table(title: string, header: string[], rows: unknown[][]): string {
  if (rows.length === 0) return '';
  return `<section><h2>${esc(title)}</h2><table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table></section>`;
}

/** The web page: the latest report as plain HTML tables, no script, safe to open anywhere. */
export function renderPage(report: Report | null): string {
  const body = !report
    ? '<p class="empty">No sweep has finished yet. The first one is running.</p>'
    : [
        `<p>Scanned at ${esc(report.scannedAt)} by Kensus ${esc(report.tool.version)}: ${report.containers.length} containers, ${report.images.length} images, ${report.nodes.length} nodes, ${report.errors.length} errors.</p>`,
        table(
          'Entitlements',
          ['Product', 'Metric', 'Used', 'Owned', '%', 'Status'],
          ((report.entitlements as Array<Record<string, unknown>>) ?? []).map((e) => [e.product, e.metric, e.used, e.owned, e.percentage, e.status]),
        ),
        table('Licence usage', ['Product', 'Metric', 'Quantity', 'PVU', 'Scope', 'Rule'], report.usage.map((u) => [u.productName, u.metric, u.quantity, u.pvu ?? '', u.scope, u.rule])),
        table('GPU SKUs', ['SKU', 'GPUs', 'Nodes'], report.gpuSkus.map((s) => [s.sku ?? 'unknown', s.gpus, s.nodes.join(', ')])),
        table(
          'Nodes',
          ['Node', 'CPU', 'GPUs', 'Products'],
          report.nodes.map((n) => [n.name, n.cpu, n.gpus.map((x) => `${x.count}× ${x.product ?? 'unknown'} (${x.sku ?? 'SKU unknown'})`).join(', '), [...new Set(n.products.map((p) => p.product))].join(', ')]),
        ),
        table(
          'Containers',
          ['Namespace', 'Pod', 'Container', 'Node', 'Method', 'Products'],
          report.containers.map((c) => [c.namespace, c.pod, c.name, c.node, c.method, c.products.map((p) => `${p.product}${p.version ? ' ' + p.version : ''}`).join(', ')]),
        ),
        table(
          'Images',
          ['Image', 'Digest', 'Products'],
          report.images.map((i) => [i.ref, i.digest.slice(0, 19), i.products.map((p) => `${p.product}${p.edition ? ' ' + p.edition : ''}${p.version ? ' ' + p.version : ''}`).join(', ')]),
        ),
        table('Errors', ['Target', 'Message'], report.errors.map((e) => [e.target, e.message])),
      ].join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kensus — software census</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;min-width:40em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3}.empty{color:#666}
</style></head><body><h1>Kensus — licensed software in this cluster</h1>
${body}
<p><a href="/api/v1/report">report.json</a> · <a href="/metrics">metrics</a></p>
</body></html>
`;
}
