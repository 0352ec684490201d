import type { Evidence, ProductFinding } from '../model/finding.js';

/**
 * What admission may remember of an image (issue 13): content evidence belongs to the digest,
 * name evidence (`imageRef`) to the reference a container was started from, and what the pod
 * said (its annotations, labels, the spec's env) to that pod alone. A finding left without
 * evidence is dropped: the name or the pod was all that showed it.
 */

/** Seen in the pod, not in the image: another pod of the same image need not say it. */
function ofThePod(e: Evidence): boolean {
  return e.kind === 'annotation' || (e.method === 'metadata' && e.kind !== 'imageRef');
}

function keep(findings: ProductFinding[], drop: (e: Evidence) => boolean): ProductFinding[] {
  const out: ProductFinding[] = [];
  for (const f of findings) {
    const evidence = f.evidence.filter((e) => !drop(e));
    if (evidence.length === 0) continue;
    out.push(evidence.length === f.evidence.length ? f : { ...f, evidence });
  }
  return out;
}

/** The findings of a digest: its content only. */
export function digestFindings(findings: ProductFinding[]): ProductFinding[] {
  return keep(findings, (e) => e.kind === 'imageRef' || ofThePod(e));
}

/** The findings of one reference (the name a container was started from): content and that name. */
export function referenceFindings(findings: ProductFinding[]): ProductFinding[] {
  return keep(findings, ofThePod);
}

/** `repo@sha256:…` → `sha256:…`; null for a reference by tag. */
export function pinnedDigest(ref: string): string | null {
  const at = ref.lastIndexOf('@');
  return at >= 0 && /^sha256:[0-9a-f]{64}$/.test(ref.slice(at + 1)) ? ref.slice(at + 1) : null;
}
