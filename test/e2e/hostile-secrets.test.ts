/**
 * Credentials never leave in what Kensus prints (issue 19): a hostile registry that quotes the
 * Authorization header it was sent in its error body, run through the built CLI with debug
 * logs on. The message still says what happened; the credential is [redacted] everywhere.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';

const work = mkdtempSync(join(tmpdir(), 'kensus-secrets-'));
let proxy: FaultProxy;

beforeAll(async () => {
  const upstream = process.env.KENSUS_TEST_REGISTRY_ANON;
  if (!upstream) throw new Error('KENSUS_TEST_REGISTRY_ANON is not set: the test setup starts the registries');
  proxy = await startFaultProxy(upstream);
});

afterAll(async () => {
  await proxy?.close();
  rmSync(work, { recursive: true, force: true });
});

/** The built CLI, asynchronously: the hostile registry answers from this very process. */
function scan(pullSecret: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(work, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, pullSecret);
  const child = spawn(process.execPath, ['bin/kensus.js', '--log-level', 'debug', 'scan', 'image', `registry:${proxy.host}/team/app:1`, '--pull-secret', file, '--no-cache', '--format', 'json'], {
    env: { ...process.env, KENSUS_LOG_LEVEL: 'debug' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('a registry that echoes the credentials it was sent', () => {
  it('a Bearer token quoted back is redacted in the error, the errors row and the debug logs', async () => {
    const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJrZW5zdXMtdGVzdCJ9.c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw';
    proxy.fault = { kind: 'echo-auth', scheme: 'Bearer' };
    const r = await scan(JSON.stringify({ auths: { [proxy.host]: { registrytoken: token } } }));
    expect(r.code, r.stderr).toBe(3);
    const all = `${r.stdout}\n${r.stderr}`;
    expect(all).toMatch(/403 Forbidden/);
    expect(all).toMatch(/Authorization: Bearer \[redacted\]/);
    for (const part of token.split('.')) expect(all).not.toContain(part);
  });

  it('Basic credentials quoted back are redacted too', async () => {
    const basic = Buffer.from('robot:hunter2-very-secret').toString('base64');
    proxy.fault = { kind: 'echo-auth', scheme: 'Basic' };
    const r = await scan(JSON.stringify({ auths: { [proxy.host]: { auth: basic } } }));
    expect(r.code, r.stderr).toBe(3);
    const all = `${r.stdout}\n${r.stderr}`;
    expect(all).toMatch(/Authorization: Basic \[redacted\]/);
    expect(all).not.toContain(basic);
    expect(all).not.toContain('hunter2');
  });
});
