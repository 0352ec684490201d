import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Minimatch } from 'minimatch';
import { badInput } from '../errors.js';
import { collectProbes, compilePlan } from './plan.js';
import { bundleKey, readBundle } from './bundle.js';
import type {
  EditionMapping,
  PackageManager,
  Rule,
  Signature,
  SignatureSet,
  Strength,
} from './types.js';

export type { Signature, SignatureSet } from './types.js';

/** Bumped whenever matching semantics change: part of the set version (layer-cache keys). */
export const MATCHER_VERSION = '1';

const DEFAULT_SWID_BYTES = 256 * 1024;
const GLOB_OPTIONS = { dot: true } as const;

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

/** `/evidence/2/pattern` -> `evidence[2].pattern` */
export function pointerToField(pointer: string): string {
  if (!pointer) return '(top level)';
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

function fieldPathSegments(pointer: string): Array<string | number> {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
}

/** Picks the most useful ajv error: the deepest one that is not a wrapper (if/allOf/oneOf). */
function bestError(errors: ErrorObject[]): ErrorObject {
  const concrete = errors.filter((e) => !['if', 'allOf', 'oneOf', 'anyOf'].includes(e.keyword));
  const pool = concrete.length ? concrete : errors;
  return pool.reduce((a, b) => (b.instancePath.length > a.instancePath.length ? b : a));
}

const PATTERN_FIXES: Record<string, string> = {
  '^(/|\\*\\*/)': 'write the glob as an absolute path (start with "/" or "**/")',
  '^[a-z0-9]+(-[a-z0-9]+)*$': 'use lower-case kebab-case (letters, digits, dashes)',
  '^[imsu]*$': 'use only the regex flags i, m, s, u',
  '^(/[^/\\u0000]+)+$': 'write an absolute path without a trailing slash',
};

function fixFor(err: ErrorObject): { field: string; what: string; fix: string } {
  const p = err.params as Record<string, unknown>;
  let field = pointerToField(err.instancePath);
  switch (err.keyword) {
    case 'additionalProperties': {
      const extra = String(p.additionalProperty);
      field = field === '(top level)' ? extra : `${field}.${extra}`;
      return { field, what: 'unknown field', fix: `remove "${extra}" or correct its spelling` };
    }
    case 'required': {
      const missing = String(p.missingProperty);
      field = field === '(top level)' ? missing : `${field}.${missing}`;
      return { field, what: 'missing', fix: `add "${missing}"` };
    }
    case 'enum':
      return {
        field,
        what: 'not an allowed value',
        fix: `use one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'type':
      return { field, what: `must be ${String(p.type)}`, fix: `make it ${/^[aeiou]/.test(String(p.type)) ? 'an' : 'a'} ${String(p.type)}` };
    case 'pattern':
      return {
        field,
        what: `does not match ${String(p.pattern)}`,
        fix: PATTERN_FIXES[String(p.pattern)] ?? `make it match ${String(p.pattern)}`,
      };
    case 'not':
      return { field, what: 'is not allowed here', fix: "write a normalised path (no '.' or '..' segments)" };
    case 'minItems':
    case 'minLength':
      return { field, what: 'is empty', fix: 'give at least one value' };
    default:
      return { field, what: err.message ?? 'invalid', fix: 'see signatures/signature.schema.json' };
  }
}

/** "field: what: fix" for the most useful of ajv's errors. */
export function describeSchemaError(errors: ErrorObject[]): string {
  const { field, what, fix } = fixFor(bestError(errors));
  return `${field}: ${what}: ${fix}`;
}

class SignatureFileError extends Error {
  constructor(
    readonly field: string,
    readonly what: string,
    readonly fix: string,
  ) {
    super(what);
  }
}

function compileRegex(source: string, flags: string, field: string): RegExp {
  try {
    return new RegExp(source, flags);
  } catch (err) {
    throw new SignatureFileError(
      field,
      `invalid regular expression /${source}/: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`,
      'fix the regex',
    );
  }
}

function hasGroup(re: RegExp, name: string): boolean {
  // A throwaway match against '' cannot reveal groups; parse the source instead.
  return new RegExp(`\\(\\?<${name}>`).test(re.source);
}

function checkGlobs(value: unknown, field: string): string[] {
  const globs = Array.isArray(value) ? (value as string[]) : [value as string];
  globs.forEach((g, i) => {
    const f = Array.isArray(value) ? `${field}[${i}]` : field;
    if (g.split('/').includes('..')) {
      throw new SignatureFileError(f, `glob "${g}" contains ".."`, 'write a normalised absolute glob');
    }
    if (!globSyntaxOk(g)) {
      throw new SignatureFileError(f, `invalid glob "${g}"`, 'fix the glob syntax (balanced [] and {})');
    }
  });
  return globs;
}

/** Brackets and braces balanced, no empty path segment: what minimatch would silently mis-read. */
export function globSyntaxOk(glob: string): boolean {
  if (glob.includes('//')) return false;
  let square = false;
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (square) {
      if (ch === ']') square = false;
      continue;
    }
    if (ch === '[') square = true;
    else if (ch === ']') return false;
    else if (ch === '{') braces++;
    else if (ch === '}' && --braces < 0) return false;
  }
  return !square && braces === 0 && new Minimatch(glob, GLOB_OPTIONS).set.length > 0;
}

type RawRule = Record<string, unknown> & { id: string; kind: Rule['kind'] };

function compileRule(raw: RawRule, field: string): Rule {
  const flags = (raw.flags as string | undefined) ?? '';
  const common = {
    id: raw.id,
    strength: (raw.strength as Strength | undefined) ?? 'medium',
    support: (raw.support as boolean | undefined) ?? false,
    edition: raw.edition as string | undefined,
  };
  const extract = (raw.extract as string[] | undefined) ?? (raw.kind === 'content' ? ['version'] : []);
  const ignore = raw.ignore !== undefined ? checkGlobs(raw.ignore, `${field}.ignore`) : [];
  const checkExtract = (re: RegExp | undefined, reField: string): void => {
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
  switch (raw.kind) {
    case 'file': {
      const pathPattern =
        raw.pathPattern !== undefined ? compileRegex(String(raw.pathPattern), flags, `${field}.pathPattern`) : undefined;
      checkExtract(pathPattern, 'pathPattern');
      return { ...common, kind: 'file', globs: checkGlobs(raw.glob, `${field}.glob`), ignore, pathPattern };
    }
    case 'content': {
      const pattern = compileRegex(String(raw.pattern), flags, `${field}.pattern`);
      checkExtract(pattern, 'pattern');
      const list = (key: 'require' | 'unless'): RegExp[] =>
        ((raw[key] as string[] | undefined) ?? []).map((s, i) => compileRegex(s, flags, `${field}.${key}[${i}]`));
      return {
        ...common,
        kind: 'content',
        globs: checkGlobs(raw.glob, `${field}.glob`),
        ignore,
        pattern,
        require: list('require'),
        unless: list('unless'),
        maxBytes: raw.maxBytes as number,
      };
    }
    case 'package': {
      const name = compileRegex(`^(?:${String(raw.name)})$`, flags, `${field}.name`);
      checkExtract(name, 'name');
      return {
        ...common,
        kind: 'package',
        managers: (raw.managers as PackageManager[] | undefined) ?? ['dpkg', 'rpm', 'apk'],
        name,
        version: (raw.version as 'upstream' | 'full' | 'none' | undefined) ?? 'upstream',
      };
    }
    case 'swid': {
      const name = compileRegex(String(raw.name), flags, `${field}.name`);
      checkExtract(name, 'name');
      return {
        ...common,
        kind: 'swid',
        globs: checkGlobs(raw.glob ?? '**/*.swidtag', `${field}.glob`),
        ignore,
        name,
        regid: raw.regid !== undefined ? compileRegex(String(raw.regid), flags, `${field}.regid`) : undefined,
        maxBytes: (raw.maxBytes as number | undefined) ?? DEFAULT_SWID_BYTES,
      };
    }
    case 'label':
    case 'env':
    case 'annotation': {
      const value = raw.value !== undefined ? compileRegex(String(raw.value), flags, `${field}.value`) : undefined;
      checkExtract(value, 'value');
      return {
        ...common,
        kind: raw.kind,
        key: compileRegex(`^(?:${String(raw.key)})$`, flags, `${field}.key`),
        value,
      };
    }
    case 'imageRef': {
      const pattern = compileRegex(String(raw.pattern), flags, `${field}.pattern`);
      checkExtract(pattern, 'pattern');
      return { ...common, kind: 'imageRef', pattern };
    }
  }
}

function compileSignature(raw: Record<string, unknown>, file: string): Signature {
  const ruleIds = new Set<string>();
  const rules = (key: 'evidence' | 'exclude'): Rule[] =>
    ((raw[key] as RawRule[] | undefined) ?? []).map((r, i) => {
      const field = `${key}[${i}]`;
      if (ruleIds.has(r.id)) {
        throw new SignatureFileError(`${field}.id`, `duplicate rule id "${r.id}"`, 'give every rule a unique id');
      }
      ruleIds.add(r.id);
      return compileRule(r, field);
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

/** Parses and validates one signature file's text; throws KensusError naming file, field, fix. */
export async function parseSignature(text: string, displayName: string, schemaPath: string): Promise<Signature> {
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
  const data = doc.toJS() as unknown;
  const lineOf = (field: Array<string | number>): string => {
    for (let n = field.length; n > 0; n--) {
      const node = doc.getIn(field.slice(0, n), true) as { range?: [number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return ` (line ${lineCounter.linePos(node.range[0]).line})`;
    }
    return '';
  };
  const validate = await signatureValidator(schemaPath);
  if (!validate(data)) {
    const err = bestError(validate.errors ?? []);
    const { field, what, fix } = fixFor(err);
    throw badInput(`${displayName}: ${field}${lineOf(fieldPathSegments(err.instancePath))}: ${what}: ${fix}`);
  }
  try {
    return compileSignature(data as Record<string, unknown>, displayName);
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
  // The build validated the shipped files once (dist/signatures.bundle.json); when the files are
  // still those, their validated data is used as it is and YAML and JSON Schema are not loaded.
  const bundled = await readBundle(bundleKey(names, texts, await readFile(schemaPath, 'utf8')));
  for (const [i, name] of names.entries()) {
    const text = texts[i];
    hash.update(`${name}\n${text.length}\n${text}\n`);
    const raw = bundled?.[name];
    // Data the build already validated (schema and semantic checks passed there).
    const sig = raw ? compileSignature(raw, `${display}/${name}`) : await parseSignature(text, `${display}/${name}`, schemaPath);
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
