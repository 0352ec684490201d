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
