/**
 * Timing one command: wall time from Node's monotonic clock around the whole process, peak RSS
 * from GNU time's %M (the largest process of the run, pipelines included, since the shell waits
 * for every stage). Commands run in their own process group so a time-out kills all of them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Sample {
  wallMs: number;
  /** Peak resident set size of the largest process of the run, in KiB (null if unknown). */
  rssKb: number | null;
  ok: boolean;
  stdout: string;
  error?: string;
}

export const TIME_BIN = '/usr/bin/time';

const scratch = mkdtempSync(join(tmpdir(), 'kensus-bench-time-'));
let seq = 0;

/** Runs `sh -c command` under GNU time; never throws. */
export function timeShell(command: string, timeoutMs: number, cwd?: string): Promise<Sample> {
  const out = join(scratch, `t${seq++}`);
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn(TIME_BIN, ['-f', '%e %M', '-o', out, 'sh', '-c', command], { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 4000) stderr += c.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ wallMs: 0, rssKb: null, ok: false, stdout: '', error: e.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      let rssKb: number | null = null;
      try {
        const lines = readFileSync(out, 'utf8').trim().split('\n');
        const m = /^([\d.]+) (\d+)$/.exec(lines[lines.length - 1]);
        if (m) rssKb = Number(m[2]);
        rmSync(out, { force: true });
      } catch {
        // killed before time wrote it
      }
      const text = Buffer.concat(stdout).toString();
      if (timedOut) return resolve({ wallMs, rssKb, ok: false, stdout: text, error: `timed out after ${timeoutMs / 1000} s` });
      if (code !== 0) {
        const last = stderr.trim().split('\n').filter((l) => !/^Command exited with non-zero status/.test(l)).slice(-2).join(' | ');
        return resolve({ wallMs, rssKb, ok: false, stdout: text, error: `exit ${code}: ${last.slice(0, 300)}` });
      }
      resolve({ wallMs, rssKb, ok: true, stdout: text });
    });
  });
}

export interface Summary {
  median: number;
  min: number;
  max: number;
}

export function summarize(values: number[]): Summary {
  if (values.length === 0) throw new Error('summarize: no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1] };
}

/** Single-quotes a word for sh. */
export function sq(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
