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
