import type { Report } from '../model/report.js';
import { badInput } from '../model/errors.js';
import { renderCsvFiles } from './csv.js';
import { renderCycloneDx } from './cyclonedx.js';
import { renderNdiFiles } from './ndi.js';

/**
 * The file formats of src/cli/output.ts: one document (CycloneDX JSON) as a string, or several
 * named files (CSV tables, .ndi per node and image) that go into the -o directory.
 */
export async function renderFormat(format: 'csv' | 'cyclonedx' | 'ndi', report: Report): Promise<string | Map<string, string>> {
  switch (format) {
    case 'csv':
      return renderCsvFiles(report);
    case 'ndi':
      return renderNdiFiles(report);
    case 'cyclonedx':
      return renderCycloneDx(report);
    default:
      throw badInput(`unknown format '${String(format)}'`, 'use csv, cyclonedx or ndi');
  }
}
