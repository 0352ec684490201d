import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { badInput } from '../errors.js';

/**
 * Admission policy (YAML):
 *   mode: warn | deny          # what a violation does (default warn: never blocks a deploy)
 *   deny: [product-id, ...]    # products never allowed (e.g. an edition you do not own)
 *   warn: [product-id, ...]    # products allowed with a warning
 *   requireEntitlement: true   # licensable products need an entitlement (see --entitlements)
 *   requireIbmAnnotations: true  # IBM products must carry the License Service annotations
 *   namespaces: { exclude: [kube-system] }
 */
export interface AdmissionPolicy {
  mode: 'warn' | 'deny';
  deny: string[];
  warn: string[];
  requireEntitlement: boolean;
  requireIbmAnnotations: boolean;
  excludeNamespaces: string[];
}

export const defaultPolicy: AdmissionPolicy = {
  mode: 'warn',
  deny: [],
  warn: [],
  requireEntitlement: false,
  requireIbmAnnotations: true,
  excludeNamespaces: ['kube-system'],
};

function stringList(v: unknown, field: string, file: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw badInput(`${file}: ${field} must be a list of product ids`, `e.g. ${field}: [oracle-database]`);
  }
  return v as string[];
}

export function parsePolicy(text: string, file = 'policy'): AdmissionPolicy {
  let doc: any;
  try {
    doc = parse(text) ?? {};
  } catch (err) {
    throw badInput(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, 'fix the YAML syntax');
  }
  if (typeof doc !== 'object' || Array.isArray(doc)) throw badInput(`${file}: expected a mapping at the top`, 'see the README for the policy format');
  const known = new Set(['mode', 'deny', 'warn', 'requireEntitlement', 'requireIbmAnnotations', 'namespaces']);
  for (const k of Object.keys(doc)) if (!known.has(k)) throw badInput(`${file}: unknown field '${k}'`, `use one of ${[...known].join(', ')}`);
  const mode = doc.mode ?? 'warn';
  if (mode !== 'warn' && mode !== 'deny') throw badInput(`${file}: mode must be warn or deny, not '${mode}'`, 'set mode: warn or mode: deny');
  for (const k of ['requireEntitlement', 'requireIbmAnnotations']) {
    if (doc[k] !== undefined && typeof doc[k] !== 'boolean') throw badInput(`${file}: ${k} must be true or false`, `set ${k}: true`);
  }
  return {
    mode,
    deny: stringList(doc.deny, 'deny', file),
    warn: stringList(doc.warn, 'warn', file),
    requireEntitlement: doc.requireEntitlement ?? defaultPolicy.requireEntitlement,
    requireIbmAnnotations: doc.requireIbmAnnotations ?? defaultPolicy.requireIbmAnnotations,
    excludeNamespaces: stringList(doc.namespaces?.exclude, 'namespaces.exclude', file).concat(
      doc.namespaces?.exclude ? [] : defaultPolicy.excludeNamespaces,
    ),
  };
}

export async function loadPolicy(file: string): Promise<AdmissionPolicy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw badInput(`cannot read policy file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'give a readable YAML file with --policy');
  }
  return parsePolicy(text, file);
}
