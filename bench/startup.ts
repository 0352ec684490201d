/**
 * The fixed cost of a scan, step by step: each step is a whole process that does one thing more
 * than the one before, so the differences of the medians say what each step costs. The steps
 * run interleaved (one round runs every step once), so load that drifts during the measurement
 * falls on all of them alike.
 *
 *   node --import tsx bench/startup.ts [--runs N] [--marks] TINY-DOCKER-ARCHIVE
 *
 * --marks: instead, the tiny scan alone, N times with KENSUS_STARTUP_MARKS=1 (src/cli/marks.ts):
 * the median time since process start at each mark, and what each phase between marks cost.
 */
import { spawnSync } from 'node:child_process';
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

/** Median ms since process start at each start-up mark of `runs` tiny scans, in the order they come. */
export function measureMarks(root: string, node: string, tinyArchive: string, runs: number): { mark: string; ms: number }[] {
  const seen = new Map<string, number[]>();
  for (let r = 0; r < runs; r++) {
    const run = spawnSync(node, ['bin/kensus.js', 'scan', 'image', `docker-archive:${tinyArchive}`, '--format', 'json', '--no-cache'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, KENSUS_STARTUP_MARKS: '1' },
      maxBuffer: 64 << 20,
    });
    if (run.status !== 0) throw new Error(`the tiny scan failed (exit ${run.status}): ${run.stderr}`);
    for (const m of run.stderr.matchAll(/^kensus-mark ([\d.]+) ms (.+)$/gm)) {
      const list = seen.get(m[2]) ?? [];
      list.push(Number(m[1]));
      seen.set(m[2], list);
    }
  }
  return [...seen].map(([mark, values]) => ({ mark, ms: summarize(values).median }));
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let runs = 10;
  const r = argv.indexOf('--runs');
  if (r >= 0) {
    runs = Number(argv[r + 1]);
    argv.splice(r, 2);
  }
  const m = argv.indexOf('--marks');
  if (m >= 0) argv.splice(m, 1);
  if (!argv[0] || !Number.isInteger(runs) || runs < 1) {
    process.stderr.write('usage: node --import tsx bench/startup.ts [--runs N] [--marks] TINY-DOCKER-ARCHIVE\n');
    return 2;
  }
  const root = resolve(import.meta.dirname ?? '.', '..');
  if (m >= 0) {
    let before = 0;
    for (const { mark, ms } of measureMarks(root, process.execPath, resolve(argv[0]), runs)) {
      process.stdout.write(`${ms.toFixed(1).padStart(7)} ms  +${(ms - before).toFixed(1).padStart(5)} ms  ${mark}\n`);
      before = ms;
    }
    return 0;
  }
  const results = await measureStartup(root, startupSteps(process.execPath, resolve(argv[0])), runs, 60_000);
  for (const c of results) {
    process.stdout.write(`${c.wallMs ? c.wallMs.median.toFixed(0).padStart(6) : '     –'} ms  ${c.name.padEnd(32)} ${c.note ?? ''}\n`);
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename ?? '')) process.exitCode = await main();
