/**
 * The fixed cost of a scan, step by step: each step is a whole process that does one thing more
 * than the one before, so the differences of the medians say what each step costs. The steps
 * run interleaved (one round runs every step once), so load that drifts during the measurement
 * falls on all of them alike.
 *
 *   node --import tsx bench/startup.ts [--runs N] TINY-DOCKER-ARCHIVE
 */
import { resolve } from 'node:path';
import { sq, summarize, timeShell, type Sample } from './measure.js';
import type { ContenderResult } from './contenders.js';

export interface Step {
  name: string;
  command: string;
  /** What it adds to the step before. */
  adds: string;
}

export function startupSteps(node: string, tinyArchive: string): Step[] {
  const kensus = `${sq(node)} bin/kensus.js`;
  return [
    { name: 'node -e 0', command: `${sq(node)} -e 0`, adds: 'Node itself' },
    { name: 'kensus --version', command: `${kensus} --version`, adds: 'the CommonJS launcher and package.json' },
    {
      name: 'kensus: load the CLI bundle',
      command: `${sq(node)} --input-type=module -e ${sq("await import('./dist/cli-bundle/main.js')")}`,
      adds: 'loading the main bundle chunk and its static imports',
    },
    { name: 'kensus --help', command: `${kensus} --help`, adds: 'the launcher, commander and every command definition, the help text' },
    {
      name: 'kensus scan (tiny image, cold)',
      command: `${kensus} scan image ${sq(`docker-archive:${tinyArchive}`)} --format json --no-cache`,
      adds: 'the scan command, the signature set (read, RE2-compiled), the source, the walk, matching, the JSON report',
    },
  ];
}

/** Every step `runs` times, interleaved; notes give each step's cost over the one before. */
export async function measureStartup(root: string, steps: Step[], runs: number, timeoutMs: number, deadline = Infinity): Promise<ContenderResult[]> {
  const samples: Sample[][] = steps.map(() => []);
  const failed = new Map<number, string>();
  for (let r = 0; r < runs && Date.now() < deadline; r++) {
    for (const [i, step] of steps.entries()) {
      if (failed.has(i)) continue;
      const s = await timeShell(step.command, timeoutMs, root);
      if (s.ok) samples[i].push(s);
      else failed.set(i, s.error ?? 'failed');
    }
  }
  let before: number | null = null;
  return steps.map((step, i) => {
    const got = samples[i];
    if (failed.has(i) || got.length === 0) {
      return { name: step.name, status: 'failed', wallMs: null, peakRssMb: null, vsFloor: null, vsTrivy: null, note: failed.get(i) ?? 'not measured: the time budget ran out' };
    }
    const wallMs = summarize(got.map((s) => s.wallMs));
    const rss = got.map((s) => s.rssKb).filter((x): x is number => x !== null);
    const delta = before === null ? '' : `${wallMs.median - before >= 0 ? '+' : ''}${(wallMs.median - before).toFixed(0)} ms: `;
    before = wallMs.median;
    return {
      name: step.name,
      status: 'ok',
      wallMs,
      peakRssMb: rss.length ? Math.max(...rss) / 1024 : null,
      vsFloor: null,
      vsTrivy: null,
      note: `${delta}${step.adds}${got.length < runs ? ` (${got.length} of ${runs} runs: the time budget ran out)` : ''}`,
    };
  });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let runs = 10;
  const r = argv.indexOf('--runs');
  if (r >= 0) {
    runs = Number(argv[r + 1]);
    argv.splice(r, 2);
  }
  if (!argv[0] || !Number.isInteger(runs) || runs < 1) {
    process.stderr.write('usage: node --import tsx bench/startup.ts [--runs N] TINY-DOCKER-ARCHIVE\n');
    return 2;
  }
  const root = resolve(import.meta.dirname ?? '.', '..');
  const results = await measureStartup(root, startupSteps(process.execPath, resolve(argv[0])), runs, 60_000);
  for (const c of results) {
    process.stdout.write(`${c.wallMs ? c.wallMs.median.toFixed(0).padStart(6) : '     –'} ms  ${c.name.padEnd(32)} ${c.note ?? ''}\n`);
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename ?? '')) process.exitCode = await main();
