import { loadFixtures } from '../fixtures/load.js';
import { textTable } from '../report/table.js';
import type { CommandResult } from './command.js';
import { tableWidth } from './output.js';
import { uncitedRules } from '../signatures/citations.js';
import { loadSignatureSet } from '../signatures/load.js';

/**
 * `kensus signatures check [DIR]`: loads (and so validates) every signature and fixture, and warns
 * (on stderr, exit code still 0) about rules that cite no source.
 */
export async function runSignaturesCheck(dir?: string): Promise<CommandResult> {
  const set = await loadSignatureSet(dir);
  const fixtures = await loadFixtures(dir ? `${dir}/fixtures` : undefined);
  const uncited = uncitedRules(set);
  for (const line of uncited) process.stderr.write(`warning: ${line}\n`);
  process.stdout.write(
    `${set.signatures.length} signatures and ${fixtures.length} fixtures are valid (signature set ${set.version})${uncited.length ? `; ${uncited.length} rules cite no source` : ''}.\n`,
  );
  return { report: null, exitCode: 0 };
}

/** `kensus signatures list [DIR]`: what Kensus can find. */
export async function runSignaturesList(dir?: string): Promise<CommandResult> {
  const set = await loadSignatureSet(dir);
  const rows = set.signatures.map((s) => [s.id, s.vendor, s.product, s.licenseMetric]);
  process.stdout.write(textTable(['ID', 'VENDOR', 'PRODUCT', 'METRIC'], rows, tableWidth()));
  return { report: null, exitCode: 0 };
}
