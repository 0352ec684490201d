import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawNode, rawPod } from '../support/cluster-objects.js';

/**
 * Issue 19: `kensus serve`'s scheduled sweeps run in a worker thread. The real CLI sweeps a
 * large snapshot (12,000 pods on 300 nodes, metadata only: seconds of CPU work) and, while the
 * sweep runs (/readyz still says the first sweep is running), /healthz and admission reviews are
 * answered within their deadlines: 1 s for /healthz (a kubelet probe's default timeoutSeconds)
 * and 1 s for a review (the webhook of deploy/ gives 5 s; issue 19's goal for p99 is 50 ms, the
 * benchmark measures that without a sweep running).
 */

const PODS = 12_000;
const NODES = 300;
const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'kensus-serve-sweep-'));
let url: string;

function bigSnapshot(): Record<string, unknown> {
  const nodes = Array.from({ length: NODES }, (_, i) => rawNode({ name: `node-${i}`, cpu: '32' }));
  const images = ['nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3', 'container-registry.oracle.com/database/enterprise:19.3.0.0', 'quay.io/mongodb/mongodb-enterprise-server:7.0.2-ubi8', 'docker.io/library/nginx:1.25'];
  const pods = Array.from({ length: PODS }, (_, i) =>
    rawPod({
      namespace: `ns-${i % 40}`,
      name: `pod-${i}`,
      node: `node-${i % NODES}`,
      containers: [
        { name: 'app', image: images[i % images.length], limits: { cpu: '1' } },
        { name: 'sidecar', image: `registry.example.com/team-${i % 25}/sidecar:${i % 7}`, limits: { cpu: '100m' } },
      ],
    }),
  );
  return { apiVersion: 'v1', kind: 'List', items: [...nodes, ...pods], metadata: { resourceVersion: '' } };
}

const review = (uid: string) =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid, operation: 'CREATE', namespace: 'ns-1', object: { kind: 'Pod', metadata: { name: uid }, spec: { containers: [{ name: 'db', image: 'container-registry.oracle.com/database/enterprise:19.3.0.0' }] } } },
  });

async function timed(run: () => Promise<Response>): Promise<{ ms: number; status: number; body: string }> {
  const t0 = performance.now();
  const res = await run();
  const body = await res.text();
  return { ms: performance.now() - t0, status: res.status, body };
}

const snapshot = join(dir, 'big.json');
const children: ChildProcess[] = [];

/** `kensus serve` on the big snapshot; resolves with its URL once it says where it listens. */
function startServe(extra: string[]): Promise<{ url: string; child: ChildProcess; stderr: () => string }> {
  const c = spawn(process.execPath, ['bin/kensus.js', 'serve', '--host', '127.0.0.1', '--port', '0', '--snapshot', snapshot, '--metadata-only', '--no-api-auth', '--interval', '1h', '--no-cache', ...extra], {
    cwd: root,
    env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(c);
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kensus serve did not start in 60 s: ${err}`)), 60_000);
    c.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /kensus: serving on (http:\/\/\S+)/.exec(err);
      if (m) (clearTimeout(timer), resolve({ url: m[1], child: c, stderr: () => err }));
    });
    c.once('exit', (code) => reject(new Error(`kensus serve exited with ${code}: ${err}`)));
  });
}

beforeAll(async () => {
  writeFileSync(snapshot, JSON.stringify(bigSnapshot()));
  url = (await startServe([])).url;
}, 120_000);

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode === null) {
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('kensus serve: a sweep of a large cluster runs beside admission, not on its event loop', () => {
  it('answers /healthz and admission reviews within their deadlines while the sweep runs', async () => {
    const health: number[] = [];
    const reviews: number[] = [];
    let sweepRunning = true;
    let n = 0;
    for (const end = Date.now() + 240_000; Date.now() < end;) {
      const [h, r, ready] = await Promise.all([
        timed(() => fetch(`${url}/healthz`)),
        timed(() => fetch(`${url}/validate`, { method: 'POST', body: review(`r-${n++}`), headers: { 'content-type': 'application/json' } })),
        fetch(`${url}/readyz`).then((x) => x.status),
      ]);
      expect(h.status).toBe(200);
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body).response.allowed).toBe(true);
      if (ready === 200) {
        sweepRunning = false;
        break;
      }
      health.push(h.ms);
      reviews.push(r.ms);
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(sweepRunning, 'the first sweep did not finish in 4 minutes').toBe(false);
    // The sweep took long enough to be measured beside (a handful of rounds at least).
    expect(health.length, `only ${health.length} rounds during the sweep`).toBeGreaterThanOrEqual(10);
    const worst = (xs: number[]) => Math.max(...xs);
    console.log(`during the sweep: ${health.length} rounds; /healthz worst ${worst(health).toFixed(1)} ms, review worst ${worst(reviews).toFixed(1)} ms`);
    expect(worst(health), '/healthz').toBeLessThan(1_000);
    expect(worst(reviews), 'admission review').toBeLessThan(1_000);

    const report = (await (await fetch(`${url}/api/v1/report`)).json()) as { containers: unknown[]; nodes: unknown[] };
    expect(report.nodes.length).toBe(NODES);
    expect(report.containers.length).toBe(2 * PODS);
  }, 300_000);

  it('stops a sweep past --sweep-timeout, says so, and stays healthy', async () => {
    const limited = await startServe(['--sweep-timeout', '1s']);
    for (const end = Date.now() + 60_000; Date.now() < end && !/sweep failed/.test(limited.stderr()); ) await new Promise((r) => setTimeout(r, 100));
    expect(limited.stderr()).toMatch(/sweep failed/);
    expect(limited.stderr()).toMatch(/the sweep took longer than 1 s and was stopped/);
    expect((await fetch(`${limited.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${limited.url}/readyz`)).status).toBe(503); // no sweep has finished
    expect(limited.child.exitCode).toBeNull();
  }, 120_000);
});
