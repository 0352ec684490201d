import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as pty from 'node-pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFixtures } from '../../src/fixtures/load.js';
import { writeOciArchive } from '../../src/fixtures/image-writer.js';

/**
 * Progress of image reads (layers done of total, bytes, rate) on stderr when it is a terminal,
 * drawn by cli-progress, in a real pseudo-terminal; stdout (the report) stays clean, and nothing
 * is drawn when stderr is not a terminal.
 */
const repo = resolve(import.meta.dirname, '../..');
let dir: string;
let archive: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kensus-progress-'));
  const fx = (await loadFixtures()).find((f) => f.signature === 'oracle-database' && f.name === 'ee-19c');
  if (!fx) throw new Error('fixture oracle-database/ee-19c is gone: update this test');
  archive = join(dir, 'oracle.oci.tar');
  await writeOciArchive(fx, archive, { compression: 'gzip' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function inPty(command: string): Promise<{ output: string; exitCode: number }> {
  return new Promise((done) => {
    const term = pty.spawn('/bin/sh', ['-c', command], { name: 'xterm', cols: 120, rows: 30, cwd: repo, env: { ...(process.env as Record<string, string>), KENSUS_LOG_LEVEL: 'warn' } });
    let output = '';
    term.onData((d) => (output += d));
    term.onExit(({ exitCode }) => done({ output, exitCode }));
  });
}

describe('progress of image reads', () => {
  it('on a terminal: layers, bytes and rate on stderr; the JSON on stdout is untouched', async () => {
    const out = join(dir, 'out.json');
    const cli = `${JSON.stringify(process.execPath)} bin/kensus.js`;
    const { output, exitCode } = await inPty(`${cli} scan image oci-archive:${archive} --no-cache -o json > ${out}`);
    expect(exitCode, output).toBe(0);
    expect(output).toMatch(/kensus: \S+ \d+\/\d+ layers \| \d+\.\d MB at \d+\.\d MB\/s \| oci-archive:/);
    const text = readFileSync(out, 'utf8');
    expect(text).not.toContain('\x1b[');
    expect(JSON.parse(text).images[0].products.map((p: { id: string }) => p.id)).toContain('oracle-database');
  });

  it('stderr not a terminal: nothing drawn', async () => {
    const out = join(dir, 'out2.json');
    const err = join(dir, 'err.txt');
    const { exitCode } = await inPty(`${JSON.stringify(process.execPath)} bin/kensus.js scan image oci-archive:${archive} --no-cache -o json > ${out} 2> ${err}`);
    expect(exitCode).toBe(0);
    expect(readFileSync(err, 'utf8')).toBe('');
    expect(JSON.parse(readFileSync(out, 'utf8')).images).toHaveLength(1);
  });
});
