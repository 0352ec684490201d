import type { Report } from '../model/report.js';
import { badInput } from '../errors.js';

// yaml and the table renderer (cli-table3, colours) are imported where their format is asked
// for: main.ts imports FORMATS from here for every command, and a JSON scan needs neither.

/** Every report format, the one list `-o` / `--format` offers (kubectl's names first). */
export const FORMATS = ['table', 'wide', 'json', 'yaml', 'name', 'csv', 'cyclonedx', 'ndi'] as const;
export type Format = (typeof FORMATS)[number];

export function isFormat(s: string): s is Format {
  return (FORMATS as readonly string[]).includes(s);
}

export interface RenderOptions {
  /** Terminal width the default table fits into (undefined: no limit). */
  width?: number;
  /** Several files are wanted (an --output-file directory): CSV writes every table. */
  files?: boolean;
}

/**
 * A report in one format: one document (table text, JSON, YAML, names, CycloneDX JSON, one CSV
 * table) as a string, or several named files (every CSV table, .ndi per node and image) that go
 * into the --output-file directory. The file formats load their modules only when asked for.
 */
export async function renderReport(format: string, report: Report, opts: RenderOptions = {}): Promise<string | Map<string, string>> {
  switch (format) {
    case 'json':
      return JSON.stringify(report, null, 2) + '\n';
    case 'yaml':
      return (await import('yaml')).stringify(report, { lineWidth: 0 });
    case 'table':
      return (await import('./table.js')).renderTable(report, { width: opts.width });
    case 'wide':
      return (await import('./table.js')).renderTable(report, { wide: true });
    case 'name':
      return renderNames(report);
    case 'csv':
      if (!opts.files) return (await import('./csv.js')).renderCsvStream(report);
      return renderFormat(format, report);
    case 'cyclonedx':
    case 'ndi':
      return renderFormat(format, report);
    default:
      throw badInput(`unknown format '${format}'`, `use one of ${FORMATS.join(', ')}`);
  }
}

/**
 * `-o name`, as kubectl's `TYPE/NAME` lines: one `product/ID` line per product found, sorted,
 * each once (what a script asks first: which licensed products are in there).
 */
export function renderNames(report: Report): string {
  const ids = new Set<string>();
  for (const list of [report.images, report.containers, report.nodes]) for (const s of list) for (const p of s.products) ids.add(p.id);
  return [...ids]
    .sort()
    .map((id) => `product/${id}\n`)
    .join('');
}

/** The file formats: CSV tables, CycloneDX JSON, .ndi files. */
export async function renderFormat(format: 'csv' | 'cyclonedx' | 'ndi', report: Report): Promise<string | Map<string, string>> {
  switch (format) {
    case 'csv':
      return (await import('./csv.js')).renderCsvFiles(report);
    case 'ndi':
      return (await import('./ndi.js')).renderNdiFiles(report);
    case 'cyclonedx':
      return (await import('./cyclonedx.js')).renderCycloneDx(report);
    default:
      throw badInput(`unknown format '${String(format)}'`, 'use csv, cyclonedx or ndi');
  }
}
