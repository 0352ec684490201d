/**
 * A probe plan from glob → byte-cap rules. The signature compiler builds the real one from the
 * signature set; this small one serves tests, benchmarks and tools that want a few paths.
 */
import { Minimatch } from 'minimatch';
import type { ProbePlan } from '../../src/model/entry.js';

export function globPlan(rules: ReadonlyArray<readonly [glob: string, maxBytes: number]>, version = 'glob-plan'): ProbePlan {
  const compiled = rules.map(([glob, maxBytes]) => ({ glob, maxBytes, mm: new Minimatch(glob, { dot: true }) }));
  return {
    version: `${version}:${JSON.stringify(rules)}`,
    probes: rules.map(([glob, maxBytes]) => ({ glob, maxBytes })),
    contentBytes(path: string): number | undefined {
      let best: number | undefined;
      for (const r of compiled) if (r.mm.match(path)) best = Math.max(best ?? 0, r.maxBytes);
      return best;
    },
  };
}
