import type { Confidence, Evidence, EvidenceMethod, ProductFinding } from '../model/finding.js';

/**
 * Joining what different ways of looking found for one container: its exec scan, its image's
 * scan (by digest) and the cluster's metadata (the reference it was started from, pod
 * annotations). The same product seen twice is one finding with the evidence of both.
 */

const RANK: Record<Confidence, number> = { low: 0, medium: 1, high: 2 };

/**
 * Evidence of a name (`imageRef`) belongs to the reference a container was started from, never to
 * the digest: one image pushed under two names must not give the second name's product to pods
 * that use the first.
 */
export function isNameEvidence(e: Evidence): boolean {
  return e.kind === 'imageRef';
}

/** The findings the content of an image shows: evidence of its names removed, findings only they gave dropped. */
export function contentFindings(findings: ProductFinding[]): ProductFinding[] {
  const out: ProductFinding[] = [];
  for (const f of findings) {
    const evidence = f.evidence.filter((e) => !isNameEvidence(e));
    if (evidence.length === 0) continue;
    out.push(evidence.length === f.evidence.length ? f : { ...f, evidence });
  }
  return out;
}

/** The edition was only a documented default (an unset variable in what that scan saw). */
function editionDefaulted(f: ProductFinding): boolean {
  return f.edition !== null && f.evidence.some((e) => e.kind === 'default' && e.gives?.includes('edition'));
}

/** The evidence with `field` no longer marked as given (the merged finding took it from elsewhere). */
function ungive(list: Evidence[], field: 'version' | 'edition'): Evidence[] {
  return list.map((e) => {
    if (!e.gives?.includes(field)) return e;
    const gives = e.gives.filter((g) => g !== field);
    const { gives: _gives, ...rest } = e;
    return gives.length ? { ...rest, gives } : rest;
  });
}

/**
 * One product seen twice. The first finding leads (the caller passes the more direct look first)
 * unless only the second is of high confidence; the other fills what the lead does not say: a
 * version when it has none, a more precise version that agrees with it ("11" → "11.0.0.13", as
 * the matcher refines versions), an edition, or a real edition where the lead's was only a
 * documented default (the pod's environment sets what the image left unset). The `gives` marks
 * stay on the evidence the merged version and edition came from.
 */
export function mergeFinding(first: ProductFinding, second: ProductFinding): ProductFinding {
  const [a, b] = first.confidence !== 'high' && second.confidence === 'high' ? [second, first] : [first, second];
  let aEvidence = a.evidence;
  let bEvidence = b.evidence;
  let version = a.version;
  if (b.version && (!version || b.version.startsWith(`${version}.`))) {
    version = b.version;
    aEvidence = ungive(aEvidence, 'version');
  } else {
    bEvidence = ungive(bEvidence, 'version');
  }
  const takeEdition = b.edition !== null && (a.edition === null || (editionDefaulted(a) && !editionDefaulted(b)));
  if (takeEdition) aEvidence = ungive(aEvidence, 'edition');
  else bEvidence = ungive(bEvidence, 'edition');
  const warnings = [...new Set([...(a.warnings ?? []), ...(b.warnings ?? [])])];
  return {
    ...a,
    version,
    edition: takeEdition ? b.edition : a.edition,
    // Licensable follows the edition (a free edition of a paid product is not licensable).
    licensable: takeEdition ? b.licensable : a.licensable,
    confidence: RANK[b.confidence] > RANK[a.confidence] ? b.confidence : a.confidence,
    evidence: uniqueEvidence([...aEvidence, ...bEvidence]),
    ...(warnings.length ? { warnings } : {}),
  };
}

function uniqueEvidence(list: Evidence[]): Evidence[] {
  const seen = new Set<string>();
  return list.filter((e) => {
    const key = [e.kind, e.path ?? '', e.rule, e.value ?? '', e.method ?? '', (e.gives ?? []).join(',')].join('\u0000');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Says which way of looking gave each piece of evidence (what it already says stands). Names and
 * pod annotations are the cluster's metadata whoever matched them; image labels reach an exec
 * scan from the image's config.
 */
export function tagEvidence(findings: ProductFinding[], method: EvidenceMethod): ProductFinding[] {
  const of = (e: Evidence): EvidenceMethod => {
    if (e.method) return e.method;
    if (e.kind === 'imageRef' || e.kind === 'annotation') return 'metadata';
    if (e.kind === 'label' && method === 'exec') return 'image';
    return method;
  };
  return findings.map((f) => ({ ...f, evidence: f.evidence.map((e) => ({ ...e, method: of(e) })) }));
}

/** Several lists as one: per product id, merged in the order the lists are given. */
export function mergeFindings(...lists: ProductFinding[][]): ProductFinding[] {
  const out = new Map<string, ProductFinding>();
  for (const list of lists) {
    for (const f of list) {
      const prev = out.get(f.id);
      out.set(f.id, prev ? mergeFinding(prev, f) : f);
    }
  }
  return [...out.values()];
}
