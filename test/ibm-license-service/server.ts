import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { makeTls, type TlsMaterial } from '../cluster/tls.js';

/**
 * A test IBM License Service: the REST API as IBM documents it (see
 * src/ibm-license-service/types.ts for the sources): `/version` without a token, `/health`,
 * `/products` and `/bundled_products` with the License Service API token as the `token` URL
 * parameter (or, like a service-account token, an `Authorization: Bearer` header), and
 * `dateFrom`/`dateTo` (YYYY-MM-DD, both or neither, 30 days when absent). Data is generated for
 * any date; a range answers each row's highest daily value with its `metricPeakDate`, as the
 * real service reports peaks. Faults on demand: HTTP errors, slow answers, a changed token,
 * down for a while (the port stays reserved for `up()`).
 */
export interface TestLicenseService {
  /** Base URL (http://127.0.0.1:PORT or https://…). */
  url: string;
  port: number;
  token: string;
  https: boolean;
  /** CA of the HTTPS certificate. */
  tls: TlsMaterial | null;
  /** Every request answered: path, query without the token, status. */
  requests: { path: string; query: Record<string, string>; status: number; auth: 'query' | 'header' | 'none' }[];
  /** The days asked for by /products (dateFrom of each call). */
  productDays(): string[];
  bundledDays(): string[];
  /** The next `n` requests (of `paths`, default all but /version) answer `status`. */
  failNext(n: number, status?: number, paths?: string[]): void;
  /** Requests for these days answer 500 until cleared. */
  failDays(days: string[]): void;
  /** Every answer waits this long first. */
  slow(ms: number): void;
  /** A new token: the old one is refused from now on. */
  setToken(token: string): void;
  /** Stops listening (connections are refused) until up(). */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
  version: { version: string; buildDate: string };
  /** The data of one day (what `/products?dateFrom=D&dateTo=D` answers). */
  dataFor(day: string): { products: any[]; bundledProducts: any[] };
  /** Pods with incomplete annotations that /health reports. */
  incompletePods: { namespace: string; name: string }[];
}

export interface TestLicenseServiceOptions {
  https?: boolean;
  token?: string;
  /** DNS names for the certificate (the Service name discovery will use). */
  dnsNames?: string[];
  /** Replaces the generated data. */
  data?: (day: string) => { products: any[]; bundledProducts: any[] };
  port?: number;
}

const CP4D = 'eb9998dcc5d24e3eb5b6fb488f750fe2';

/** Deterministic data: figures that move with the day, so a wrong day shows. */
export function generatedData(day: string): { products: any[]; bundledProducts: any[] } {
  const n = Math.round(Date.parse(`${day}T00:00:00Z`) / 86_400_000);
  const cp4dCores = 2 + (n % 3);
  const mqCores = 1 + (n % 4);
  return {
    products: [
      { name: 'IBM Cloud Pak for Data', id: CP4D, metricPeakDate: day, metricQuantity: cp4dCores, metricName: 'VIRTUAL_PROCESSOR_CORE' },
      { name: 'IBM MQ Advanced', id: '208423bb063c43288328b1d788745b0c', metricPeakDate: day, metricQuantity: mqCores * 70, metricName: 'PROCESSOR_VALUE_UNIT' },
    ],
    bundledProducts: [
      {
        productName: 'IBM Cloud Pak for Data Control Plane', productId: 'fb1b19783983ec76198729a9b945723', cloudpakName: 'IBM Cloud Pak for Data', cloudpakId: CP4D,
        cloudpakVersion: '3.2.1', metricName: 'VIRTUAL_PROCESSOR_CORE', cloudpakMetricName: 'VIRTUAL_PROCESSOR_CORE', metricPeakDate: day,
        metricMeasuredQuantity: cp4dCores, metricConversion: '1:1', metricConvertedQuantity: cp4dCores,
      },
    ],
  };
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

function peakOver(days: string[], data: (d: string) => { products: any[]; bundledProducts: any[] }) {
  const products = new Map<string, any>();
  const bundled = new Map<string, any>();
  for (const d of days) {
    const x = data(d);
    for (const p of x.products) {
      const k = `${p.id}|${p.metricName}`;
      if (!products.has(k) || p.metricQuantity > products.get(k).metricQuantity) products.set(k, p);
    }
    for (const b of x.bundledProducts) {
      const k = `${b.cloudpakId}|${b.productId}|${b.metricName}`;
      if (!bundled.has(k) || b.metricConvertedQuantity > bundled.get(k).metricConvertedQuantity) bundled.set(k, b);
    }
  }
  return { products: [...products.values()], bundledProducts: [...bundled.values()] };
}

function daysFrom(a: string, b: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${a}T00:00:00Z`); t <= Date.parse(`${b}T00:00:00Z`); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

export async function startTestLicenseService(opts: TestLicenseServiceOptions = {}): Promise<TestLicenseService> {
  const useHttps = opts.https ?? false;
  const tls = useHttps ? makeTls(opts.dnsNames ?? ['ibm-licensing-service-instance.ibm-licensing.svc'], ['127.0.0.1'], 'ibm-license-service-cert-internal') : null;
  const data = opts.data ?? generatedData;
  let token = opts.token ?? 'VoOMWJijBWuCxSxwgON11w7z';
  let delayMs = 0;
  const failures: { n: number; status: number; paths: string[] | null }[] = [];
  let failingDays = new Set<string>();
  const requests: TestLicenseService['requests'] = [];

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const query = Object.fromEntries([...url.searchParams.entries()].filter(([k]) => k !== 'token'));
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const given = url.searchParams.get('token') ?? bearer;
    const auth = url.searchParams.has('token') ? 'query' : bearer ? 'header' : 'none';
    const answer = (status: number, body: unknown) => {
      requests.push({ path, query, status, auth });
      json(res, status, body);
    };
    if (path === '/version') {
      answer(200, { version: service.version.version, buildDate: service.version.buildDate, commit: 'c0ffee' });
      return;
    }
    const f = failures.find((x) => x.n > 0 && (!x.paths || x.paths.includes(path)));
    if (f) {
      f.n--;
      answer(f.status, { error: `injected ${f.status}` });
      return;
    }
    if (!['/health', '/products', '/bundled_products'].includes(path)) {
      answer(404, { error: 'Not Found' });
      return;
    }
    if (given !== token) {
      // What the real service answers to a missing or wrong token.
      answer(401, { error: 'Unauthorized', message: 'Invalid token' });
      return;
    }
    if (path === '/health') {
      answer(200, { incompleteAnnotationCount: service.incompletePods.length, incompleteAnnotationPods: service.incompletePods.map((p) => `${p.namespace}/${p.name}`) });
      return;
    }
    const from = url.searchParams.get('dateFrom');
    const to = url.searchParams.get('dateTo');
    if ((from === null) !== (to === null)) {
      answer(400, { error: 'Bad Request', message: 'dateFrom and dateTo must be given together' });
      return;
    }
    if ((from && !DAY_RE.test(from)) || (to && !DAY_RE.test(to)) || (from && to && from > to)) {
      answer(400, { error: 'Bad Request', message: 'dates must be YYYY-MM-DD and dateFrom not after dateTo' });
      return;
    }
    const today = new Date().toISOString().slice(0, 10);
    const days = from && to ? daysFrom(from, to) : daysFrom(new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10), today);
    if (days.some((d) => failingDays.has(d))) {
      answer(500, { error: 'Internal Server Error' });
      return;
    }
    const peak = peakOver(days, data);
    answer(200, path === '/products' ? peak.products : peak.bundledProducts);
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    if (delayMs > 0) setTimeout(() => (res.destroyed ? undefined : handle(req, res)), delayMs);
    else handle(req, res);
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, listener) : http.createServer(listener);
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  await listen(opts.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  const close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  let isUp = true;

  const service: TestLicenseService = {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    get token() {
      return token;
    },
    https: !!tls,
    tls,
    requests,
    productDays: () => requests.filter((r) => r.path === '/products' && r.status === 200).map((r) => r.query.dateFrom),
    bundledDays: () => requests.filter((r) => r.path === '/bundled_products' && r.status === 200).map((r) => r.query.dateFrom),
    failNext(n, status = 500, paths) {
      failures.push({ n, status, paths: paths ?? ['/health', '/products', '/bundled_products'] });
    },
    failDays(days) {
      failingDays = new Set(days);
    },
    slow(ms) {
      delayMs = ms;
    },
    setToken(t) {
      token = t;
    },
    async down() {
      if (!isUp) return;
      isUp = false;
      await close();
    },
    async up() {
      if (isUp) return;
      await listen(port);
      isUp = true;
    },
    async stop() {
      if (isUp) await close();
      isUp = false;
    },
    version: { version: '4.2.14', buildDate: 'Mon Jul 12 16:45:52 UTC 2021' },
    dataFor: (day) => data(day),
    incompletePods: [],
  };
  return service;
}
