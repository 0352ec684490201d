import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import * as pty from 'node-pty';
import { describe, expect, it } from 'vitest';
import { loadFixtures } from '../../src/fixtures/load.js';
import { validateReport } from '../support/validate-report.js';

/**
 * `npm run demo` shows the whole job (issue 18): the image scan of the fixtures, then the fixture
 * cluster as a snapshot with NODES, LICENCE USAGE (VPC/PVU and the rule), GPU INVENTORY BY SKU and
 * ENTITLEMENTS against docs/entitlements.yaml; and on a terminal no line is wider than it.
 */
const repo = resolve(import.meta.dirname, '../..');

function inPty(command: string, cols: number): Promise<{ output: string; exitCode: number }> {
  return new Promise((done) => {
    const term = pty.spawn('/bin/sh', ['-c', command], { name: 'xterm', cols, rows: 50, cwd: repo, env: { ...(process.env as Record<string, string>), KENSUS_LOG_LEVEL: 'warn' } });
    let output = '';
    term.onData((d) => (output += d));
    term.onExit(({ exitCode }) => done({ output, exitCode }));
  });
}

const SECTIONS = ['IMAGES', 'CONTAINERS', 'FINISHED PODS (not counted)', 'NODES', 'LICENCE USAGE', 'GPU INVENTORY BY SKU', 'ENTITLEMENTS'];

describe('the demo', () => {
  it('npm run demo prints every section, in order, with the figures a licence manager asks for', () => {
    const r = spawnSync('bash', ['scripts/demo.sh'], { cwd: repo, encoding: 'utf8', env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' }, timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const headings = r.stdout.split('\n').filter((l) => SECTIONS.includes(l));
    expect(headings).toEqual(SECTIONS);
    const section = (name: string) => r.stdout.split(`${name}\n`)[1].split('\n\n')[0];
    expect(section('NODES')).toMatch(/^gpu-h100\s+64\s+8x NVIDIA-H100-80GB-HBM3\s+NVAIE-H100\s+/m);
    // The IBM figures: VPC with their PVU, the rule as a numbered note under the table.
    expect(section('LICENCE USAGE')).toMatch(/^IBM MQ Advanced\s+VIRTUAL_PROCESSOR_CORE\s+9\s+630\s+cluster\s+-\s+\[\d+\]$/m);
    expect(section('LICENCE USAGE')).toMatch(/^IBM App Connect Enterprise\s+PROCESSOR_VALUE_UNIT\s+140\s+140\s+cluster/m);
    expect(section('LICENCE USAGE')).toMatch(/^\[\d+\] IBM container licensing: charged containers' CPU limits/m);
    // Every GPU by SKU, and of them the ones on nodes running NVAIE-gated software.
    expect(section('GPU INVENTORY BY SKU')).toMatch(/^NVAIE-H100\s+8\s+gpu-h100\s+8\s+gpu-h100$/m);
    expect(section('ENTITLEMENTS')).toMatch(/^IBM App Connect Enterprise\s+PROCESSOR_VALUE_UNIT\s+140\s+100\s+140%\s+over$/m);
    expect(section('ENTITLEMENTS')).toMatch(/^IBM MQ Advanced\s+VIRTUAL_PROCESSOR_CORE\s+9\s+10\s+90%\s+warning$/m);
    expect(section('ENTITLEMENTS')).toMatch(/^NVIDIA AI Enterprise\s+per-gpu\s+10\s+16\s+62\.5%\s+ok$/m);
  });

  it('demo -o json: every fixture image and the cluster figures in one schema-valid report', async () => {
    const r = spawnSync(process.execPath, ['bin/kensus.js', 'demo', '-o', 'json'], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(validateReport(report)).toEqual([]);
    expect(report.images).toHaveLength((await loadFixtures()).length);
    expect(report.nodes.map((n: { name: string }) => n.name)).toEqual(['cp-1', 'gpu-h100', 'gpu-mig', 'gpu-nolabel', 'plain-1']);
    expect(report.entitlements.find((e: { product: string }) => e.product === 'IBM App Connect Enterprise')).toMatchObject({ used: 140, owned: 100, status: 'over' });
    expect(report.cluster).toMatchObject({ id: 'kensus-demo-cluster', source: 'snapshot' });
  });

  for (const cols of [80, 120]) {
    it(`on a ${cols}-column terminal no line of the default tables is wider than the terminal`, async () => {
      const { output, exitCode } = await inPty(`${JSON.stringify(process.execPath)} ${join(repo, 'bin/kensus.js')} demo`, cols);
      expect(exitCode, output).toBe(0);
      const lines = output.replace(/\r/g, '').split('\n');
      for (const s of SECTIONS) expect(lines).toContain(s);
      const widest = Math.max(...lines.map((l) => [...l].length));
      expect(widest, lines.find((l) => [...l].length === widest)).toBeLessThanOrEqual(cols);
      // -o wide is the full view: it is not cut.
      const wide = await inPty(`${JSON.stringify(process.execPath)} ${join(repo, 'bin/kensus.js')} demo -o wide`, cols);
      expect(wide.output).toMatch(/RULE\s*\r?\n/);
      expect(wide.output).toContain("IBM container licensing: charged containers' CPU limits; a charged container without a CPU limit counts the node capacity");
    });
  }
});
