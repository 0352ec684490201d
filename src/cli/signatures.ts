import { loadFixtures } from '../signatures/fixtures.js';
import { textTable } from './output.js';
import type { CommandResult } from './main.js';
import { loadSignatures } from './common.js';

/** `kensus signatures check [DIR]`: loads (and so validates) every signature and fixture. */
export async function runSignaturesCheck(dir?: string): Promise<CommandResult> {
  const set = await loadSignatures(dir);
  const fixtures = await loadFixtures(dir ? `${dir}/fixtures` : undefined);
  process.stdout.write(`${set.signatures.length} signatures and ${fixtures.length} fixtures are valid (signature set ${set.version}).\n`);
  return { report: null, exitCode: 0 };
}

/** `kensus signatures list [DIR]`: what Kensus can find. */
export async function runSignaturesList(dir?: string): Promise<CommandResult> {
  const set = await loadSignatures(dir);
  const rows = set.signatures.map((s) => [s.id, s.vendor, s.product, s.licenseMetric]);
  process.stdout.write(textTable(['ID', 'VENDOR', 'PRODUCT', 'METRIC'], rows));
  return { report: null, exitCode: 0 };
}
