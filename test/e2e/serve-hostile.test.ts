/**
 * `kensus serve` (the built bin, plain HTTP on loopback) against clients that send what no API
 * server would (issue 19 item 5): every mistake gets a short 400 saying what was expected
 * where, nothing of the body is echoed (a non-string uid least of all), and the server keeps
 * answering real reviews and its health and metrics endpoints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from '../../src/fixtures/format.js';
import { writeDockerArchive } from '../../src/fixtures/image-writer.js';
import { waitFor } from '../support/daemons.js';

const dir = mkdtempSync(join(tmpdir(), 'kensus-serve-hostile-'));
const children: ChildProcess[] = [];

interface Serve {
  base: string;
  stderr: () => string;
}

/** `node bin/kensus.js serve` on a free loopback port, plain HTTP, no sweep. */
async function startServe(extra: string[] = []): Promise<Serve> {
  // --no-api-auth: the tests read /api/v1/findings
  const child = spawn(process.execPath, ['bin/kensus.js', 'serve', '--host', '127.0.0.1', '--port', '0', '--no-sweep', '--no-api-auth', '--cache-dir', join(dir, 'cache'), ...extra], {
    env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kensus serve did not start in 20 s: ${stderr}`)), 20_000);
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
  return { base, stderr: () => stderr };
}

let serve: Serve;
let base: string;
beforeAll(async () => {
  serve = await startServe();
  base = serve.base;
}, 30_000);

afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

function post(path: string, body: string, at = base): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${at}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const mqPod = (spec: unknown, uid: unknown = 'f6b1c9de-0000-4000-8000-000000000001') =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid, operation: 'CREATE', namespace: 'mq', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'qm' }, spec } },
  });

describe('kensus serve against hostile admission clients', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['a null body', 'null', /the body must be an AdmissionReview object/],
    ['initContainers: "x"', mqPod({ initContainers: 'x', containers: [{ name: 'qm', image: 'icr.io/ibm-messaging/mq:9.4' }] }), /request\.object\.spec\.initContainers must be of type array/],
    ['a number for the uid', mqPod({ containers: [{ name: 'qm', image: 'icr.io/ibm-messaging/mq:9.4' }] }, 987654321), /request\.uid must be of type string/],
    ['an object for the uid', mqPod({ containers: [] }, { toString: 'x', evil: '<script>' }), /request\.uid must be of type string/],
    ['containers that are a string', mqPod('containers'), /request\.object\.spec must be of type object/],
  ];
  for (const [what, body, message] of cases) {
    it(`answers ${what} with a short 400 and echoes nothing`, async () => {
      const r = await post('/validate', body);
      expect(r.status, r.text).toBe(400);
      expect(r.type).toMatch(/^text\/plain/);
      expect(r.text).toMatch(/^not an admission\.k8s\.io\/v1 AdmissionReview: /);
      expect(r.text).toMatch(message);
      expect(r.text.trim().split('\n')).toHaveLength(1);
      expect(r.text.length).toBeLessThan(200);
      expect(r.text).not.toMatch(/987654321|<script>|evil|TypeError|at .*\.js/);
    });
  }

  it('still answers a real review, /healthz and /metrics after them', async () => {
    const r = await post('/validate', mqPod({ containers: [{ name: 'qm', image: 'icr.io/ibm-messaging/mq:9.4.1.0-r1' }] }));
    expect(r.status).toBe(200);
    const answer = JSON.parse(r.text);
    expect(answer).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'f6b1c9de-0000-4000-8000-000000000001' } });
    expect(typeof answer.response.allowed).toBe('boolean');
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/kensus_admission_reviews_total/);
    expect(serve.stderr()).not.toMatch(/request failed/);
  });
});

describe('kensus serve scans images met in admission off its event loop, each within a time budget', () => {
  const unit = '<distribution name="WebLogic Server" ';
  /** A WebLogic registry.xml flooded to 1 MiB with one real entry at its end: seconds of regex work. */
  async function floodImage(name: string): Promise<string> {
    const content = unit.repeat(Math.ceil((1 << 20) / unit.length)).slice(0, (1 << 20) - 200) + '<distribution status="installed" name="WebLogic Server" version="14.1.1.0.0">';
    const fixture: Fixture = { name, signature: 'test', description: name, image: { refs: [`example.test/${name}:1`] }, layers: [{ files: [{ path: '/u01/oracle/inventory/registry.xml', content }] }], expect: [] };
    const file = join(dir, `${name}.tar`);
    await writeDockerArchive(fixture, file);
    return `docker-archive:${file}`;
  }

  async function findings(at: string, ref: string): Promise<{ status: number; products?: Array<{ id: string; version: string | null }> }> {
    const r = await fetch(`${at}/api/v1/findings?image=${encodeURIComponent(ref)}`);
    return { status: r.status, ...(r.status === 200 ? ((await r.json()) as object) : {}) };
  }

  it('answers /healthz at once while the scan of a hostile image runs', async () => {
    const ref = await floodImage('weblogic-flood');
    const review = await post('/validate', mqPod({ containers: [{ name: 'wls', image: ref }] }));
    expect(review.status).toBe(200);
    const latencies: number[] = [];
    const deadline = Date.now() + 120_000;
    let done = false;
    while (!done && Date.now() < deadline) {
      const t0 = Date.now();
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      latencies.push(Date.now() - t0);
      done = (await findings(base, ref)).status === 200;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(done, 'the background scan finished').toBe(true);
    const found = await findings(base, ref);
    expect(found.products?.find((p) => p.id === 'oracle-weblogic-server')?.version).toBe('14.1.1.0.0');
    // The scan took seconds of CPU; on the event loop a health check would have waited for all of it.
    expect(latencies.length).toBeGreaterThan(5);
    expect(Math.max(...latencies)).toBeLessThan(500);
  }, 180_000);

  it('stops a scan past --scan-timeout, says so, and scans the next image', async () => {
    const limited = await startServe(['--scan-timeout', '1']);
    // an archive on a pipe whose writer never finishes: the scan can only wait
    const fifo = join(dir, 'never-ending.tar');
    execFileSync('mkfifo', [fifo]);
    const writer = createWriteStream(fifo);
    try {
      expect((await post('/validate', mqPod({ containers: [{ name: 'slow', image: `docker-archive:${fifo}` }] }), limited.base)).status).toBe(200);
      await waitFor('the scan to be stopped', () => /took longer than 1 s and was stopped/.test(limited.stderr()), 30_000);
      expect((await fetch(`${limited.base}/healthz`)).status).toBe(200);
      const ok = await floodImage('after-timeout');
      // a fresh worker takes the next image (it may need more than 1 s: only its start is asserted)
      expect((await post('/validate', mqPod({ containers: [{ name: 'next', image: ok }] }), limited.base)).status).toBe(200);
      const small = join(dir, 'small.tar');
      await writeDockerArchive({ name: 'small', signature: 'test', description: 'small', image: { refs: ['example.test/small:1'] }, layers: [{ files: [{ path: '/u01/oracle/wlserver/.product.properties', content: 'WLS_PRODUCT_VERSION=14.1.1.0.0\n' }] }], expect: [] }, small);
      expect((await post('/validate', mqPod({ containers: [{ name: 'small', image: `docker-archive:${small}` }] }), limited.base)).status).toBe(200);
      await waitFor('the small image to be scanned', async () => (await findings(limited.base, `docker-archive:${small}`)).status === 200, 60_000);
    } finally {
      writer.destroy();
    }
  }, 120_000);
});

describe('kensus serve policy: checked ids, reloaded on change and on SIGHUP', () => {
  const mq = (uid: string) =>
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid, operation: 'CREATE', namespace: 'mq', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'qm', annotations: { productID: 'c661609261d5471fb4ff8970a36bccea', productName: 'IBM MQ Advanced', productMetric: 'VIRTUAL_PROCESSOR_CORE' } }, spec: { containers: [{ name: 'qm', image: 'cp.icr.io/cp/ibm-mqadvanced-server:9.4.1.0-r1' }] } } },
    });
  const allowed = async (at: string, uid: string) => JSON.parse((await post('/validate', mq(uid), at)).text).response.allowed as boolean;

  it('refuses to start on an unknown product id in deny:, naming it and the likely one', () => {
    const file = join(dir, 'typo-policy.yaml');
    writeFileSync(file, 'mode: deny\ndeny: [ibm-mqq]\n');
    const r = spawnSync(process.execPath, ['bin/kensus.js', 'serve', '--port', '0', '--no-sweep', '--policy', file], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim()).toMatch(/^kensus: .*typo-policy\.yaml: deny: unknown product id 'ibm-mqq' \(did you mean 'ibm-mq'\?\)/);
  });

  it('applies an edited policy without a restart, keeps the old one when the new one is wrong, and reloads on SIGHUP', async () => {
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, 'mode: deny\ndeny: [ibm-mq]\n');
    const s = await startServe(['--policy', file]);
    expect(await allowed(s.base, 'r1')).toBe(false);
    writeFileSync(file, 'mode: warn\nwarn: [ibm-mq]\n');
    await waitFor('the edited policy to apply', async () => (await allowed(s.base, 'r2')) === true, 20_000);
    // a typo: reported, and the last good policy stays
    writeFileSync(file, 'mode: deny\ndeny: [ibm-mqq]\n');
    await waitFor('the bad policy to be reported', () => /unknown product id 'ibm-mqq'/.test(s.stderr()) && /policy not reloaded; the previous policy stays in force/.test(s.stderr()), 20_000);
    expect(await allowed(s.base, 'r3')).toBe(true);
    writeFileSync(file, 'mode: deny\ndeny: [ibm-mq]\n');
    await waitFor('the fixed policy to apply', async () => (await allowed(s.base, 'r4')) === false, 20_000);
    // SIGHUP re-reads the files whether or not a change was seen (and the server stays up)
    const reloads = () => s.stderr().split('policy reloaded').length - 1;
    const before = reloads();
    children.at(-1)!.kill('SIGHUP');
    await waitFor('SIGHUP to reload the policy', () => reloads() === before + 1, 20_000);
    expect(await allowed(s.base, 'r5')).toBe(false);
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);
  }, 90_000);
});

describe('kensus serve under load (what held in the hostile run, kept)', () => {
  it('answers 500 concurrent connections, each a review of an image it never saw, and stays healthy', async () => {
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    const one = (i: number) =>
      new Promise<number>((resolve, reject) => {
        const body = mqPod({ containers: [{ name: 'app', image: `example.invalid/team/app-${i % 250}:1` }] }, `load-${i}`);
        const req = request(`${base}/validate`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
    const statuses = await Promise.all(Array.from({ length: 500 }, (_, i) => one(i)));
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const total = [...metrics.matchAll(/^kensus_admission_reviews_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(total).toBeGreaterThanOrEqual(500);
    agent.destroy();
  }, 60_000);
});
