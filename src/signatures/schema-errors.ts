/**
 * JSON Schema errors of a signature file turned into one line a user can act on: the field (as
 * `evidence[2].pattern`), what is wrong, and how to fix it.
 */
import type { ErrorObject } from 'ajv';

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

export function fieldPathSegments(pointer: string): Array<string | number> {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
}

/** Picks the most useful ajv error: the deepest one that is not a wrapper (if/allOf/oneOf). */
export function bestError(errors: ErrorObject[]): ErrorObject {
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

export function fixFor(err: ErrorObject): { field: string; what: string; fix: string } {
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
