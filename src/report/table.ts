/**
 * The readable text report (`-o table`, the default, and `-o wide`) and the tables it is made of.
 * kubectl's habits: no borders, two spaces between columns, the default view fits the terminal
 * (RULE, CONFIDENCE and METRIC only in `-o wide`), and cells too long for the terminal end in "…".
 * Output that is not a terminal is not cut (as kubectl), unless a width is given.
 */
import Table from 'cli-table3';
import type { Report } from '../model/report.js';
import type { ProductFinding } from '../model/finding.js';

export interface TableOptions {
  /** `-o wide`: every column, nothing shortened. */
  wide?: boolean;
  /** The terminal width to fit into; undefined: no limit. */
  width?: number;
}

const GAP = 2;
const MIN_COLUMN = 6;

/** Column widths that fit `width`: the widest columns give up room first, none below MIN_COLUMN (or its header). */
export function fitWidths(natural: number[], minimums: number[], width: number | undefined): number[] {
  const widths = [...natural];
  if (!width) return widths;
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1);
  while (total() > width) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) if (widths[i] > minimums[i] && (widest < 0 || widths[i] > widths[widest])) widest = i;
    if (widest < 0) break; // nothing left to give: the terminal is narrower than the headers
    // Down to the next widest column at most (one at a time on a tie), so wide columns give up room evenly.
    const next = Math.max(0, ...widths.filter((_, i) => i !== widest));
    const cut = Math.max(1, Math.min(total() - width, widths[widest] - next));
    widths[widest] = Math.max(minimums[widest], widths[widest] - cut);
  }
  return widths;
}

/** Text table in kubectl's style (cli-table3 with no borders), fitted to `width` when given. */
export function textTable(header: string[], rows: string[][], width?: number): string {
  const natural = header.map((h, i) => Math.max(h.length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const minimums = header.map((h, i) => Math.min(natural[i], Math.max(MIN_COLUMN, h.length)));
  const widths = fitWidths(natural, minimums, width);
  const table = new Table({
    head: header,
    // cli-table3 counts padding inside colWidths; the gap is every column's right padding (trimmed at the line end).
    colWidths: widths.map((w) => w + GAP),
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '' },
    style: { 'padding-left': 0, 'padding-right': GAP, head: [], border: [], compact: true },
    truncate: '…',
    wordWrap: false,
  });
  for (const r of rows) table.push(header.map((_, i) => r[i] ?? ''));
  return (
    table
      .toString()
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n') + '\n'
  );
}

/** A long reference shortened for the default table: the file name of an archive path, the tail of a long name. */
export function shortRef(ref: string, max = 48): string {
  // An archive's file name says what it is (x.docker.tar, x.oci.tar); its directory rarely matters.
  const archive = /^(docker-archive|oci-archive|oci|host):(.*\/)([^/]+)$/.exec(ref);
  if (archive && ref.length > max) return `…/${archive[3]}`;
  if (ref.length <= max) return ref;
  return `…${ref.slice(ref.length - max + 1)}`;
}

/** Words wrapped to `width` (no limit: one line), continuation lines indented. */
export function wrap(text: string, width: number | undefined, indent: string): string {
  if (!width || text.length <= width) return `${text}\n`;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    const next = line ? `${line} ${word}` : word;
    if (next.length > width && line) {
      lines.push(line);
      line = `${indent}${word}`;
    } else line = next;
  }
  if (line) lines.push(line);
  // A single word longer than the line is cut, so no line is wider than the terminal.
  return lines.map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l)).join('\n') + '\n';
}

function licensableCell(p: ProductFinding): string {
  return p.licensable === null ? '?' : p.licensable ? 'yes' : 'no (free)';
}

/** The readable report: one section per kind of subject, only the sections that have rows. */
export function renderTable(report: Report, opts: TableOptions = {}): string {
  const wide = opts.wide === true;
  const width = wide ? undefined : opts.width;
  const ref = (r: string) => (wide ? r : shortRef(r));
  const out: string[] = [];
  if (report.images.length) {
    const header = wide ? ['IMAGE', 'PRODUCT', 'EDITION', 'VERSION', 'METRIC', 'LICENSABLE', 'CONFIDENCE'] : ['IMAGE', 'PRODUCT', 'EDITION', 'VERSION', 'LICENSABLE'];
    const rows: string[][] = [];
    for (const img of report.images) {
      if (img.products.length === 0) rows.push([ref(img.ref), '(no licensed product found)', '', '', '', '', '']);
      for (const p of img.products) {
        rows.push(wide ? [img.ref, p.product, p.edition ?? '-', p.version ?? '-', p.licenseMetric, licensableCell(p), p.confidence] : [ref(img.ref), p.product, p.edition ?? '-', p.version ?? '-', licensableCell(p)]);
      }
    }
    out.push('IMAGES\n' + textTable(header, rows, width));
  }
  if (report.containers.length) {
    const header = wide ? ['NODE', 'CONTAINER', 'METHOD', 'IMAGE', 'PRODUCT', 'EDITION', 'VERSION', 'METRIC', 'CONFIDENCE'] : ['NODE', 'CONTAINER', 'METHOD', 'PRODUCT', 'EDITION', 'VERSION'];
    const rows: string[][] = [];
    for (const c of report.containers) {
      const where = [c.namespace, c.pod, c.name].filter(Boolean).join('/') || c.id.slice(0, 12);
      const lead = wide ? [c.node ?? '-', where, c.method, c.image ?? '-'] : [c.node ?? '-', where, c.method];
      if (c.products.length === 0) rows.push([...lead, '(none)', '', '', '', '']);
      for (const p of c.products) rows.push([...lead, p.product, p.edition ?? '-', p.version ?? '-', ...(wide ? [p.licenseMetric, p.confidence] : [])]);
    }
    out.push('CONTAINERS\n' + textTable(header, rows, width));
  }
  if (report.finishedContainers?.length) {
    const rows = report.finishedContainers.map((c) => [[c.namespace, c.pod, c.name].filter(Boolean).join('/'), c.phase ?? '-', [...new Set(c.products.map((p) => p.product))].join(', ') || '-']);
    out.push('FINISHED PODS (not counted)\n' + textTable(['CONTAINER', 'PHASE', 'PRODUCTS'], rows, width));
  }
  if (report.nodes.length) {
    const rows = report.nodes.map((n) => [
      n.name,
      String(n.cpu),
      n.gpus.map((g) => `${g.count}x ${g.product ?? 'unknown'}`).join(', ') || '-',
      n.gpus.map((g) => g.sku ?? 'unknown').join(', ') || '-',
      [...new Set(n.products.map((p) => p.product))].join(', ') || '-',
    ]);
    out.push('NODES\n' + textTable(['NODE', 'CPU', 'GPUS', 'SKU', 'PRODUCTS'], rows, width));
  }
  if (report.usage.length) {
    // The rule is a sentence: in the default view a note number points to it under the table.
    const notes: string[] = [];
    const noteOf = (rule: string) => {
      if (!rule) return '-';
      if (!notes.includes(rule)) notes.push(rule);
      return `[${notes.indexOf(rule) + 1}]`;
    };
    const header = ['PRODUCT', 'METRIC', 'QUANTITY', 'PVU', 'SCOPE', 'SKU', 'RULE'];
    const rows = report.usage.map((u) => [u.productName, u.metric, String(u.quantity), u.pvu === null ? '-' : String(u.pvu), u.scope, (u.sku as string | null | undefined) ?? '-', wide ? u.rule : noteOf(u.rule)]);
    const footnotes = notes.map((n, i) => wrap(`[${i + 1}] ${n}`, width, '    ')).join('');
    out.push('LICENCE USAGE\n' + textTable(header, rows, width) + footnotes);
  }
  if (report.gpuSkus.length) {
    // Every GPU by SKU, licensed or not; the gated columns say which need an NVAIE licence.
    const rows = report.gpuSkus.map((g) => [g.sku ?? 'unknown (no GPU product label)', String(g.gpus), g.nodes.join(', '), String(g.nvaieGatedGpus ?? 0), g.nvaieGatedNodes?.join(', ') || '-']);
    out.push('GPU INVENTORY BY SKU\n' + textTable(['SKU', 'GPUS', 'NODES', 'NVAIE-GATED GPUS', 'GATED NODES'], rows, width));
  }
  const entitlements = report.entitlements;
  if (entitlements?.length) {
    // Nothing owned has no percentage: '-', never "null%".
    const rows = entitlements.map((e) => [e.product, e.metric, String(e.used), String(e.owned), e.percentage === null ? '-' : `${e.percentage}%`, e.status]);
    out.push('ENTITLEMENTS\n' + textTable(['PRODUCT', 'METRIC', 'USED', 'OWNED', '%', 'STATUS'], rows, width));
  }
  if (report.errors.length) {
    out.push('ERRORS\n' + textTable(['TARGET', 'MESSAGE'], report.errors.map((e) => [e.target, e.message]), width));
  }
  if (out.length === 0) out.push('Nothing scanned.\n');
  return out.join('\n');
}
