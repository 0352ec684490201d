/**
 * Hostile input through the built CLI (`node bin/kensus.js`, as users run it; issue 19): every
 * case ends within its time bound with the right exit code and one line that says what is wrong,
 * and where the input is a list of objects, the bad ones become `errors` rows and the rest goes on.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const work = mkdtempSync(join(tmpdir(), 'kensus-hostile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `node bin/kensus.js ARGS`, killed after `timeoutMs` (a hang shows as code null). */
function kensus(args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Run {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['bin/kensus.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, KENSUS_LOG_LEVEL: 'warn', ...opts.env },
    timeout: opts.timeoutMs ?? 30_000,
    maxBuffer: 256 << 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

/** A shell pipeline ending in the CLI (`... | kensus ARGS`). */
function piped(producer: string, args: string[], timeoutMs = 30_000): Run {
  const t0 = Date.now();
  const cmd = `${producer} | ${JSON.stringify(process.execPath)} bin/kensus.js ${args.map((a) => `'${a}'`).join(' ')}`;
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' }, timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

/** Exit code, nothing on stdout, exactly one `kensus: ` line on stderr matching `message`, no stack. */
function expectOneLineFailure(r: Run, code: number, message: RegExp): void {
  expect(r.code, `exit code (null: killed after its time bound)\n${r.stderr}`).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^kensus: /);
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('archives that never end', () => {
  it('docker-archive:/dev/zero ends at its two zero blocks: exit 2, one line', () => {
    const r = kensus(['scan', 'image', 'docker-archive:/dev/zero', '--no-cache'], { timeoutMs: 20_000 });
    expectOneLineFailure(r, 2, /\/dev\/zero holds no tar member/);
  });

  it('endless zeros on a pipe end the same way, and the writer is let go', () => {
    const r = piped('cat /dev/zero', ['scan', 'image', 'docker-archive:/dev/stdin', '--no-cache'], 20_000);
    expectOneLineFailure(r, 2, /\/dev\/stdin holds no tar member/);
  });
});
