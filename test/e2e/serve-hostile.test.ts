/**
 * `kensus serve` (the built bin, plain HTTP on loopback) against clients that send what no API
 * server would (issue 19 item 5): every mistake gets a short 400 saying what was expected
 * where, nothing of the body is echoed (a non-string uid least of all), and the server keeps
 * answering real reviews and its health and metrics endpoints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'kensus-serve-hostile-'));
let child: ChildProcess;
let base: string;
let stderr = '';

beforeAll(async () => {
  child = spawn(process.execPath, ['bin/kensus.js', 'serve', '--host', '127.0.0.1', '--port', '0', '--no-sweep', '--cache-dir', join(dir, 'cache')], {
    env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  base = await new Promise<string>((resolve, reject) => {
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
}, 30_000);

afterAll(() => {
  child?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

function post(path: string, body: string): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
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
    expect(stderr).not.toMatch(/request failed/);
  });
});
