import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A test inventory beacon: takes .ndi files by PUT LOCATION/NAME or POST LOCATION (file name in
 * Content-Disposition), checks the Bearer token, and keeps every file it accepted. Faults on
 * demand: down for a while (connections refused, the port kept), HTTP errors with Retry-After,
 * slow answers, a changed token.
 */
export interface TestBeacon {
  /** The upload location to give Kensus (…/ManageSoftRL/Inventories). */
  url: string;
  token: string;
  /** Files accepted (2xx), with how often each arrived. */
  received: Map<string, { count: number; body: string; method: string }>;
  /** Every request: method, name, status. */
  attempts: { method: string; name: string | null; status: number }[];
  failNext(n: number, status?: number, retryAfter?: string): void;
  slow(ms: number): void;
  setToken(t: string): void;
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

const LOCATION = '/ManageSoftRL/Inventories';

export async function startTestBeacon(opts: { token?: string } = {}): Promise<TestBeacon> {
  let token = opts.token ?? 'beacon-token-5e1f';
  let delay = 0;
  const failures: { n: number; status: number; retryAfter?: string }[] = [];
  const received = new Map<string, { count: number; body: string; method: string }>();
  const attempts: TestBeacon['attempts'] = [];

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let name: string | null = null;
    if (req.method === 'PUT' && url.pathname.startsWith(`${LOCATION}/`)) name = decodeURIComponent(url.pathname.slice(LOCATION.length + 1));
    if (req.method === 'POST' && url.pathname === LOCATION) name = /filename="([^"]+)"/.exec(req.headers['content-disposition'] ?? '')?.[1] ?? null;
    const answer = (status: number, headers: Record<string, string> = {}) => {
      attempts.push({ method: req.method ?? '', name, status });
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(status < 300 ? 'stored' : `error ${status}`);
    };
    if (req.headers.authorization !== `Bearer ${token}`) return answer(401);
    const f = failures.find((x) => x.n > 0);
    if (f) {
      f.n--;
      return answer(f.status, f.retryAfter ? { 'retry-after': f.retryAfter } : {});
    }
    if (!name || !/^[\w.-]+\.ndi$/.test(name)) return answer(400);
    const prev = received.get(name);
    received.set(name, { count: (prev?.count ?? 0) + 1, body: body.toString('utf8'), method: req.method ?? '' });
    answer(req.method === 'PUT' ? 201 : 200);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const go = () => (res.destroyed ? undefined : handle(req, res, Buffer.concat(chunks)));
      if (delay) setTimeout(go, delay);
      else go();
    });
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  let isUp = true;
  const close = () => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  return {
    url: `http://127.0.0.1:${port}${LOCATION}`,
    get token() {
      return token;
    },
    received,
    attempts,
    failNext(n, status = 500, retryAfter) {
      failures.push({ n, status, retryAfter });
    },
    slow(ms) {
      delay = ms;
    },
    setToken(t) {
      token = t;
    },
    async down() {
      if (isUp) await close();
      isUp = false;
    },
    async up() {
      if (!isUp) await listen(port);
      isUp = true;
    },
    async stop() {
      if (isUp) await close();
      isUp = false;
    },
  };
}
