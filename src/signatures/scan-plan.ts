/**
 * The byte searches of a signature set (the `strings` kind) as the probe plan's `scanFor`: for a
 * candidate path, the needles of every rule whose globs match it, with the largest budget and
 * window among them. Called once per candidate entry (not per tar header), so a linear walk over
 * the few search globs is cheap.
 */
import { braceExpand, Minimatch } from 'minimatch';
import type { ScanRequest } from '../util/needle-scan.js';
import { ruleKind } from './rules/index.js';
import type { Signature } from './types.js';

export type ScanProbe = { glob: string } & ScanRequest;

/** Every search the signatures ask for, braces expanded. */
export function collectScans(signatures: readonly Signature[]): ScanProbe[] {
  const out: ScanProbe[] = [];
  for (const sig of signatures) {
    for (const rule of [...sig.evidence, ...sig.exclude]) {
      const scans = ruleKind(rule.kind).scans;
      if (!scans) continue;
      for (const s of scans(rule)) for (const glob of braceExpand(s.glob)) out.push({ ...s, glob });
    }
  }
  return out;
}

/** `scanFor` of the plan; undefined when the set searches no bytes. */
export function compileScans(scans: readonly ScanProbe[]): ((path: string) => ScanRequest | undefined) | undefined {
  if (!scans.length) return undefined;
  const compiled = scans.map((s) => ({ ...s, mm: new Minimatch(s.glob.replace(/^\/+/, ''), { dot: true, nobrace: true }) }));
  return (path: string) => {
    const rel = path.charCodeAt(0) === 47 ? path.slice(1) : path;
    let needles: Set<string> | undefined;
    const groups = new Map<string, readonly string[]>();
    let budget = 0;
    let window = 0;
    for (const s of compiled) {
      if (!s.mm.match(rel)) continue;
      needles ??= new Set();
      for (const n of s.needles) needles.add(n);
      // One rule's needles stand for one another: any one found satisfies the rule.
      groups.set(JSON.stringify(s.needles), s.needles);
      budget = Math.max(budget, s.budget);
      window = Math.max(window, s.window);
    }
    return needles ? { needles: [...needles], budget, window, groups: [...groups.values()] } : undefined;
  };
}
