import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { loadSignatureSet } from '../signatures/load.js';
import { startServer, type RunningServer } from './app.js';
import { openAccess } from './auth.js';
import { parsePolicy } from './policy.js';

/** What one client may cost `kensus serve`: body size, nesting, time, connections (issue 19, item 5). */

let server: RunningServer;
let port: number;

const review = (uid: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid, operation: 'CREATE', namespace: 'a', object: { kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] } }, ...extra } });

/** Raw HTTP over one socket: what arrives until the server closes it (or `ms` pass). */
function raw(parts: Array<string | Buffer>, gapMs = 0, ms = 5_000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s: Socket = connect(port, '127.0.0.1');
    let text = '';
    let closed = false;
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text, closed });
    }, ms);
    s.on('data', (d) => (text += d.toString('latin1')));
    s.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ text, closed });
    });
    s.on('error', () => {});
    s.on('connect', async () => {
      for (const p of parts) {
        if (s.destroyed) break;
        s.write(p);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}

beforeAll(async () => {
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    auth: openAccess(),
    admission: { set: await loadSignatureSet(), policy: parsePolicy('mode: warn'), entitled: () => false },
    limits: { admissionTimeoutMs: 600, maxConnections: 20, admissionBodyBytes: 256 * 1024, maxJsonDepth: 64 },
  });
  port = Number(new URL(server.url).port);
});

afterAll(async () => {
  await server?.close();
});

describe('serving limits', () => {
  it('answers a body over the admission limit with 413, and a deeply nested one with 400 before parsing it', async () => {
    const big = await fetch(`${server.url}/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: review('x', { pad: 'y'.repeat(300 * 1024) }) });
    expect(big.status).toBe(413);
    const deep = await fetch(`${server.url}/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"request":${'['.repeat(100_000)}${']'.repeat(100_000)}}` });
    expect(deep.status).toBe(400);
    expect(await deep.text()).toBe('expected an admission.k8s.io/v1 AdmissionReview as JSON: JSON nested deeper than 64 levels\n');
  });

  it('answers client mistakes with 400 and a short message, never 500 or the internals', async () => {
    for (const body of ['null', '[]', '"x"', review(42), review(''), review({ a: 1 })]) {
      const res = await fetch(`${server.url}/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status, body.slice(0, 40)).toBe(400);
      // checked against the AdmissionReview schema (admission-review.ts): what was expected where, nothing echoed
      expect(await res.text()).toMatch(/^not an admission\.k8s\.io\/v1 AdmissionReview: (the body must be an AdmissionReview object|request is missing|request\.uid (must be of type string|must NOT have fewer than 1 characters))\n$/);
    }
    const ok = await (await fetch(`${server.url}/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: review('u-1') })).json();
    expect(ok).toMatchObject({ kind: 'AdmissionReview', response: { uid: 'u-1', allowed: true } });
    expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${server.url}/nothing-here`)).status).toBe(404);
    const bad = await fetch(`${server.url}/api/v1/views/nodes?pageSize=100000`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/pageSize must be <= 500/);
    const period = await fetch(`${server.url}/api/v1/views/history?from=2020-01-01&to=2026-01-01`);
    expect(period.status).toBe(400);
    expect(((await period.json()) as { message: string }).message).toMatch(/at most two years/);
  });

  it('ends an admission request whose body trickles in past its route timeout: 503, connection closed', async () => {
    const body = review('slow');
    const head = `POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const started = Date.now();
    const r = await raw([head, ...body.slice(0, 40).split('')], 100);
    expect(r.text).toMatch(/^HTTP\/1\.1 503 /);
    expect(r.text).toContain('the request took over 600 ms');
    expect(r.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(3_000);
    // The server is fine afterwards.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('closes connections past maxConnections at once and serves again when they are gone', async () => {
    const held: Socket[] = [];
    for (let i = 0; i < 20; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      held.push(s);
    }
    await new Promise((r) => setTimeout(r, 100));
    const extra = await raw(['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'], 0, 2_000);
    expect(extra).toEqual({ text: '', closed: true });
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('sends no-store, nosniff and, on the page, a content security policy', async () => {
    const api = await fetch(`${server.url}/api/v1/views/overview`);
    expect(api.headers.get('cache-control')).toBe('no-store');
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'self'/);
    const html = await page.text();
    const js = /src="(\/ui\/[^"]+\.js)"/.exec(html)?.[1];
    expect(js).toBe('/ui/main.js');
    const bundle = await fetch(`${server.url}${js}`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${server.url}/ui/../../package.json`)).status).toBe(404);
  });
});
