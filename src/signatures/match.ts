import { createRequire } from 'node:module';
import type { XMLParser } from 'fast-xml-parser';
import { Minimatch } from 'minimatch';
import type { FileEntry, InstalledPackage, ScanSubject } from '../model/entry.js';
import type { Confidence, Evidence, ProductFinding } from '../model/finding.js';
import type { Rule, Signature, SignatureSet, Strength } from './types.js';

/** One rule matching one thing in the subject. */
interface Hit {
  rule: Rule;
  evidence: Evidence;
  version?: string;
  edition?: string;
}

const RANK: Record<Strength, number> = { high: 3, medium: 2, low: 1 };
const MAX_EVIDENCE_PER_RULE = 5;
const MAX_VALUE = 160;

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
      const last = g.slice(g.lastIndexOf('/') + 1);
      const suffix = /^\*(\.[^*?[\]{}()!+@]+)$/.exec(last);
      if (!/[*?[\]{}()!+@]/.test(last)) bases.add(last);
      else if (suffix) suffixes.push(suffix[1]);
      else exact = false;
    }
    c = { mms: globs.map((g) => new Minimatch(g.replace(/^\/+/, ''), { dot: true })), bases: exact ? bases : null, suffixes };
    globCache.set(globs, c);
  }
  return c;
}

/** Subjects can hold thousands of entries (every symlink): reject by basename before minimatch. */
function pathMatches(globs: string[], path: string): boolean {
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
function candidates(globs: string[], files: ReadonlyMap<string, FileEntry>): FileEntry[] {
  const c = compiled(globs);
  const idx = indexOf(files);
  if (!c.bases) return idx.all;
  const out: FileEntry[] = [];
  for (const b of c.bases) out.push(...(idx.byBase.get(b) ?? []));
  for (const sfx of c.suffixes) {
    const ext = sfx.slice(sfx.lastIndexOf('.'));
    for (const e of idx.byExt.get(ext) ?? []) if (e.path.endsWith(sfx)) out.push(e);
  }
  return c.suffixes.length ? [...new Set(out)] : out;
}

function clip(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > MAX_VALUE ? `${one.slice(0, MAX_VALUE)}...` : one;
}

function groups(m: RegExpExecArray | null): { version?: string; edition?: string } {
  const g = m?.groups ?? {};
  return { version: g.version || undefined, edition: g.edition || undefined };
}

/** dpkg "1:2.3-4ubuntu1" / rpm "1:2.3-4.el9" / apk "2.3-r4" -> "2.3" */
export function upstreamVersion(v: string): string {
  let out = v.replace(/^\d+:/, '');
  const dash = out.lastIndexOf('-');
  if (dash > 0) out = out.slice(0, dash);
  return out;
}

interface SwidInfo {
  name?: string;
  version?: string;
  tagId?: string;
  regids: string[];
}

let xml: XMLParser | undefined;

/**
 * Loaded on the first SWID tag only: the parser costs ~30 ms of start-up, and most images hold
 * no tag. Its CommonJS build is one file, so the synchronous require stays cheap.
 */
function swidParser(): XMLParser {
  if (!xml) {
    const { XMLParser: Parser } = createRequire(import.meta.url)('fast-xml-parser') as typeof import('fast-xml-parser');
    xml = new Parser({
      ignoreAttributes: false,
      attributeNamePrefix: '',
      removeNSPrefix: true,
      processEntities: false,
      ignoreDeclaration: true,
      // Versions such as "6.0" must stay strings.
      parseTagValue: false,
      parseAttributeValue: false,
    });
  }
  return xml;
}

/** ISO/IEC 19770-2 tags: the 2015 SoftwareIdentity form and the 2009 software_identification_tag form. */
export function parseSwidTag(text: string): SwidInfo | null {
  let doc: Record<string, unknown>;
  try {
    doc = swidParser().parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  const asArray = (v: unknown): Array<Record<string, unknown>> =>
    v === undefined ? [] : (Array.isArray(v) ? v : [v]).filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null);
  const si = asArray(doc.SoftwareIdentity)[0];
  if (si) {
    return {
      name: si.name !== undefined ? String(si.name) : undefined,
      version: si.version !== undefined ? String(si.version) : undefined,
      tagId: si.tagId !== undefined ? String(si.tagId) : undefined,
      regids: asArray(si.Entity).map((e) => String(e.regid ?? '')).filter(Boolean),
    };
  }
  const old = asArray(doc.software_identification_tag)[0];
  if (old) {
    const pv = asArray(old.product_version)[0];
    const creator = asArray(old.software_creator)[0];
    return {
      name: old.product_title !== undefined ? String(old.product_title) : undefined,
      version: pv?.name !== undefined ? String(pv.name) : undefined,
      tagId: old.unique_id !== undefined ? String(old.unique_id) : undefined,
      regids: creator?.regid !== undefined ? [String(creator.regid)] : [],
    };
  }
  return null;
}

function contentOf(entry: FileEntry, maxBytes: number): string | undefined {
  if (!entry.content) return undefined;
  // latin1 maps bytes 1:1, so regexes work on binaries as well as text.
  return entry.content.toString('latin1', 0, Math.min(entry.content.length, maxBytes));
}

function evalRule(sig: Signature, rule: Rule, subject: ScanSubject): Hit[] {
  const ruleRef = `${sig.id}/${rule.id}`;
  const hits: Hit[] = [];
  const push = (h: Hit): boolean => {
    hits.push(h);
    return hits.length >= MAX_EVIDENCE_PER_RULE;
  };
  switch (rule.kind) {
    case 'file':
      for (const entry of candidates(rule.globs, subject.files)) {
        if (!pathMatches(rule.globs, entry.path) || pathMatches(rule.ignore, entry.path)) continue;
        let g: { version?: string; edition?: string } = {};
        if (rule.pathPattern) {
          const m = rule.pathPattern.exec(entry.path);
          if (!m) continue;
          g = groups(m);
        }
        if (push({ rule, evidence: { kind: 'file', path: entry.path, rule: ruleRef }, ...g })) break;
      }
      break;
    case 'content':
      for (const entry of candidates(rule.globs, subject.files)) {
        if (!entry.content || !pathMatches(rule.globs, entry.path) || pathMatches(rule.ignore, entry.path)) continue;
        const text = contentOf(entry, rule.maxBytes)!;
        if (rule.unless.some((re) => re.test(text))) continue;
        if (!rule.require.every((re) => re.test(text))) continue;
        const m = rule.pattern.exec(text);
        if (!m) continue;
        const evidence: Evidence = { kind: 'content', path: entry.path, rule: ruleRef, value: clip(m[0]) };
        if (push({ rule, evidence, ...groups(m) })) break;
      }
      break;
    case 'package':
      for (const pkg of subject.packages) {
        if (!rule.managers.includes(pkg.manager)) continue;
        const m = rule.name.exec(pkg.name);
        if (!m) continue;
        const g = groups(m);
        const version = g.version ?? pkgVersion(pkg, rule.version);
        const evidence: Evidence = {
          kind: 'package',
          path: pkg.source,
          rule: ruleRef,
          value: pkg.version ? `${pkg.name}@${pkg.version}` : pkg.name,
        };
        if (push({ rule, evidence, version, edition: g.edition })) break;
      }
      break;
    case 'swid':
      for (const entry of candidates(rule.globs, subject.files)) {
        if (!entry.content || !pathMatches(rule.globs, entry.path) || pathMatches(rule.ignore, entry.path)) continue;
        const tag = parseSwidTag(contentOf(entry, rule.maxBytes)!);
        if (!tag?.name) continue;
        const m = rule.name.exec(tag.name);
        if (!m) continue;
        if (rule.regid && !tag.regids.some((r) => rule.regid!.test(r))) continue;
        const g = groups(m);
        const evidence: Evidence = {
          kind: 'swid',
          path: entry.path,
          rule: ruleRef,
          value: clip(`${tag.name}${tag.version ? ` ${tag.version}` : ''}`),
        };
        if (push({ rule, evidence, version: g.version ?? tag.version, edition: g.edition })) break;
      }
      break;
    case 'label':
    case 'env':
    case 'annotation': {
      const map = rule.kind === 'label' ? subject.labels : rule.kind === 'env' ? subject.env : (subject.annotations ?? {});
      for (const [key, value] of Object.entries(map)) {
        if (!rule.key.test(key)) continue;
        let g: { version?: string; edition?: string } = {};
        if (rule.value) {
          const m = rule.value.exec(value);
          if (!m) continue;
          g = groups(m);
        }
        const evidence: Evidence = { kind: rule.kind, path: key, rule: ruleRef, value: clip(value) };
        if (push({ rule, evidence, ...g })) break;
      }
      break;
    }
    case 'imageRef':
      for (const ref of subject.refs) {
        const m = rule.pattern.exec(ref);
        if (!m) continue;
        if (push({ rule, evidence: { kind: 'imageRef', rule: ruleRef, value: ref }, ...groups(m) })) break;
      }
      break;
  }
  for (const h of hits) if (!h.edition && rule.edition) h.edition = rule.edition;
  return hits;
}

function pkgVersion(pkg: InstalledPackage, mode: 'upstream' | 'full' | 'none'): string | undefined {
  if (mode === 'none' || !pkg.version) return undefined;
  return mode === 'full' ? pkg.version : upstreamVersion(pkg.version);
}

function normaliseVersion(sig: Signature, raw: string): string | null {
  let v = raw.trim();
  for (const r of sig.versionReplace) v = v.replace(r.pattern, r.with);
  v = v.trim();
  return v ? v : null;
}

/** Higher is better: anchors over support, then rule strength, then the more precise version. */
function versionScore(h: Hit): number {
  const parts = h.version ? h.version.split(/[.\-_+]/).length : 0;
  return (h.rule.support ? 0 : 1000) + RANK[h.rule.strength] * 100 + Math.min(parts, 99);
}

function confidenceOf(anchors: Hit[]): Confidence {
  const rules = new Map<string, Strength>();
  for (const h of anchors) rules.set(h.rule.id, h.rule.strength);
  const strengths = [...rules.values()];
  if (strengths.includes('high')) return 'high';
  const medium = strengths.filter((s) => s === 'medium').length;
  if (medium >= 2) return 'high';
  if (medium === 1) return 'medium';
  return 'low';
}

/** Matches one signature; null when it does not apply to the subject. */
export function matchSignature(sig: Signature, subject: ScanSubject): ProductFinding | null {
  for (const rule of sig.exclude) if (evalRule(sig, rule, subject).length) return null;
  const hits = sig.evidence.flatMap((rule) => evalRule(sig, rule, subject));
  const anchors = hits.filter((h) => !h.rule.support);
  if (!anchors.length) return null;

  const withVersion = hits.filter((h) => h.version).sort((a, b) => versionScore(b) - versionScore(a));
  let chosen = withVersion.length ? withVersion[0].version! : undefined;
  // A coarse version from strong evidence ("11" from /opt/ibm/ace-11) is refined by weaker
  // evidence that agrees with it ("11.0.0.13" from a label); a disagreeing one is ignored.
  for (const h of withVersion) if (chosen && h.version!.startsWith(`${chosen}.`)) chosen = h.version!;
  const version = chosen ? normaliseVersion(sig, chosen) : null;

  const withEdition = hits
    .filter((h) => h.edition)
    .sort((a, b) => (b.rule.support ? 0 : 10) + RANK[b.rule.strength] - ((a.rule.support ? 0 : 10) + RANK[a.rule.strength]));
  let edition: string | null = null;
  let licensable = sig.licensable;
  if (withEdition.length) {
    const raw = withEdition[0].edition!.trim();
    const mapped = sig.editions.find((e) => e.match.test(raw));
    edition = mapped ? mapped.name : raw;
    if (mapped && mapped.licensable !== undefined) licensable = mapped.licensable;
  }

  return {
    id: sig.id,
    vendor: sig.vendor,
    product: sig.product,
    edition,
    version,
    licenseMetric: sig.licenseMetric,
    licensable,
    confidence: confidenceOf(anchors),
    evidence: hits.map((h) => h.evidence),
  };
}

/** Every product of the set found in the subject, sorted by id. */
export function matchSubject(set: SignatureSet, subject: ScanSubject): ProductFinding[] {
  const out: ProductFinding[] = [];
  for (const sig of set.signatures) {
    const f = matchSignature(sig, subject);
    if (f) out.push(f);
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}
