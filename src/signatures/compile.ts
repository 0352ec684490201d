/**
 * A signature's YAML data (schema-valid) → a Signature: every rule compiled by its kind's module
 * (rules/), regexes and globs checked, with errors naming the field and the fix.
 */
import type { EditionMapping, Rule, Signature, Strength } from './types.js';
import type { SignatureRegex } from './regex.js';
import { ruleKind } from './rules/index.js';
import { checkGlobs, compileRegex, hasGroup, SignatureFileError, type RawRule } from './rules/common.js';

/** Parsed data files of the signatures directory (data/<name>.yaml), by name without .yaml. */
export type DataFiles = ReadonlyMap<string, unknown>;

function compileRule(raw: RawRule, field: string, data: DataFiles): Rule {
  const flags = (raw.flags as string | undefined) ?? '';
  const source = raw.source === undefined ? [] : Array.isArray(raw.source) ? (raw.source as string[]) : [String(raw.source)];
  const common = {
    id: raw.id,
    strength: (raw.strength as Strength | undefined) ?? 'medium',
    support: (raw.support as boolean | undefined) ?? false,
    edition: raw.edition as string | undefined,
    source,
  };
  const extract = (raw.extract as string[] | undefined) ?? (raw.kind === 'content' ? ['version'] : []);
  const ignore = raw.ignore !== undefined ? checkGlobs(raw.ignore, `${field}.ignore`) : [];
  const checkExtract = (re: SignatureRegex | undefined, reField: string): void => {
    for (const group of extract) {
      if (!re || !hasGroup(re, group)) {
        throw new SignatureFileError(
          `${field}.${reField}`,
          `the rule extracts "${group}" but the regex has no (?<${group}>...) group`,
          `add a named group (?<${group}>...) or remove "${group}" from ${field}.extract`,
        );
      }
    }
  };
  return ruleKind(raw.kind).compile(raw, { field, flags, common, ignore, checkExtract, data: (name) => data.get(name) });
}

export function compileSignature(raw: Record<string, unknown>, file: string, data: DataFiles = new Map()): Signature {
  const ruleIds = new Set<string>();
  const rules = (key: 'evidence' | 'exclude'): Rule[] =>
    ((raw[key] as RawRule[] | undefined) ?? []).map((r, i) => {
      const field = `${key}[${i}]`;
      if (ruleIds.has(r.id)) {
        throw new SignatureFileError(`${field}.id`, `duplicate rule id "${r.id}"`, 'give every rule a unique id');
      }
      ruleIds.add(r.id);
      return compileRule(r, field, data);
    });
  const editions: EditionMapping[] = ((raw.editions as Array<Record<string, unknown>> | undefined) ?? []).map(
    (e, i) => ({
      name: String(e.name),
      match: compileRegex(String(e.match), 'i', `editions[${i}].match`),
      licensable: e.licensable as boolean | null | undefined,
    }),
  );
  const replace = ((raw.version as { replace?: Array<{ pattern: string; with: string }> } | undefined)?.replace ?? []).map(
    (r, i) => ({ pattern: compileRegex(r.pattern, 'g', `version.replace[${i}].pattern`), with: r.with }),
  );
  const evidence = rules('evidence');
  if (evidence.every((r) => r.support)) {
    throw new SignatureFileError('evidence', 'every rule is support: true, so nothing can find the product', 'make at least one rule an anchor (drop support: true)');
  }
  return {
    id: String(raw.id),
    vendor: String(raw.vendor),
    product: String(raw.product),
    licenseMetric: String(raw.licenseMetric),
    licensable: raw.licensable === undefined ? true : (raw.licensable as boolean | null),
    editions,
    versionReplace: replace,
    evidence,
    exclude: rules('exclude'),
    file,
  };
}
