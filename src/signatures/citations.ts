/**
 * Rules that cite nothing: a rule must say which public file or document shows the layout it
 * relies on (`source:`), so `kensus signatures check` names the ones that do not.
 */
import type { SignatureSet } from './types.js';

/** One line per uncited rule: file, field, rule id and the fix. */
export function uncitedRules(set: SignatureSet): string[] {
  const out: string[] = [];
  for (const sig of set.signatures) {
    for (const key of ['evidence', 'exclude'] as const) {
      sig[key].forEach((rule, i) => {
        if (!rule.source.length) {
          out.push(`${sig.file}: ${key}[${i}] (rule ${rule.id}): no source: cite the public file or document that shows the layout this rule relies on (source: a repository file, a vendor document or a package)`);
        }
      });
    }
  }
  return out;
}
