/**
 * Ratios, goal checks and the two outputs: bench/results.md for people, --json for machines.
 */
import type { ContenderResult } from './contenders.js';
import { serveMarkdown, type ServeBench } from './serve.js';
import { storeMarkdown, type StoreBench } from './store.js';

export interface Row {
  image: string;
  shape: string;
  contenders: ContenderResult[];
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  kernel: string;
  node: string;
  date: string;
  mode: 'quick' | 'full';
  runs: number;
  debian: string;
  trivy: string;
  kensus: string;
  /** 1-minute load average when the run started and ended: other work on the machine skews figures. */
  loadAverage: { start: number; end: number };
}

export interface Goal {
  goal: string;
  met: boolean | null;
  detail: string;
}

export interface Results {
  machine: Machine;
  images: Row[];
  scaling: Row[];
  cliStart: ContenderResult[];
  goals: Goal[];
  notes: string[];
  /** kensus serve: admission latency and the dashboard's first render (bench/serve.ts). */
  serve?: ServeBench;
  /** The history store, quick form (bench/store.ts). */
  store?: StoreBench;
}

/**
 * The floor of a row: floor-walk-parallel where it was measured (compressed shapes: layers
 * inflate concurrently), else floor-walk.
 */
export function floorName(row: Row): 'floor-walk' | 'floor-walk-parallel' {
  return row.contenders.some((c) => c.name === 'floor-walk-parallel' && c.status === 'ok') ? 'floor-walk-parallel' : 'floor-walk';
}

/** Fills vsFloor (÷ the floor's median, see floorName) and vsTrivy (÷ trivy's median) of every contender. */
export function addRatios(row: Row): void {
  const median = (name: string) => row.contenders.find((c) => c.name === name && c.status === 'ok')?.wallMs?.median ?? null;
  const floor = median(floorName(row));
  const trivy = median('trivy');
  for (const c of row.contenders) {
    if (c.status !== 'ok' || !c.wallMs) continue;
    c.vsFloor = floor ? c.wallMs.median / floor : null;
    c.vsTrivy = trivy ? c.wallMs.median / trivy : null;
  }
}

const get = (row: Row, name: string) => row.contenders.find((c) => c.name === name && c.status === 'ok') ?? null;
const fmt = (x: number | null | undefined, digits = 2) => (x === null || x === undefined ? '–' : x.toFixed(digits));

/** Checks the goals against one run's figures; null = could not be measured. */
export function checkGoals(r: Results): Goal[] {
  const goals: Goal[] = [];
  if (r.serve) {
    const a = r.serve.admission;
    goals.push('error' in a
      ? { goal: 'serve: admission p99 < 50 ms at 50 concurrent reviews', met: null, detail: `not measured: ${a.error}` }
      : { goal: 'serve: admission p99 < 50 ms at 50 concurrent reviews', met: a.p99Ms < 50, detail: `p99 ${a.p99Ms.toFixed(1)} ms (p50 ${a.p50Ms.toFixed(1)} ms)` });
  }
  const all = r.images;
  const check = (goal: string, rows: Row[], test: (row: Row) => [boolean, string] | null) => {
    const outcomes = rows.map((row) => ({ row, o: test(row) })).filter((x) => x.o !== null);
    if (outcomes.length === 0) return goals.push({ goal, met: null, detail: 'not measured (a contender was not available)' });
    const missed = outcomes.filter((x) => !x.o![0]);
    goals.push({
      goal,
      met: missed.length === 0,
      detail: missed.length ? 'missed: ' + missed.map((x) => `${x.row.image}/${x.row.shape} ${x.o![1]}`).join('; ') : `met on all ${outcomes.length}`,
    });
  };
  const ratio = (row: Row, a: string, b: string) => {
    const x = get(row, a)?.wallMs?.median;
    const y = get(row, b)?.wallMs?.median;
    return x !== undefined && y !== undefined ? x / y : null;
  };
  check('kensus-cold ≤ 1.3× floor-walk (floor-walk-parallel for compressed shapes), every image and shape', all, (row) => {
    const floor = floorName(row);
    const q = ratio(row, 'kensus-cold', floor);
    return q === null ? null : [q <= 1.3, `${q.toFixed(2)}×${floor === 'floor-walk' ? '' : ' ' + floor}`];
  });
  check('huge image on disk: kensus-cold < 0.2× floor-cat', all.filter((x) => x.image === 'huge' && x.shape === 'docker-archive'), (row) => {
    const q = ratio(row, 'kensus-cold', 'floor-cat');
    return q === null ? null : [q < 0.2, `${q.toFixed(2)}×`];
  });
  const vsTrivy = (goal: string, rows: Row[], name: string, factor: number) =>
    check(goal, rows, (row) => {
      const q = ratio(row, 'trivy', name);
      return q === null ? null : [q >= factor, `${q.toFixed(1)}× faster`];
    });
  vsTrivy('kensus-cold ≥ 5× faster than Trivy on files on disk', all.filter((x) => x.shape === 'docker-archive'), 'kensus-cold', 5);
  vsTrivy('kensus-cold ≥ 3× faster than Trivy on uncompressed streams', all.filter((x) => x.shape === 'stream'), 'kensus-cold', 3);
  vsTrivy('kensus-cold ≥ 2× faster than Trivy on gzip', all.filter((x) => x.shape === 'oci-gzip'), 'kensus-cold', 2);
  vsTrivy('kensus-served ≥ 5× faster than Trivy everywhere', all, 'kensus-served', 5);
  check('kensus-cold uses less memory than Trivy on every image', all, (row) => {
    const k = get(row, 'kensus-cold')?.peakRssMb;
    const t = get(row, 'trivy')?.peakRssMb;
    return k == null || t == null ? null : [k < t, `${k.toFixed(0)} MB vs ${t.toFixed(0)} MB`];
  });
  check('peak RSS < 150 MB on every image (kensus-cold)', [...all, ...r.scaling], (row) => {
    const k = get(row, 'kensus-cold')?.peakRssMb;
    return k == null ? null : [k < 150, `${k.toFixed(0)} MB`];
  });
  check('warm cache: second scan < 5% of cold', all.filter((x) => x.shape !== 'stream'), (row) => {
    const q = ratio(row, 'kensus-warm', 'kensus-cold');
    return q === null ? null : [q < 0.05, `${(q * 100).toFixed(0)}%`];
  });
  check('second shared-base image costs only its top layer (after-base ≤ 1.25× its own warm scan)', all.filter((x) => x.image === 'shared-base-b'), (row) => {
    const q = ratio(row, 'kensus-after-base', 'kensus-warm');
    const cold = ratio(row, 'kensus-after-base', 'kensus-cold');
    return q === null || cold === null ? null : [q <= 1.25, `${q.toFixed(2)}× warm, ${(cold * 100).toFixed(0)}% of cold`];
  });
  const node0 = r.cliStart.find((c) => c.name === 'node -e 0' && c.status === 'ok')?.wallMs?.median;
  const tiny = r.cliStart.find((c) => c.name === 'kensus scan (tiny image, cold)' && c.status === 'ok')?.wallMs?.median;
  goals.push(
    node0 !== undefined && tiny !== undefined
      ? { goal: 'fixed cost of a scan (tiny image, cold) ≤ 40 ms over node -e 0', met: tiny - node0 <= 40, detail: `+${(tiny - node0).toFixed(0)} ms (${tiny.toFixed(0)} vs ${node0.toFixed(0)} ms)` }
      : { goal: 'fixed cost of a scan (tiny image, cold) ≤ 40 ms over node -e 0', met: null, detail: 'not measured' },
  );
  const version = r.cliStart.find((c) => c.name === 'kensus --version' && c.status === 'ok');
  goals.push(
    version?.wallMs
      ? { goal: 'kensus --version < 150 ms', met: version.wallMs.median < 150, detail: `${version.wallMs.median.toFixed(0)} ms` }
      : { goal: 'kensus --version < 150 ms', met: null, detail: 'not measured' },
  );
  const rssSeries = (prefix: string) => r.scaling.filter((x) => x.image.startsWith(prefix)).map((x) => get(x, 'kensus-cold')?.peakRssMb ?? null);
  for (const prefix of ['many-small-', 'huge-']) {
    const s = rssSeries(prefix);
    if (s.some((x) => x === null) || s.length < 2) {
      goals.push({ goal: `memory flat as ${prefix}* grows`, met: null, detail: 'not measured' });
      continue;
    }
    const v = s as number[];
    const flat = Math.max(...v) <= Math.min(...v) * 1.5 + 10;
    goals.push({ goal: `memory flat as ${prefix}* grows`, met: flat, detail: v.map((x) => `${x.toFixed(0)} MB`).join(' → ') });
  }
  return goals;
}

function table(rows: Row[]): string {
  const out = ['| image | shape | contender | median s | min s | max s | peak RSS MB | ÷ floor¹ | ÷ Trivy | note |', '|---|---|---|--:|--:|--:|--:|--:|--:|---|'];
  for (const row of rows) {
    for (const c of row.contenders) {
      const t = c.wallMs;
      const status = c.status === 'ok' ? '' : `**${c.status}**: `;
      out.push(
        `| ${row.image} | ${row.shape} | ${c.name} | ${t ? (t.median / 1000).toFixed(3) : '–'} | ${t ? (t.min / 1000).toFixed(3) : '–'} | ${t ? (t.max / 1000).toFixed(3) : '–'} | ${fmt(c.peakRssMb, 0)} | ${fmt(c.vsFloor)} | ${fmt(c.vsTrivy)} | ${(status + (c.note ?? '')).replace(/\|/g, '\\|')} |`,
      );
    }
  }
  return out.join('\n');
}

export function markdown(r: Results): string {
  const m = r.machine;
  const lines = [
    '# Kensus benchmark results',
    '',
    `Generated by \`npm run bench${m.mode === 'quick' ? ' -- --quick' : ''}\` on ${m.date}. Do not edit: run it again.`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB RAM; ${m.os}, Linux ${m.kernel}; Node ${m.node}. ` +
      `Mode: ${m.mode}, ${m.runs} runs per figure (median, min, max of wall time; peak RSS is the largest of the runs). ` +
      `Kensus ${m.kensus}. Trivy: ${m.trivy}. Debian image: ${m.debian}. ` +
      `Load average (1 min) at start ${m.loadAverage.start.toFixed(1)}, at end ${m.loadAverage.end.toFixed(1)}` +
      (Math.max(m.loadAverage.start, m.loadAverage.end) > m.cores ? ' — **the machine was busy with other work: figures are slower and noisier than on an idle machine**.' : '.'),
    '',
    'Archives are read from the page cache (every file was read once before timing). `stream` pipes the docker archive through `cat` into the reader (`docker-archive:/dev/stdin`).',
    '',
    '¹ The floor is `floor-walk` (the bare walk, no matching), and `floor-walk-parallel` (the same with the layers inflated concurrently, one per core) for the compressed shapes.',
    '',
    '## Goals',
    '',
    '| goal | met | figures |',
    '|---|---|---|',
    ...r.goals.map((g) => `| ${g.goal} | ${g.met === null ? 'not measured' : g.met ? 'yes' : '**no**'} | ${g.detail.replace(/\|/g, '\\|')} |`),
    '',
    '## Images',
    '',
    table(r.images),
    '',
    '## Scaling (docker-archive on disk)',
    '',
    table(r.scaling),
    '',
    '## Start-up',
    '',
    table([{ image: '-', shape: '-', contenders: r.cliStart }]),
    '',
  ];
  if (r.serve) lines.push(...serveMarkdown(r.serve));
  if (r.store) lines.push('', ...storeMarkdown(r.store, '## History store (quick form of `npm run bench:store`)'));
  if (r.notes.length) lines.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

/** The shape the issue asks of --json (plus scaling, start-up, goals and notes). */
export function json(r: Results): string {
  return JSON.stringify(r, null, 1) + '\n';
}

/** A compact table for the terminal. */
export function terminal(rows: Row[]): string {
  const lines: string[] = [];
  for (const row of rows) {
    lines.push(`${row.image} / ${row.shape}`);
    for (const c of row.contenders) {
      const t = c.wallMs;
      const fig = t ? `${(t.median / 1000).toFixed(3)} s  [${(t.min / 1000).toFixed(3)}–${(t.max / 1000).toFixed(3)}]  ${fmt(c.peakRssMb, 0)} MB  floor×${fmt(c.vsFloor)}  trivy×${fmt(c.vsTrivy)}` : c.status;
      lines.push(`  ${c.name.padEnd(18)} ${fig}${c.note ? '  ' + c.note : ''}`);
    }
  }
  return lines.join('\n');
}
