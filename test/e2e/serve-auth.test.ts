import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClusterList } from '../support/cluster-objects.js';
import { startTestCluster, type TestCluster } from '../support/k8s.js';

/**
 * Who may read the dashboard of `kensus serve` (the real CLI, a child process): an API token
 * from --api-token-file, or the caller's Kubernetes token, which serve checks with a TokenReview
 * and a SubjectAccessReview at the test API server. No token ever comes back in a response.
 */

const dir = mkdtempSync(join(tmpdir(), 'kensus-serve-auth-'));
const apiToken = 'serve-auth-api-token-5d1c8e0b';
let cluster: TestCluster;
let child: ChildProcess;
let url: string;
let stderr = '';

function startServe(args: string[]): Promise<string> {
  child = spawn(process.execPath, ['bin/kensus.js', 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    cwd: join(import.meta.dirname, '..', '..'),
    env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kensus serve did not start in 30 s: ${stderr}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /kensus: serving on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`kensus serve exited with ${code}: ${stderr}`)));
  });
}

const get = async (path: string, token?: string) => {
  const res = await fetch(`${url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, headers: [...res.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n'), body: await res.text() };
};

beforeAll(async () => {
  cluster = await startTestCluster();
  cluster.addUser('auditor', [{ verbs: ['get'], resources: ['reports'], apiGroups: ['kensus.dev'] }]);
  writeFileSync(join(dir, 'tokens'), `# rotated monthly\n${apiToken}\n`);
  writeFileSync(join(dir, 'snapshot.json'), JSON.stringify(testClusterList()));
  url = await startServe([
    '--api-token-file', join(dir, 'tokens'), '--api-auth', 'kubernetes', '--kubeconfig', cluster.kubeconfigPath,
    '--snapshot', join(dir, 'snapshot.json'), '--metadata-only', '--interval', '1h', '--cache-dir', join(dir, 'cache'),
  ]);
  for (const end = Date.now() + 20_000; Date.now() < end && (await get('/readyz')).status !== 200;) await new Promise((r) => setTimeout(r, 50));
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('kensus serve read API authentication', () => {
  it('asks for a bearer token, and keeps the probes, metrics and the page shell open', async () => {
    const none = await get('/api/v1/views/overview');
    expect(none.status).toBe(401);
    expect(none.headers).toContain('www-authenticate: Bearer realm="kensus"');
    expect(JSON.parse(none.body)).toMatchObject({ methods: ['token', 'kubernetes'] });
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/metrics')).status).toBe(200);
    expect((await get('/')).status).toBe(200);
    expect((await get('/api/v1/report')).status).toBe(401);
  });

  it('lets in the API token and a Kubernetes user allowed to get reports.kensus.dev', async () => {
    expect(JSON.parse((await get('/api/v1/whoami', apiToken)).body)).toEqual({ user: 'api-token', via: 'token' });
    expect(JSON.parse((await get('/api/v1/whoami', cluster.tokens.auditor)).body)).toEqual({ user: 'auditor', via: 'kubernetes' });
    expect(JSON.parse((await get('/api/v1/whoami', cluster.tokens.admin)).body)).toEqual({ user: 'admin', via: 'kubernetes' }); // system:masters
    const overview = JSON.parse((await get('/api/v1/views/overview', cluster.tokens.auditor)).body);
    expect(overview.counts).toMatchObject({ nodes: 5, pods: 23 });
  });

  it('refuses a Kubernetes user without the permission (403, saying what to grant) and an unknown token (401)', async () => {
    const denied = await get('/api/v1/views/nodes', cluster.tokens.restricted);
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body).message).toBe('restricted may not get reports.kensus.dev (grant it with a ClusterRole: apiGroups [kensus.dev], resources [reports], verbs [get])');
    const unknown = await get('/api/v1/views/nodes', 'a-token-nobody-issued-1234567890');
    expect(unknown.status).toBe(401);
  });

  it('never sends a token back: not in bodies, headers or error messages', async () => {
    const secrets = [apiToken, cluster.tokens.auditor, cluster.tokens.restricted, cluster.tokens.admin];
    const paths = ['/api/v1/whoami', '/api/v1/report', '/api/v1/views/overview', '/api/v1/views/findings?pageSize=500', '/api/v1/views/pods?format=csv', '/api/v1/download/report.json', '/api/v1/download/usage?quarter=2026Q4', '/api/v1/views/nodes?sort=nope', '/metrics', '/'];
    for (const t of secrets) {
      for (const p of paths) {
        const r = await get(p, t);
        for (const s of secrets) {
          expect(r.body.includes(s), `${p} body`).toBe(false);
          expect(r.headers.includes(s), `${p} headers`).toBe(false);
        }
      }
    }
    expect(secrets.some((s) => stderr.includes(s))).toBe(false);
  });

  it('says it cannot check a new token while the API server is down (503), and keeps serving the callers it knows', async () => {
    await cluster.stop();
    const down = await get('/api/v1/views/overview', 'another-token-nobody-issued-0987654321');
    expect(down.status).toBe(503);
    expect(JSON.parse(down.body).message).toMatch(/^cannot check the token now/);
    expect((await get('/api/v1/views/overview', cluster.tokens.auditor)).status).toBe(200); // reviewed within the last minute
    expect((await get('/api/v1/views/overview', apiToken)).status).toBe(200);
  });
});
