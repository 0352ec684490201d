import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('logs', () => {
  it('redact credentials at any depth and in the message (a real pino logger, to stderr)', () => {
    const script = `import { log } from './src/log.ts';
      let o = { token: 'tok-at-depth-9', header: 'Authorization: Bearer abc.def.ghijklmnop' };
      for (let i = 0; i < 8; i++) o = { inner: o };
      log.warn({ o, err: Object.assign(new Error('Basic dXNlcjpzZWNyZXQ='), { config: { auth: 'cm9ib3Q6cGFzcw==' } }) }, 'registry said Bearer eyJhbGciOi.eyJzdWIiOi.sigsigsig');`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, KENSUS_LOG_LEVEL: 'debug' } });
    expect(r.status, r.stderr).toBe(0);
    const line = JSON.parse(r.stderr.trim().split('\n').pop()!);
    const text = JSON.stringify(line);
    for (const secret of ['tok-at-depth-9', 'ghijklmnop', 'dXNlcjpzZWNyZXQ=', 'cm9ib3Q6cGFzcw==', 'sigsigsig']) expect(text).not.toContain(secret);
    expect(line.msg).toBe('registry said Bearer [redacted]');
    expect(text).toContain('[redacted]');
  });
});

describe('the lazy logger', () => {
  const run = (script: string, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, KENSUS_LOG_LEVEL: 'warn', ...env } });
  const pinoLoaded = `import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/pino/'));`;

  it('loads pino only when a line is really written', () => {
    const r = run(`${pinoLoaded}
      import { log, setLogLevel } from './src/log.ts';
      log.debug({ a: 1 }, 'not written at warn');
      log.info('nor this');
      const before = loaded();
      setLogLevel('debug');
      log.debug({ a: 1 }, 'written now');
      process.stdout.write(JSON.stringify({ before, after: loaded(), level: log.level }));`);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ before: false, after: true, level: 'debug' });
    const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: number });
    expect(lines.map((l) => [l.msg, l.level])).toEqual([['written now', 20]]);
  });

  it('keeps the level set before pino loads, silent included, and refuses an unknown one', () => {
    const r = run(`import { log, setLogLevel } from './src/log.ts';
      setLogLevel('silent');
      log.error('not written');
      setLogLevel('error');
      log.warn('not written either');
      log.error({ n: 2 }, 'written');
      try { setLogLevel('loud'); } catch (err) { process.stdout.write(err.message); }`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("unknown log level 'loud'");
    const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: number; n: number });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'written', level: 50, n: 2 });
  });
});
