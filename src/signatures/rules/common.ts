/**
 * What the rule kinds share: the compile-side checks (regexes, globs, extract groups) and the
 * match-side lookups (entries by glob, bounded content, evidence values).
 */
import { Minimatch } from 'minimatch';
import type { FileEntry, ScanSubject } from '../../model/entry.js';
import type { Evidence } from '../../model/finding.js';
import { extensionOf, globKey } from '../glob-index.js';
import type { Rule, Strength } from '../types.js';
import { compileSignatureRegex, type SignatureRegex } from '../regex.js';
import type { ScanRequest } from '../../util/needle-scan.js';

export const GLOB_OPTIONS = { dot: true } as const;

/** Longest evidence value kept (a content match, a label value). */
const MAX_VALUE = 160;

/** A rule as written in the YAML (schema-valid). */
export type RawRule = Record<string, unknown> & { id: string; kind: Rule['kind'] };

/** The fields every rule has, and the checks a kind's compile needs. */
export interface CompileContext {
  field: string;
  flags: string;
  common: { id: string; strength: Strength; support: boolean; edition?: string; source: string[] };
  /** `ignore` globs, checked. */
  ignore: string[];
  /** Throws unless `re` has every group the rule extracts. */
  checkExtract(re: SignatureRegex | undefined, reField: string): void;
  /** A data file of the signatures directory (data/<name>.yaml), parsed; undefined when there is none. */
  data(name: string): unknown;
}

/** One rule matching one thing in the subject. */
export interface Hit {
  rule: Rule;
  evidence: Evidence;
  version?: string;
  edition?: string;
  /** Release date (YYYY-MM-DD) that came with the version. */
  date?: string;
  /** What the hit says of licensability itself (a terms table); otherwise the edition's mapping decides. */
  licensable?: boolean | null;
}

/** What the other rules established, for the kinds that derive from it (see RuleKind.derive). */
export interface Established {
  version: string | null;
  date?: string;
}

/** Adds a hit; true when the rule has enough evidence and the kind should stop looking. */
export type PushHit = (h: Hit) => boolean;

/**
 * One evidence kind: how its YAML compiles, which paths (and byte caps) it needs read, and how it
 * matches a subject. Listed once, in rules/index.ts.
 */
export interface RuleKind<R extends Rule = Rule> {
  readonly kinds: readonly R['kind'][];
  compile(raw: RawRule, ctx: CompileContext): R;
  probes(rule: R): Array<{ glob: string; maxBytes: number }>;
  /** Byte searches the kind needs sources to run while they read candidates (see ProbePlan.scanFor). */
  scans?(rule: R): Array<{ glob: string } & ScanRequest>;
  match(rule: R, subject: ScanSubject, ruleRef: string, push: PushHit): void;
  /**
   * Kinds that read no subject but what the other rules found (the licence terms of the version
   * found): called once the version is chosen; their hits join the others for the edition.
   */
  derive?(rule: R, established: Established, ruleRef: string, push: PushHit): void;
}

/** A semantic error in a signature file: the field, what is wrong, the fix (load.ts adds the file and line). */
export class SignatureFileError extends Error {
  constructor(
    readonly field: string,
    readonly what: string,
    readonly fix: string,
  ) {
    super(what);
  }
}

/** A signature regex on the linear-time engine (regex.ts); what it cannot run is an error naming the field. */
export function compileRegex(source: string, flags: string, field: string): SignatureRegex {
  try {
    return compileSignatureRegex(source, flags);
  } catch (err) {
    throw new SignatureFileError(
      field,
      `regular expression /${source.length > 120 ? `${source.slice(0, 120)}…` : source}/: ${(err as Error).message}`,
      'write it in RE2 syntax (https://github.com/google/re2/wiki/Syntax): no lookahead, lookbehind or backreferences, \\x{hhhh} for \\uhhhh',
    );
  }
}

export function hasGroup(re: SignatureRegex, name: string): boolean {
  // A throwaway match against '' cannot reveal groups; parse the source instead.
  return new RegExp(`\\(\\?<${name}>`).test(re.source);
}

export function checkGlobs(value: unknown, field: string): string[] {
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

interface CompiledGlobs {
  mms: Minimatch[];
  /** Literal last segments and `*.ext` suffixes; null when some glob ends in another pattern. */
  bases: Set<string> | null;
  suffixes: string[];
}

const globCache = new WeakMap<string[], CompiledGlobs>();
function compiled(globs: string[]): CompiledGlobs {
  let c = globCache.get(globs);
  if (!c) {
    const bases = new Set<string>();
    const suffixes: string[] = [];
    let exact = true;
    for (const g of globs) {
      const key = globKey(g);
      if (key.kind === 'base') bases.add(key.base);
      else if (key.kind === 'suffix') suffixes.push(key.suffix);
      else exact = false;
    }
    c = { mms: globs.map((g) => new Minimatch(g.replace(/^\/+/, ''), { dot: true })), bases: exact ? bases : null, suffixes };
    globCache.set(globs, c);
  }
  return c;
}

/** Subjects can hold thousands of entries (every symlink): reject by basename before minimatch. */
export function pathMatches(globs: string[], path: string): boolean {
  if (!globs.length) return false;
  const c = compiled(globs);
  if (c.bases) {
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (!c.bases.has(base) && !c.suffixes.some((sfx) => base.endsWith(sfx))) return false;
  }
  const rel = path.replace(/^\/+/, '');
  return c.mms.some((m) => m.match(rel));
}

interface SubjectIndex {
  byBase: Map<string, FileEntry[]>;
  byExt: Map<string, FileEntry[]>;
  all: FileEntry[];
}

const indexCache = new WeakMap<ReadonlyMap<string, FileEntry>, SubjectIndex>();
function indexOf(files: ReadonlyMap<string, FileEntry>): SubjectIndex {
  let idx = indexCache.get(files);
  if (!idx) {
    idx = { byBase: new Map(), byExt: new Map(), all: [...files.values()] };
    for (const e of idx.all) {
      const base = e.path.slice(e.path.lastIndexOf('/') + 1);
      const list = idx.byBase.get(base);
      if (list) list.push(e);
      else idx.byBase.set(base, [e]);
      const dot = base.lastIndexOf('.');
      if (dot >= 0) {
        const ext = base.slice(dot);
        const el = idx.byExt.get(ext);
        if (el) el.push(e);
        else idx.byExt.set(ext, [e]);
      }
    }
    indexCache.set(files, idx);
  }
  return idx;
}

/** Entries that may match `globs`: looked up by basename / extension when the globs allow it. */
export function candidates(globs: string[], files: ReadonlyMap<string, FileEntry>): FileEntry[] {
  const c = compiled(globs);
  const idx = indexOf(files);
  if (!c.bases) return idx.all;
  const out: FileEntry[] = [];
  for (const b of c.bases) out.push(...(idx.byBase.get(b) ?? []));
  for (const sfx of c.suffixes) {
    const ext = extensionOf(sfx);
    for (const e of idx.byExt.get(ext) ?? []) if (e.path.endsWith(sfx)) out.push(e);
  }
  return c.suffixes.length ? [...new Set(out)] : out;
}

export function clip(s: string): string {
  // Strings read from binaries are NUL-separated: control bytes become spaces, not JSON escapes.
  const one = s.replace(/[\s\x00-\x1f\x7f]+/g, ' ').trim();
  return one.length > MAX_VALUE ? `${one.slice(0, MAX_VALUE)}...` : one;
}

export function groups(m: RegExpExecArray | null): { version?: string; edition?: string; date?: string } {
  const g = m?.groups ?? {};
  return { version: g.version || undefined, edition: g.edition || undefined, date: g.date || undefined };
}

export function contentOf(entry: FileEntry, maxBytes: number): string | undefined {
  if (!entry.content) return undefined;
  // latin1 maps bytes 1:1, so regexes work on binaries as well as text.
  return entry.content.toString('latin1', 0, Math.min(entry.content.length, maxBytes));
}
