import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pty from 'node-pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/model/report.js';
import { loadFixtures } from '../../src/fixtures/load.js';
import { buildFixtureImage, docker, removeContainer, runSleeper, type BuiltImage } from '../support/fixture-images.js';

const repo = join(import.meta.dirname, '../..');
const name = `kensus-e2e-pty-${process.pid}`;
let img: BuiltImage;
let dir: string;

beforeAll(async () => {
  const fx = (await loadFixtures()).find((f) => f.signature === 'mongodb-enterprise' && f.name === 'enterprise-7.0')!;
  img = await buildFixtureImage(fx, `${name}:test`);
  runSleeper(img.tag, name);
  dir = mkdtempSync(join(tmpdir(), 'kensus-pty-'));
}, 120_000);

afterAll(() => {
  removeContainer(name);
  try {
    docker(['rmi', '-f', img.tag]);
  } catch {
    /* gone */
  }
  img?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function runInPty(command: string): Promise<{ output: string; exitCode: number }> {
  return new Promise((resolve) => {
    const term = pty.spawn('/bin/sh', ['-c', command], { name: 'xterm', cols: 120, rows: 30, cwd: repo, env: process.env as Record<string, string> });
    let output = '';
    term.onData((d) => (output += d));
    term.onExit(({ exitCode }) => resolve({ output, exitCode }));
  });
}

describe('kensus scan container in a terminal', () => {
  it('draws progress on the terminal (stderr) while stdout holds only the JSON report', async () => {
    const out = join(dir, 'out.json');
    const cli = `${JSON.stringify(process.execPath)} --import tsx test/support/kensus-cli.ts`;
    const { output, exitCode } = await runInPty(`${cli} scan container ${name} --runtime docker --format json --no-cache > ${out}`);
    expect(exitCode, output).toBe(0);
    // cli-progress draws the bar: containers done of total, and what runs now.
    expect(output).toMatch(/kensus: \S+ 0\/1 containers \| scanning kensus-e2e-pty-\d+/);
    expect(output).toMatch(/kensus: scanned 1 container\(s\) in [\d.]+ s: 1 by exec, 0 from the image, 0 failed/);
    const text = readFileSync(out, 'utf8');
    expect(text).not.toContain('\x1b[');
    const report = JSON.parse(text) as Report;
    expect(report.containers[0]).toMatchObject({ name, method: 'exec' });
    expect(report.containers[0].products.map((p) => p.id)).toEqual(['mongodb-enterprise']);
  });

  it('draws no progress when stderr is not a terminal', async () => {
    const out = join(dir, 'out2.json');
    const err = join(dir, 'err.txt');
    const cli = `${JSON.stringify(process.execPath)} --import tsx test/support/kensus-cli.ts`;
    const { exitCode } = await runInPty(`${cli} scan container ${name} --runtime docker --format json --no-cache > ${out} 2> ${err}`);
    expect(exitCode).toBe(0);
    expect(readFileSync(err, 'utf8')).toBe('');
    expect((JSON.parse(readFileSync(out, 'utf8')) as Report).containers).toHaveLength(1);
  });
});
