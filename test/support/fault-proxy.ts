import http from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

/**
 * A small HTTP proxy in front of a real registry that injects the faults a registry cannot be
 * told to produce: a status (403, 429 with Retry-After, 500), a server that hangs, a manifest
 * whose bytes do not match its digest, a blob cut short or stalled half-way. Loopback only.
 */
export type Fault =
  | { kind: 'none' }
  | { kind: 'status'; status: number; headers?: Record<string, string>; times?: number; match?: RegExp }
  | { kind: 'hang'; match?: RegExp }
  | { kind: 'corrupt-manifest' }
  | { kind: 'cut-blob'; keepContentLength: boolean }
  | { kind: 'stall-blob' }
  /** A hostile registry: asks for credentials, then quotes the Authorization header it was sent in its 403 error. */
  | { kind: 'echo-auth'; scheme: 'Basic' | 'Bearer' };

export interface FaultProxy {
  host: string;
  fault: Fault;
  /** Requests seen, as "METHOD path". */
  seen: string[];
  close(): Promise<void>;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const [uhost, uport] = upstream.split(':');
  const state: FaultProxy = { host: '', fault: { kind: 'none' }, seen: [], close: async () => {} };
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    state.seen.push(`${req.method} ${path}`);
    const f = state.fault;
    const matches = (re?: RegExp) => !re || re.test(path);
    if (f.kind === 'echo-auth') {
      const auth = req.headers.authorization;
      if (!auth) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': `${f.scheme} realm="kensus-test"` });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      } else {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'DENIED', message: `requested access to the resource is denied for Authorization: ${auth}` }] }));
      }
      return;
    }
    if (f.kind === 'status' && matches(f.match) && (f.times === undefined || f.times > 0)) {
      if (f.times !== undefined) f.times--;
      res.writeHead(f.status, { 'content-type': 'application/json', ...(f.headers ?? {}) });
      res.end(JSON.stringify({ errors: [{ code: f.status === 403 ? 'DENIED' : 'UNKNOWN', message: `injected ${f.status}` }] }));
      return;
    }
    if (f.kind === 'hang' && matches(f.match)) {
      hanging.add(res);
      return; // never answer
    }
    const isLayerBlob = /\/blobs\/sha256:/.test(path);
    const up = http.request({ host: uhost, port: Number(uport), method: req.method, path, headers: { ...req.headers, host: upstream } }, (ur) => {
      if (f.kind === 'corrupt-manifest' && /\/manifests\//.test(path) && ur.statusCode === 200) {
        const chunks: Buffer[] = [];
        ur.on('data', (c: Buffer) => chunks.push(c));
        ur.on('end', () => {
          const body = Buffer.concat([Buffer.concat(chunks), Buffer.from(' ')]);
          const headers = { ...ur.headers, 'content-length': String(body.length) };
          res.writeHead(200, headers);
          res.end(body);
        });
        return;
      }
      const big = Number(ur.headers['content-length'] ?? 0) > 4096;
      if ((f.kind === 'cut-blob' || f.kind === 'stall-blob') && isLayerBlob && ur.statusCode === 200 && big) {
        const total = Number(ur.headers['content-length']);
        const headers = { ...ur.headers };
        if (f.kind === 'cut-blob' && !f.keepContentLength) delete headers['content-length'];
        res.writeHead(200, headers);
        let sent = 0;
        const half = Math.floor(total / 2);
        ur.on('data', (c: Buffer) => {
          if (sent >= half) return;
          const part = c.subarray(0, half - sent);
          sent += part.length;
          if (sent < half) {
            res.write(part);
            return;
          }
          ur.destroy();
          // Headers and the first half reach the client before the fault.
          res.write(part, () => {
            if (f.kind === 'stall-blob') hanging.add(res);
            else if (f.keepContentLength) setTimeout(() => res.socket?.destroy(), 50); // the connection dies mid-body
            else res.end(); // a clean end, but short
          });
        });
        return;
      }
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  state.close = async () => {
    for (const r of hanging) r.socket?.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return state;
}

/** Pushes an OCI layout (blobs + the index.json's manifest, by tag) to a registry with plain HTTP uploads. */
export async function pushOciLayout(dir: string, registry: string, repo: string, tag: string): Promise<string> {
  const blobsDir = join(dir, 'blobs', 'sha256');
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; mediaType: string }> };
  const manifestLike = new Set<string>();
  const collect = (digest: string) => {
    const body = JSON.parse(readFileSync(join(blobsDir, digest.slice(7)), 'utf8')) as { manifests?: Array<{ digest: string }>; mediaType?: string };
    manifestLike.add(digest);
    for (const m of body.manifests ?? []) collect(m.digest);
  };
  for (const m of index.manifests) collect(m.digest);
  for (const hex of readdirSync(blobsDir)) {
    if (manifestLike.has(`sha256:${hex}`)) continue;
    const data = readFileSync(join(blobsDir, hex));
    const start = await fetch(`http://${registry}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    if (start.status !== 202) throw new Error(`upload start ${start.status}`);
    const loc = new URL(start.headers.get('location')!, `http://${registry}`);
    loc.searchParams.set('digest', `sha256:${hex}`);
    const put = await fetch(loc, { method: 'PUT', body: data, headers: { 'content-type': 'application/octet-stream' } });
    if (put.status !== 201) throw new Error(`blob upload ${put.status}: ${await put.text()}`);
  }
  // Child manifests by digest first, the top one by tag last.
  const put = async (digest: string, ref: string) => {
    const data = readFileSync(join(blobsDir, digest.slice(7)));
    const mediaType = (JSON.parse(data.toString('utf8')) as { mediaType: string }).mediaType;
    const res = await fetch(`http://${registry}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: data, headers: { 'content-type': mediaType } });
    if (res.status !== 201) throw new Error(`manifest upload ${res.status}: ${await res.text()}`);
  };
  const top = index.manifests[0]!.digest;
  for (const d of manifestLike) if (d !== top) await put(d, d);
  await put(top, tag);
  return `sha256:${createHash('sha256').update(readFileSync(join(blobsDir, top.slice(7)))).digest('hex')}`;
}
