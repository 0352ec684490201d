import type { ScanSubject } from '../model/entry.js';
import type { Confidence, ProductFinding } from '../model/finding.js';
import type { Hit } from './rules/common.js';
import { ruleKind } from './rules/index.js';
import type { Rule, Signature, SignatureSet, Strength } from './types.js';


const RANK: Record<Strength, number> = { high: 3, medium: 2, low: 1 };
const MAX_EVIDENCE_PER_RULE = 5;

function evalRule(sig: Signature, rule: Rule, subject: ScanSubject): Hit[] {
  const ruleRef = `${sig.id}/${rule.id}`;
  const hits: Hit[] = [];
  const push = (h: Hit): boolean => {
    hits.push(h);
    return hits.length >= MAX_EVIDENCE_PER_RULE;
  };
  ruleKind(rule.kind).match(rule, subject, ruleRef, push);
  for (const h of hits) if (!h.edition && rule.edition) h.edition = rule.edition;
  return hits;
}

function normaliseVersion(sig: Signature, raw: string): string | null {
  let v = raw.trim();
  for (const r of sig.versionReplace) v = r.pattern.replaceAll(v, r.with);
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

/** Edition weight: anchors over support, then rule strength (the versionTerms table is a low support rule). */
function editionScore(h: Hit): number {
  return (h.rule.support ? 0 : 10) + RANK[h.rule.strength];
}

function mark(h: Hit, what: 'version' | 'edition'): void {
  h.evidence.gives = [...new Set([...(h.evidence.gives ?? []), what])];
}

/** Matches one signature; null when it does not apply to the subject. */
export function matchSignature(sig: Signature, subject: ScanSubject): ProductFinding | null {
  for (const rule of sig.exclude) if (evalRule(sig, rule, subject).length) return null;
  const hits = sig.evidence.flatMap((rule) => evalRule(sig, rule, subject));
  const anchors = hits.filter((h) => !h.rule.support);
  if (!anchors.length) return null;

  const withVersion = hits.filter((h) => h.version).sort((a, b) => versionScore(b) - versionScore(a));
  let chosenHit = withVersion[0];
  // A coarse version from strong evidence ("11" from /opt/ibm/ace-11) is refined by weaker
  // evidence that agrees with it ("11.0.0.13" from a label); a disagreeing one is ignored.
  for (const h of withVersion) if (chosenHit && h.version!.startsWith(`${chosenHit.version!}.`)) chosenHit = h;
  const version = chosenHit ? normaliseVersion(sig, chosenHit.version!) : null;
  if (chosenHit) mark(chosenHit, 'version');
  // The release date that came with this version (a JDK's JAVA_VERSION_DATE), from any rule that read both.
  const date = chosenHit?.date ?? withVersion.find((h) => h.date && normaliseVersion(sig, h.version!) === version)?.date;

  // Kinds that derive from what was found (licence terms of the version): their hits join the rest.
  for (const rule of sig.evidence) {
    const derive = ruleKind(rule.kind).derive;
    if (!derive) continue;
    const ruleRef = `${sig.id}/${rule.id}`;
    const derived: Hit[] = [];
    derive(rule, { version, date }, ruleRef, (h) => derived.push(h) >= MAX_EVIDENCE_PER_RULE);
    hits.push(...derived);
  }

  const withEdition = hits.filter((h) => h.edition).sort((a, b) => editionScore(b) - editionScore(a));
  let edition: string | null = null;
  let licensable = sig.licensable;
  const warnings: string[] = [];
  const mapEdition = (raw: string) => sig.editions.find((e) => e.match.test(raw.trim()));
  if (withEdition.length) {
    const top = withEdition[0];
    const mapped = mapEdition(top.edition!);
    edition = mapped ? mapped.name : top.edition!.trim();
    if (top.licensable !== undefined) licensable = top.licensable;
    else if (mapped && mapped.licensable !== undefined) licensable = mapped.licensable;
    mark(top, 'edition');
    // Sources that name another edition: the strongest stands, and the disagreement is said.
    const others = new Map<string, string>();
    for (const h of withEdition.slice(1)) {
      const name = mapEdition(h.edition!)?.name ?? h.edition!.trim();
      if (name !== edition && !others.has(name)) others.set(name, h.evidence.rule);
    }
    for (const [name, rule] of others) {
      warnings.push(`edition: ${top.evidence.rule} says ${edition}, ${rule} says ${name}; reported ${edition}, from the stronger evidence`);
    }
  } else {
    // No edition at all, but a rule that can tell licensability says it cannot be told.
    const told = hits.find((h) => h.licensable !== undefined);
    if (told) licensable = told.licensable!;
  }

  const finding: ProductFinding = {
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
  if (warnings.length) finding.warnings = warnings;
  return finding;
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
