/**
 * The readable text report (`-o table`, the default, and `-o wide`) and the tables it is made of.
 * kubectl's habits: no borders, two spaces between columns, the default view fits the terminal
 * (RULE, CONFIDENCE and METRIC only in `-o wide`), and cells too long for the terminal end in "…".
 * Output that is not a terminal is not cut (as kubectl), unless a width is given.
 */
import Table from 'cli-table3';
import type { Report } from '../model/report.js';
import type { ProductFinding } from '../model/finding.js';
import type { AgentCoverageReport } from '../model/usage-report.js';

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

/** Natural widths and the widths that fit `width`, from every row (cells counted in code points). */
function columnWidths(header: string[], rows: Iterable<string[]>, width: number | undefined): number[] {
  const natural = header.map((h) => h.length);
  for (const r of rows) {
    for (let i = 0; i < natural.length; i++) {
      const cell = r[i] ?? '';
      // code points, as the terminal shows them; the common all-ASCII cell needs no spread
      const len = cell.length > natural[i] ? [...cell].length : 0;
      if (len > natural[i]) natural[i] = len;
    }
  }
  const minimums = header.map((h, i) => Math.min(natural[i], Math.max(MIN_COLUMN, h.length)));
  return fitWidths(natural, minimums, width);
}

/** Text table in kubectl's style (cli-table3 with no borders), fitted to `width` when given. */
export function textTable(header: string[], rows: string[][], width?: number): string {
  if (rows.length > PLAIN_ROWS) return [...plainTable(header, () => rows, width)].join('');
  const widths = columnWidths(header, rows, width);
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

/**
 * Past this many rows a table is written as plain aligned columns as the rows come (what kubectl
 * does with a large list): cli-table3 lays out every cell of a table in memory first, and a
 * 50,000-pod cluster's CONTAINERS table (66,000 rows) took minutes. The look is cli-table3's,
 * character for character, for cells of single-width characters (a test compares both).
 */
export const PLAIN_ROWS = 1000;

function cut(text: string, width: number): string {
  if (text.length <= width) return text;
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`;
}

function pad(text: string, width: number): string {
  const len = text.length <= width ? text.length : [...text].length;
  return len >= width ? text : text + ' '.repeat(width - len);
}

/** One row's lines: a cell holding line breaks makes the row that many lines tall (as cli-table3 does). */
function rowLines(cells: string[], widths: number[]): string {
  const split = cells.some((c) => c.includes('\n'));
  if (!split) return `${cells.map((c, i) => pad(cut(c, widths[i]), widths[i] + GAP)).join('').trimEnd()}\n`;
  const parts = cells.map((c) => c.split('\n'));
  const height = Math.max(...parts.map((p) => p.length));
  let out = '';
  for (let k = 0; k < height; k++) out += `${parts.map((p, i) => pad(cut(p[k] ?? '', widths[i]), widths[i] + GAP)).join('').trimEnd()}\n`;
  return out;
}

/**
 * A table as pieces of text, rows read twice from `rows()`: once for the column widths, once to
 * write them, so no more than a batch of lines is held however long the table.
 */
export function* plainTable(header: string[], rows: () => Iterable<string[]>, width?: number): Generator<string> {
  const widths = columnWidths(header, rows(), width);
  let batch = rowLines(header, widths);
  for (const r of rows()) {
    batch += rowLines(header.map((_, i) => r[i] ?? ''), widths);
    if (batch.length >= 1 << 16) {
      yield batch;
      batch = '';
    }
  }
  yield batch;
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

/** A table from rows made on demand: cli-table3 for a small one, plain columns streamed for a large one. */
function* tableOf(header: string[], rows: () => Iterable<string[]>, count: number, width: number | undefined): Generator<string> {
  if (count > PLAIN_ROWS) yield* plainTable(header, rows, width);
  else yield textTable(header, [...rows()], width);
}

/** The readable report: one section per kind of subject, only the sections that have rows. */
export function renderTable(report: Report, opts: TableOptions = {}): string {
  return [...tablePieces(report, opts)].join('');
}

/**
 * The readable report as pieces of text, for writing as they are made: a large cluster's
 * tables are tens of MB of text, never one string.
 */
export function* tablePieces(report: Report, opts: TableOptions = {}): Generator<string> {
  const wide = opts.wide === true;
  const width = wide ? undefined : opts.width;
  const ref = (r: string) => (wide ? r : shortRef(r));
  let sections = 0;
  const title = (text: string) => `${sections++ ? '\n' : ''}${text}\n`;
  if (report.images.length) {
    const header = wide ? ['IMAGE', 'PRODUCT', 'EDITION', 'VERSION', 'METRIC', 'LICENSABLE', 'CONFIDENCE'] : ['IMAGE', 'PRODUCT', 'EDITION', 'VERSION', 'LICENSABLE'];
    const rows = function* (): Generator<string[]> {
      for (const img of report.images) {
        if (img.products.length === 0) yield [ref(img.ref), '(no licensed product found)', '', '', '', '', ''];
        for (const p of img.products) {
          yield wide ? [img.ref, p.product, p.edition ?? '-', p.version ?? '-', p.licenseMetric, licensableCell(p), p.confidence] : [ref(img.ref), p.product, p.edition ?? '-', p.version ?? '-', licensableCell(p)];
        }
      }
    };
    yield title('IMAGES');
    yield* tableOf(header, rows, rowCount(report.images), width);
  }
  if (report.containers.length) {
    const header = wide ? ['NODE', 'CONTAINER', 'METHOD', 'IMAGE', 'PRODUCT', 'EDITION', 'VERSION', 'METRIC', 'CONFIDENCE'] : ['NODE', 'CONTAINER', 'METHOD', 'PRODUCT', 'EDITION', 'VERSION'];
    const rows = function* (): Generator<string[]> {
      for (const c of report.containers) {
        const where = [c.namespace, c.pod, c.name].filter(Boolean).join('/') || c.id.slice(0, 12);
        const lead = wide ? [c.node ?? '-', where, c.method, c.image ?? '-'] : [c.node ?? '-', where, c.method];
        if (c.products.length === 0) yield [...lead, '(none)', '', '', '', ''];
        for (const p of c.products) yield [...lead, p.product, p.edition ?? '-', p.version ?? '-', ...(wide ? [p.licenseMetric, p.confidence] : [])];
      }
    };
    yield title('CONTAINERS');
    yield* tableOf(header, rows, rowCount(report.containers), width);
  }
  const finished = report.finishedContainers ?? [];
  if (finished.length) {
    const rows = function* (): Generator<string[]> {
      for (const c of finished) yield [[c.namespace, c.pod, c.name].filter(Boolean).join('/'), c.phase ?? '-', [...new Set(c.products.map((p) => p.product))].join(', ') || '-'];
    };
    yield title('FINISHED PODS (not counted)');
    yield* tableOf(['CONTAINER', 'PHASE', 'PRODUCTS'], rows, finished.length, width);
  }
  if (report.nodes.length) {
    const rows = function* (): Generator<string[]> {
      for (const n of report.nodes) {
        yield [
          n.name,
          String(n.cpu),
          n.gpus.map((g) => `${g.count}x ${g.product ?? 'unknown'}`).join(', ') || '-',
          n.gpus.map((g) => g.sku ?? 'unknown').join(', ') || '-',
          [...new Set(n.products.map((p) => p.product))].join(', ') || '-',
        ];
      }
    };
    yield title('NODES');
    yield* tableOf(['NODE', 'CPU', 'GPUS', 'SKU', 'PRODUCTS'], rows, report.nodes.length, width);
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
    yield title('LICENCE USAGE');
    yield* tableOf(header, () => rows, rows.length, width);
    yield notes.map((n, i) => wrap(`[${i + 1}] ${n}`, width, '    ')).join('');
  }
  if (report.gpuSkus.length) {
    // Every GPU by SKU, licensed or not; the gated columns say which need an NVAIE licence.
    const rows = report.gpuSkus.map((g) => [g.sku ?? 'unknown (no GPU product label)', String(g.gpus), g.nodes.join(', '), String(g.nvaieGatedGpus ?? 0), g.nvaieGatedNodes?.join(', ') || '-']);
    yield title('GPU INVENTORY BY SKU');
    yield* tableOf(['SKU', 'GPUS', 'NODES', 'NVAIE-GATED GPUS', 'GATED NODES'], () => rows, rows.length, width);
  }
  const entitlements = report.entitlements;
  if (entitlements?.length) {
    // Nothing owned has no percentage: '-', never "null%".
    const rows = entitlements.map((e) => [e.product, e.metric, String(e.used), String(e.owned), e.percentage === null ? '-' : `${e.percentage}%`, e.status]);
    yield title('ENTITLEMENTS');
    yield* tableOf(['PRODUCT', 'METRIC', 'USED', 'OWNED', '%', 'STATUS'], () => rows, rows.length, width);
  }
  const coverage = (report as { agentCoverage?: AgentCoverageReport }).agentCoverage;
  if (coverage) {
    yield sections++ ? '\n' : '';
    yield renderAgentCoverage([coverage]);
  }
  if (report.errors.length) {
    yield title('ERRORS');
    yield* tableOf(['TARGET', 'MESSAGE'], () => report.errors.map((e) => [e.target, e.message]), report.errors.length, width);
  }
  if (sections === 0) yield 'Nothing scanned.\n';
}

/** Rows of a subject table: one per product, one for a subject without any. */
function rowCount(subjects: Array<{ products: unknown[] }>): number {
  let n = 0;
  for (const s of subjects) n += Math.max(1, s.products.length);
  return n;
}

/**
 * NODE AGENTS: per cluster how many nodes an agent covers, and each node without one (seen by
 * central sweeps only: no host reads, no hardware inventory for PVU and sub-capacity evidence).
 */
export function renderAgentCoverage(coverage: AgentCoverageReport[]): string {
  const rows = coverage.map((c) => [c.clusterId, `${c.covered} of ${c.nodes.length}`, c.uncovered.join(', ') || '-']);
  return `NODE AGENTS (as of ${coverage[0].at})\n${textTable(['CLUSTER', 'NODES COVERED', 'NO AGENT ON'], rows)}`;
}
