import type { Report } from '../model/report.js';
import { badInput } from '../errors.js';
import { renderTable } from './table.js';

/** Every report format, the one list `--format` offers. */
export const FORMATS = ['table', 'json', 'csv', 'cyclonedx', 'ndi'] as const;
export type Format = (typeof FORMATS)[number];

/**
 * A report in one format: one document (table text, JSON, CycloneDX JSON) as a string, or several
 * named files (CSV tables, .ndi per node and image) that go into the -o directory. The file
 * formats load their modules only when asked for (start-up of a table or JSON scan).
 */
export async function renderReport(format: string, report: Report): Promise<string | Map<string, string>> {
  switch (format) {
    case 'json':
      return JSON.stringify(report, null, 2) + '\n';
    case 'table':
      return renderTable(report);
    case 'csv':
    case 'cyclonedx':
    case 'ndi':
      return renderFormat(format, report);
    default:
      throw badInput(`unknown format '${format}'`, `use one of ${FORMATS.join(', ')}`);
  }
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
