/**
 * `kind: versionTerms`: a product's licence terms by release, from a cited table in
 * signatures/data/<table>.yaml. It reads nothing of the subject: once the other rules chose the
 * version (and a release date came with it), the first range holding them gives the terms, which
 * become an edition of the lowest weight: licence text found in the image wins over the table.
 * A range whose terms cannot be told (or a version no range holds) says licensable null.
 */
import type { Evidence } from '../../model/finding.js';
import type { TermsInfo, TermsRange, TermsTable, VersionTermsRule } from '../types.js';
import { SignatureFileError, type CompileContext, type Established, type PushHit, type RawRule, type RuleKind } from './common.js';

/** "1.8.0_411" → [1, 8, 0, 411]; "21.0.5+9-LTS-239" → [21, 0, 5]; null when it starts with no number. */
export function versionKey(v: string): number[] | null {
  const m = /^(\d+(?:[._]\d+)*)/.exec(v.trim());
  return m ? m[1].split(/[._]/).map(Number) : null;
}

/** Dotted numeric order, missing parts as 0 (17 = 17.0.0). */
export function compareVersionKeys(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

class TableError extends Error {
  constructor(
    readonly field: string,
    readonly what: string,
    readonly fix: string,
  ) {
    super(`${field}: ${what}`);
  }
}

/** Checks a parsed table (what the data file's comment documents); throws TableError naming the field and fix. */
export function compileTermsTable(raw: unknown): TermsTable {
  const fail = (field: string, what: string, fix: string): never => {
    throw new TableError(field, what, fix);
  };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) fail('(top level)', 'not a mapping', 'write id, terms and ranges');
  const r = raw as Record<string, unknown>;
  if (typeof r.id !== 'string' || !r.id) fail('id', 'missing', 'add the table id');
  if (!r.terms || typeof r.terms !== 'object') fail('terms', 'missing', 'add the terms the ranges name');
  const terms: Record<string, TermsInfo> = {};
  for (const [k, t] of Object.entries(r.terms as Record<string, Record<string, unknown> | null>)) {
    if (!t || typeof t.name !== 'string' || !t.name) fail(`terms.${k}.name`, 'missing', 'name the terms (the name becomes the edition)');
    if (!(t!.licensable === true || t!.licensable === false || t!.licensable === null)) {
      fail(`terms.${k}.licensable`, 'must be true, false or null', 'say whether use under these terms needs a licence');
    }
    terms[k] = { name: String(t!.name), licensable: t!.licensable as boolean | null };
  }
  if (!Array.isArray(r.ranges) || !r.ranges.length) fail('ranges', 'missing', 'add at least one version range');
  const ranges = (r.ranges as Array<Record<string, unknown>>).map((x, i): TermsRange => {
    const f = `ranges[${i}]`;
    if (!x || typeof x !== 'object') fail(f, 'not a mapping', 'write from, to and terms');
    const from = versionKey(String(x.from ?? ''));
    const to = versionKey(String(x.to ?? ''));
    if (!from) fail(`${f}.from`, 'not a version', 'write a dotted version such as 17 or 1.8.0_211');
    if (!to) fail(`${f}.to`, 'not a version', 'write a dotted version such as 17.0.12.999');
    if (compareVersionKeys(from!, to!) > 0) fail(f, `from ${String(x.from)} is after to ${String(x.to)}`, 'swap or correct the bounds');
    if (!('terms' in x)) fail(`${f}.terms`, 'missing', 'name the terms, or write null where they cannot be told');
    const t = x.terms as string | null;
    if (t !== null && (typeof t !== 'string' || !(t in terms))) fail(`${f}.terms`, `"${String(t)}" is not one of the terms`, `use one of ${Object.keys(terms).join(', ')} or null`);
    if (t !== null && (x.source === undefined || (Array.isArray(x.source) && !x.source.length))) {
      fail(`${f}.source`, 'missing', 'cite the public document that gives these terms for these releases');
    }
    const released = (x.released ?? {}) as Record<string, unknown>;
    for (const k of ['from', 'to'] as const) {
      if (released[k] !== undefined && !DATE.test(String(released[k]))) fail(`${f}.released.${k}`, `"${String(released[k])}" is not a date`, 'write YYYY-MM-DD');
    }
    return {
      from: from!,
      to: to!,
      fromText: String(x.from),
      toText: String(x.to),
      terms: t,
      releasedFrom: released.from as string | undefined,
      releasedTo: released.to as string | undefined,
      requireDate: x.requireDate === true,
    };
  });
  return { id: String(r.id), terms, ranges };
}

export interface TermsAnswer {
  range: TermsRange;
  /** null: the range says the terms cannot be told. */
  terms: TermsInfo | null;
}

/** The first range holding `version` whose release-date bounds (checked when the date is known) hold `date`. */
export function lookupTerms(table: TermsTable, version: string, date?: string): TermsAnswer | null {
  const key = versionKey(version);
  if (!key) return null;
  for (const range of table.ranges) {
    if (compareVersionKeys(key, range.from) < 0 || compareVersionKeys(key, range.to) > 0) continue;
    if (range.requireDate && !date) continue;
    if (date && range.releasedFrom && date < range.releasedFrom) continue;
    if (date && range.releasedTo && date > range.releasedTo) continue;
    return { range, terms: range.terms === null ? null : table.terms[range.terms]! };
  }
  return null;
}

const compiledTables = new WeakMap<object, TermsTable>();

export const versionTermsRule: RuleKind<VersionTermsRule> = {
  kinds: ['versionTerms'],
  compile(raw: RawRule, ctx: CompileContext): VersionTermsRule {
    const name = String(raw.table);
    const tableFile = `data/${name}.yaml`;
    const data = ctx.data(name);
    if (data === undefined) {
      throw new SignatureFileError(`${ctx.field}.table`, `there is no ${tableFile}`, `add ${tableFile} beside the signatures or correct the table name`);
    }
    let table = data && typeof data === 'object' ? compiledTables.get(data) : undefined;
    if (!table) {
      try {
        table = compileTermsTable(data);
      } catch (err) {
        if (!(err instanceof TableError)) throw err;
        throw new SignatureFileError(`${ctx.field}.table`, `${tableFile}: ${err.field}: ${err.what}`, err.fix);
      }
      if (data && typeof data === 'object') compiledTables.set(data, table);
    }
    // Terms come from the version found, never prove the product: always a support rule, and the
    // weakest source of an edition unless the signature says otherwise.
    return { ...ctx.common, support: true, strength: (raw.strength as VersionTermsRule['strength'] | undefined) ?? 'low', kind: 'versionTerms', tableFile, table };
  },
  probes: () => [],
  // Nothing of the subject itself: see derive.
  match: () => {},
  derive(rule: VersionTermsRule, established: Established, ruleRef: string, push: PushHit): void {
    if (!established.version) return;
    const { version, date } = established;
    const released = date ? ` released ${date}` : '';
    const answer = lookupTerms(rule.table, version, date);
    const evidence: Evidence = { kind: 'terms', path: rule.tableFile, rule: ruleRef, value: '' };
    if (answer?.terms) {
      evidence.value = `${version}${released}: ${answer.terms.name} (${answer.range.fromText} to ${answer.range.toText})`;
      push({ rule, evidence, edition: answer.terms.name, licensable: answer.terms.licensable });
    } else {
      evidence.value = answer
        ? `${version}${released}: the terms cannot be told (${answer.range.fromText} to ${answer.range.toText}${date ? '' : ', no release date'})`
        : `${version}${released}: no range of the table holds this release`;
      push({ rule, evidence, licensable: null });
    }
  },
};
