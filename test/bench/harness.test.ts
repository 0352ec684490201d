// The harness's measuring and reporting: real processes under GNU time, ratios and goal checks
// computed from figures, and the --json shape the issue asks for.
import { describe, expect, it } from 'vitest';
import type { ContenderResult } from '../../bench/contenders.js';
import { checkReport } from '../../bench/contenders.js';
import { summarize, timeShell } from '../../bench/measure.js';
import { breakdown } from '../../bench/profile.js';
import { parseArgs } from '../../bench/run-args.js';
import { addRatios, checkGoals, json, markdown, type Results, type Row } from '../../bench/report.js';

function c(name: string, median: number, rss = 50): ContenderResult {
  return { name, status: 'ok', wallMs: { median, min: median * 0.9, max: median * 1.1 }, peakRssMb: rss, vsFloor: null, vsTrivy: null };
}

describe('measure', () => {
  it('times a real process and reads its peak RSS from GNU time', async () => {
    // a process that touches ~60 MB shows at least that as its peak
    const s = await timeShell(`${process.execPath} -e "const b = Buffer.alloc(60 << 20, 1); console.log(b[5])"`, 30_000);
    expect(s.ok).toBe(true);
    expect(s.stdout.trim()).toBe('1');
    expect(s.rssKb).toBeGreaterThan(60 * 1024);
    expect(s.wallMs).toBeGreaterThan(1);
  });

  it('reports the largest process of a pipeline', async () => {
    const s = await timeShell(`echo x | ${process.execPath} -e "const b = Buffer.alloc(80 << 20, 1); process.stdin.resume()"`, 30_000);
    expect(s.ok).toBe(true);
    expect(s.rssKb).toBeGreaterThan(80 * 1024);
  });

  it('reports failures and time-outs instead of throwing', async () => {
    const bad = await timeShell('echo broken >&2; exit 3', 30_000);
    expect(bad).toMatchObject({ ok: false });
    expect(bad.error).toMatch(/exit 3: broken/);
    const slow = await timeShell('sleep 5', 300);
    expect(slow.ok).toBe(false);
    expect(slow.error).toMatch(/timed out/);
    expect(slow.wallMs).toBeLessThan(4000);
  });

  it('summarizes median, min and max', () => {
    expect(summarize([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5 });
    expect(summarize([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4 });
    expect(() => summarize([])).toThrow();
  });
});

describe('report', () => {
  const row = (image: string, shape: string, list: ContenderResult[]): Row => {
    const r = { image, shape, contenders: list };
    addRatios(r);
    return r;
  };

  it('divides a compressed shape by floor-walk-parallel where it was measured', () => {
    const r = row('debian', 'oci-gzip', [c('floor-walk', 200), c('floor-walk-parallel', 100), c('kensus-cold', 120)]);
    addRatios(r);
    expect(r.contenders.find((x) => x.name === 'kensus-cold')!.vsFloor).toBeCloseTo(1.2);
    const machine: Results['machine'] = { cpu: 'x', cores: 2, memoryGb: 24, os: 'Debian', kernel: '6', node: '20', date: 'd', mode: 'quick', runs: 3, debian: 'synthetic', trivy: 't', kensus: '0.1.0', loadAverage: { start: 0.5, end: 0.7 } };
    const goals = checkGoals({ machine, images: [r], scaling: [], cliStart: [], goals: [], notes: [] });
    expect(goals.find((g) => g.goal.startsWith('kensus-cold ≤ 1.3×'))).toMatchObject({ met: true, detail: 'met on all 1' });
    // without the parallel floor, the serial one is the divisor
    const serial = row('debian', 'oci-gzip', [c('floor-walk', 200), c('kensus-cold', 120)]);
    expect(serial.contenders[1].vsFloor).toBeCloseTo(0.6);
  });

  it('divides by floor-walk and Trivy medians', () => {
    const r = row('huge', 'docker-archive', [c('floor-walk', 100), c('kensus-cold', 120), c('trivy', 1200)]);
    const k = r.contenders[1];
    expect(k.vsFloor).toBeCloseTo(1.2);
    expect(k.vsTrivy).toBeCloseTo(0.1);
  });

  it('leaves ratios empty when the divisor is not available', () => {
    const r = row('x', 'stream', [c('kensus-cold', 100), { ...c('trivy', 0), status: 'not available', wallMs: null }]);
    expect(r.contenders[0].vsFloor).toBeNull();
    expect(r.contenders[0].vsTrivy).toBeNull();
  });

  it('checks the goals from the figures, naming what missed', () => {
    const results: Results = {
      machine: { cpu: 'x', cores: 2, memoryGb: 24, os: 'Debian', kernel: '6', node: '20', date: 'd', mode: 'quick', runs: 3, debian: 'synthetic', trivy: 't', kensus: '0.1.0', loadAverage: { start: 0.5, end: 0.7 } },
      images: [
        row('huge', 'docker-archive', [c('floor-cat', 1000), c('floor-walk', 100), c('kensus-cold', 120), c('kensus-warm', 4), c('trivy', 1200, 170)]),
        row('many-small', 'docker-archive', [c('floor-walk', 100), c('kensus-cold', 200, 160), c('kensus-warm', 50), c('trivy', 600, 150)]),
        row('shared-base-b', 'oci-gzip', [c('kensus-cold', 1000), c('kensus-warm', 20), c('kensus-after-base', 30)]),
      ],
      scaling: [],
      cliStart: [c('node -e 0', 40), c('kensus --version', 90), c('kensus scan (tiny image, cold)', 95)],
      goals: [],
      notes: [],
    };
    const goals = checkGoals(results);
    const find = (prefix: string) => goals.find((g) => g.goal.startsWith(prefix))!;
    expect(find('fixed cost of a scan')).toMatchObject({ met: false, detail: '+55 ms (95 vs 40 ms)' });
    expect(find('kensus-cold ≤ 1.3×')).toMatchObject({ met: false, detail: 'missed: many-small/docker-archive 2.00×' });
    expect(find('huge image on disk')).toMatchObject({ met: true });
    expect(find('kensus-cold ≥ 5× faster than Trivy on files')).toMatchObject({ met: false });
    expect(find('kensus-cold ≥ 5× faster than Trivy on files').detail).toContain('many-small/docker-archive 3.0× faster');
    expect(find('kensus-cold ≥ 3× faster than Trivy on uncompressed streams').met).toBeNull();
    expect(find('kensus-cold uses less memory')).toMatchObject({ met: false });
    expect(find('warm cache')).toMatchObject({ met: false, detail: 'missed: many-small/docker-archive 25%' });
    expect(find('kensus --version')).toMatchObject({ met: true, detail: '90 ms' });
    expect(find('second shared-base image')).toMatchObject({ met: false, detail: 'missed: shared-base-b/oci-gzip 1.50× warm, 3% of cold' });

    results.goals = goals;
    const doc = JSON.parse(json(results));
    expect(doc.machine.cores).toBe(2);
    const contender = doc.images[0].contenders[2];
    expect(Object.keys(contender)).toEqual(expect.arrayContaining(['name', 'wallMs', 'peakRssMb', 'vsFloor', 'vsTrivy']));
    expect(contender.wallMs).toEqual({ median: 120, min: 108, max: 132 });
    const md = markdown(results);
    expect(md).toContain('| huge | docker-archive | kensus-cold | 0.120 |');
    expect(md).toContain('| kensus-cold ≤ 1.3× floor-walk (floor-walk-parallel for compressed shapes), every image and shape | **no** |');
  });

  it('reads what a scan found from its JSON', () => {
    expect(checkReport(JSON.stringify({ images: [{ products: [{ id: 'ibm-mq' }] }], errors: [] }))).toBe('found ibm-mq');
    expect(checkReport(JSON.stringify({ images: [{ products: [] }], errors: [] }))).toBe('found no product');
    expect(checkReport(JSON.stringify({ images: [], errors: [{ message: 'bad layer' }] }))).toBe('error: bad layer');
    expect(checkReport('not json')).toMatch(/^error/);
  });
});

describe('profile', () => {
  it('groups self time by npm package and project file', () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9 });
    const b = breakdown(
      {
        nodes: [
          { id: 1, callFrame: frame('compile', 'file:///repo/node_modules/ajv/dist/core.js') },
          { id: 2, callFrame: frame('validate', 'file:///repo/node_modules/@scope/pkg/x.js') },
          { id: 3, callFrame: frame('walk', 'file:///repo/dist/image/walk-layer.js') },
          { id: 4, callFrame: frame('(garbage collector)', '') },
        ],
        samples: [1, 1, 2, 3, 4, 3],
        timeDeltas: [1000, 2000, 500, 4000, 250, 1000],
      },
      '/repo',
    );
    expect(b.totalMs).toBeCloseTo(8.75);
    expect(b.byModule).toEqual([['dist/image/walk-layer.js', 5], ['npm:ajv', 3], ['npm:@scope/pkg', 0.5], ['(garbage collector)', 0.25]]);
    expect(b.byFunction[0]).toEqual(['walk dist/image/walk-layer.js:10', 5]);
  });
});

describe('arguments', () => {
  it('defaults to 5 runs, 3 with --quick, and rejects what it does not know', () => {
    expect(parseArgs([])).toMatchObject({ quick: false, runs: 5, json: null, budgetMinutes: 120 });
    expect(parseArgs(['--quick', '--json', 'out.json'])).toMatchObject({ quick: true, runs: 3, json: 'out.json', budgetMinutes: 2.5 });
    expect(parseArgs(['--runs', '7', '--only', 'huge,debian'])).toMatchObject({ runs: 7, only: ['huge', 'debian'] });
    expect(() => parseArgs(['--fast'])).toThrow(/unknown argument --fast/);
    expect(() => parseArgs(['--runs', '0'])).toThrow(/positive integer/);
  });
});
