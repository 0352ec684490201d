import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { badInput } from '../errors.js';
import { collectProbes, compilePlan } from './plan.js';
import { bundleKey, readBundle } from './bundle.js';
import { withValidatedRegexes } from './regex.js';
import { compileSignature, type DataFiles } from './compile.js';
import { SignatureFileError } from './rules/common.js';
import { bestError, fieldPathSegments, fixFor } from './schema-errors.js';
import type { Signature, SignatureSet } from './types.js';

export type { Signature, SignatureSet } from './types.js';

/** Bumped whenever matching semantics change: part of the set version (layer-cache keys). */
export const MATCHER_VERSION = '3';


/** Walks up from this module to the repo root holding signatures/ (works from src/ and dist/). */
export function repoSignaturesDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'signatures');
    if (existsSync(path.join(candidate, 'signature.schema.json'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw badInput(
        'cannot find the signatures/ directory next to the kensus installation',
        'reinstall kensus or pass the signatures directory explicitly',
      );
    }
    dir = parent;
  }
}

let validatorCache: { schemaPath: string; validate: ValidateFunction } | undefined;

async function signatureValidator(schemaPath: string): Promise<ValidateFunction> {
  if (validatorCache?.schemaPath === schemaPath) return validatorCache.validate;
  const schema = JSON.parse(await readFile(schemaPath, 'utf8')) as object;
  // Loaded only when a file must really be validated (not when the build's bundle is current).
  const { Ajv } = await import('ajv');
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  validatorCache = { schemaPath, validate };
  return validate;
}

/** How many nodes YAML aliases may expand to in one signature file (the yaml library's maxAliasCount). */
const MAX_ALIAS_EXPANSIONS = 100;

/** Parses and validates one signature file's text; throws KensusError naming file, field, fix. */
export async function parseSignature(text: string, displayName: string, schemaPath: string, data: DataFiles = new Map()): Promise<Signature> {
  const { LineCounter, parseDocument } = await import('yaml');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const pos = lineCounter.linePos(e.pos[0]);
    throw badInput(
      `${displayName}: line ${pos.line}: invalid YAML: ${e.message.split('\n')[0]}`,
      'fix the YAML syntax (indentation, quotes, colons)',
    );
  }
  // Aliases are expanded by toJS: a few nested ones make a billion nodes ("billion laughs").
  // Signature files need next to none; past the bound the file is refused, by name.
  let parsed: unknown;
  try {
    parsed = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
  } catch (err) {
    throw badInput(
      `${displayName}: its YAML aliases expand past ${MAX_ALIAS_EXPANSIONS} nodes (${(err as Error).message.split('\n')[0]})`,
      'write the values out instead of repeating them through *aliases',
    );
  }
  const lineOf = (field: Array<string | number>): string => {
    for (let n = field.length; n > 0; n--) {
      const node = doc.getIn(field.slice(0, n), true) as { range?: [number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return ` (line ${lineCounter.linePos(node.range[0]).line})`;
    }
    return '';
  };
  const validate = await signatureValidator(schemaPath);
  if (!validate(parsed)) {
    const err = bestError(validate.errors ?? []);
    const { field, what, fix } = fixFor(err);
    throw badInput(`${displayName}: ${field}${lineOf(fieldPathSegments(err.instancePath))}: ${what}: ${fix}`);
  }
  try {
    return compileSignature(parsed as Record<string, unknown>, displayName, data);
  } catch (err) {
    if (err instanceof SignatureFileError) {
      const segs = err.field.replace(/\[(\d+)\]/g, '.$1').split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
      throw badInput(`${displayName}: ${err.field}${lineOf(segs)}: ${err.what}: ${err.fix}`);
    }
    throw err;
  }
}

/**
 * Loads every signatures/*.yaml (default: the repository's signatures/), validates it against
 * signature.schema.json plus semantic checks, and compiles the probe plan.
 */
export async function loadSignatureSet(dir?: string): Promise<SignatureSet> {
  const root = dir ?? repoSignaturesDir();
  let names: string[];
  try {
    names = (await readdir(root)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (err) {
    throw badInput(
      `cannot read the signatures directory ${root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      'point to a directory holding signature YAML files',
    );
  }
  const schemaPath = existsSync(path.join(root, 'signature.schema.json'))
    ? path.join(root, 'signature.schema.json')
    : path.join(repoSignaturesDir(), 'signature.schema.json');
  const hash = createHash('sha256').update(`matcher:${MATCHER_VERSION}\n`);
  const signatures: Signature[] = [];
  const seen = new Map<string, string>();
  const display = path.basename(root);
  const texts = await Promise.all(names.map((name) => readFile(path.join(root, name), 'utf8')));
  // Data files (tables rules refer to) of the directory; like the schema, the shipped ones stand
  // in for those a copied directory lacks.
  const dataNames = await dataFileNames(root);
  const dataDirs = dataNames.map(() => root);
  const shipped = repoSignaturesDir();
  if (path.resolve(shipped) !== path.resolve(root)) {
    for (const name of await dataFileNames(shipped)) {
      if (!dataNames.includes(name)) {
        dataNames.push(name);
        dataDirs.push(shipped);
      }
    }
  }
  const dataTexts = await Promise.all(dataNames.map((name, i) => readFile(path.join(dataDirs[i], name), 'utf8')));
  // The build validated the shipped files once (dist/signatures.bundle.json); when the files are
  // still those, their validated data is used as it is and YAML and JSON Schema are not loaded.
  const bundled = await readBundle(bundleKey([...names, ...dataNames], [...texts, ...dataTexts], await readFile(schemaPath, 'utf8')));
  const data = new Map<string, unknown>();
  for (const [i, name] of dataNames.entries()) {
    hash.update(`${name}\n${dataTexts[i].length}\n${dataTexts[i]}\n`);
    const shown = dataDirs[i] === root ? `${display}/${name}` : path.join(dataDirs[i], name);
    data.set(path.basename(name).replace(/\.ya?ml$/, ''), bundled?.[name] ?? (await parseDataFile(dataTexts[i], shown)));
  }
  for (const [i, name] of names.entries()) {
    const text = texts[i];
    hash.update(`${name}\n${text.length}\n${text}\n`);
    const raw = bundled?.[name];
    // Data the build already validated (schema and semantic checks passed there).
    const sig = raw ? withValidatedRegexes(() => compileSignature(raw, `${display}/${name}`, data)) : await parseSignature(text, `${display}/${name}`, schemaPath, data);
    const other = seen.get(sig.id);
    if (other) {
      throw badInput(`${display}/${name}: id: "${sig.id}" is already used by ${other}: give each signature a unique id`);
    }
    seen.set(sig.id, `${display}/${name}`);
    signatures.push(sig);
  }
  // The plan also holds code-defined probes (package databases, SWID tags): hash what sources read.
  hash.update(JSON.stringify(collectProbes(signatures)));
  const version = `sig-${hash.digest('hex').slice(0, 16)}`;
  return { signatures, plan: compilePlan(signatures, version), version };
}

/** `data/*.yaml` of a signatures directory (tables rules refer to), as paths relative to it. */
export async function dataFileNames(root: string): Promise<string[]> {
  try {
    return (await readdir(path.join(root, 'data'))).filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => `data/${n}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw badInput(`cannot read ${path.join(root, 'data')}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'make the data directory readable');
  }
}

async function parseDataFile(text: string, displayName: string): Promise<unknown> {
  const { LineCounter, parseDocument } = await import('yaml');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length) {
    const pos = lineCounter.linePos(doc.errors[0].pos[0]);
    throw badInput(`${displayName}: line ${pos.line}: invalid YAML: ${doc.errors[0].message.split('\n')[0]}`, 'fix the YAML syntax (indentation, quotes, colons)');
  }
  return doc.toJS() as unknown;
}
