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

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
}

/**
 * Product ids in deny:/warn: must be ones Kensus can report: a typo would deny nothing, silently.
 * `ibm-<productID>` ids come from License Service annotations (any IBM product): they are taken
 * when they look like one (the productID part holds a digit), not when they look like a typo.
 */
function checkIds(ids: string[], field: string, file: string, known: ReadonlySet<string>): void {
  for (const id of ids) {
    if (known.has(id) || (/^ibm-[a-z0-9-]*\d[a-z0-9-]*$/.test(id) && !known.has(id.replace(/\d+$/, '')))) continue;
    const near = [...known].map((k) => [k, distance(id, k)] as const).sort((a, b) => a[1] - b[1])[0];
    throw badInput(
      `${file}: ${field}: unknown product id '${id}'${near && near[1] <= 3 ? ` (did you mean '${near[0]}'?)` : ''}`,
      'use the ids that kensus signatures list prints',
    );
  }
}

/** `knownIds`: the product ids findings can carry (signatures and image patterns); checked when given. */
export function parsePolicy(text: string, file = 'policy', knownIds?: ReadonlySet<string>): AdmissionPolicy {
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
  const deny = stringList(doc.deny, 'deny', file);
  const warn = stringList(doc.warn, 'warn', file);
  if (knownIds) {
    checkIds(deny, 'deny', file, knownIds);
    checkIds(warn, 'warn', file, knownIds);
  }
  return {
    mode,
    deny,
    warn,
    requireEntitlement: doc.requireEntitlement ?? defaultPolicy.requireEntitlement,
    requireIbmAnnotations: doc.requireIbmAnnotations ?? defaultPolicy.requireIbmAnnotations,
    excludeNamespaces: stringList(doc.namespaces?.exclude, 'namespaces.exclude', file).concat(
      doc.namespaces?.exclude ? [] : defaultPolicy.excludeNamespaces,
    ),
  };
}

export async function loadPolicy(file: string, knownIds?: ReadonlySet<string>): Promise<AdmissionPolicy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw badInput(`cannot read policy file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'give a readable YAML file with --policy');
  }
  return parsePolicy(text, file, knownIds);
}
