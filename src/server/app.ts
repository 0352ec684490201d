import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ProductFinding } from '../model/finding.js';
import type { ImageReport, Report } from '../model/report.js';
import { describeError } from '../errors.js';
import { log } from '../log.js';
import { reviewAdmission, type AdmissionDeps, type AdmissionReview } from './admission.js';
import { createMetrics, type KensusMetrics } from './metrics.js';
import { renderPage } from './page.js';

export interface ServeOptions {
  host: string;
  port: number;
  tls?: { cert: string | Buffer; key: string | Buffer };
  admission: Omit<AdmissionDeps, 'knownFindings' | 'requestScan'>;
  /** Produces a fresh report (a cluster sweep); run at start and every `intervalMs`. */
  sweep?: () => Promise<Report>;
  intervalMs?: number;
  /** Scans one image in the background, for images admission has not seen yet. */
  scanImage?: (ref: string) => Promise<ImageReport>;
  /** What to serve until the first sweep is done (`serve --store`: the latest sweep recorded). */
  initialReport?: Report | null;
}

export interface RunningServer {
  url: string;
  server: Server;
  metrics: KensusMetrics;
  findingsByImage: Map<string, ProductFinding[]>;
  current(): Report | null;
  /** Resolves when the background scans queued so far are done (for tests and shutdown). */
  idle(): Promise<void>;
  sweepNow(): Promise<void>;
  close(): Promise<void>;
}

const maxBody = 4 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) {
        reject(new Error(`request body over ${maxBody} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

/** `kensus serve`: admission webhook, metrics, web page and read API over one listener. */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const metrics = createMetrics();
  const findingsByImage = new Map<string, ProductFinding[]>();
  let report: Report | null = null;

  // Background image scans: one at a time, each image once, never on the admission path.
  const queued = new Set<string>();
  let chain: Promise<void> = Promise.resolve();
  const requestScan = (image: string) => {
    if (!opts.scanImage || queued.has(image)) return;
    queued.add(image);
    chain = chain.then(async () => {
      try {
        const result = await opts.scanImage!(image);
        findingsByImage.set(image, result.products);
        findingsByImage.set(result.digest, result.products);
      } catch (err) {
        log.warn({ image, err: describeError(err) }, 'background image scan failed');
        queued.delete(image);
      }
    });
  };

  const remember = (r: Report) => {
    report = r;
    for (const img of r.images) {
      findingsByImage.set(img.ref, img.products);
      findingsByImage.set(img.digest, img.products);
    }
    for (const c of r.containers) {
      if (c.method === 'exec') continue; // exec findings belong to the container, not the image
      findingsByImage.set(c.image, c.products);
      if (c.imageDigest) findingsByImage.set(c.imageDigest, c.products);
    }
  };

  if (opts.initialReport) {
    remember(opts.initialReport);
    metrics.update(opts.initialReport, 0);
  }

  const sweepNow = async () => {
    if (!opts.sweep) return;
    const started = Date.now();
    try {
      const r = await opts.sweep();
      remember(r);
      metrics.update(r, (Date.now() - started) / 1000);
    } catch (err) {
      log.error({ err: describeError(err) }, 'sweep failed');
    }
  };

  const deps: AdmissionDeps = {
    ...opts.admission,
    knownFindings: (image) => findingsByImage.get(image),
    requestScan,
  };

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (req.method === 'POST' && (url.pathname === '/validate' || url.pathname === '/admission')) {
        let review: AdmissionReview;
        try {
          review = JSON.parse((await readBody(req)).toString('utf8'));
        } catch (err) {
          return send(res, 400, 'text/plain', `expected an admission.k8s.io/v1 AdmissionReview as JSON: ${describeError(err)}\n`);
        }
        if (!review.request?.uid) return send(res, 400, 'text/plain', 'AdmissionReview has no request.uid\n');
        const answer = reviewAdmission(review, deps);
        metrics.admission.inc({ result: answer.response.allowed ? (answer.response.warnings ? 'warned' : 'allowed') : 'denied' });
        return send(res, 200, 'application/json', JSON.stringify(answer));
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
      switch (url.pathname) {
        case '/healthz':
          return send(res, 200, 'text/plain', 'ok\n');
        case '/readyz':
          return report || !opts.sweep ? send(res, 200, 'text/plain', 'ready\n') : send(res, 503, 'text/plain', 'first sweep still running\n');
        case '/metrics':
          return send(res, 200, metrics.registry.contentType, await metrics.registry.metrics());
        case '/':
          return send(res, 200, 'text/html; charset=utf-8', renderPage(report));
        case '/api/v1/report':
          return report ? send(res, 200, 'application/json', JSON.stringify(report)) : send(res, 404, 'application/json', '{"message":"no sweep has finished yet"}');
        case '/api/v1/findings': {
          const image = url.searchParams.get('image');
          if (!image) return send(res, 400, 'application/json', '{"message":"give ?image=REF or ?image=sha256:DIGEST"}');
          const found = findingsByImage.get(image);
          return found ? send(res, 200, 'application/json', JSON.stringify({ image, products: found })) : send(res, 404, 'application/json', JSON.stringify({ message: `image ${image} has not been scanned` }));
        }
        default:
          return send(res, 404, 'text/plain', 'not found\n');
      }
    } catch (err) {
      log.error({ err: describeError(err), path: url.pathname }, 'request failed');
      if (!res.headersSent) send(res, 500, 'text/plain', `${describeError(err)}\n`);
    }
  };

  const server = opts.tls
    ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, (q, s) => void handler(q, s))
    : createHttpServer((q, s) => void handler(q, s));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const timer = opts.sweep && opts.intervalMs ? setInterval(() => void sweepNow(), opts.intervalMs) : undefined;
  timer?.unref();
  void sweepNow();
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host}:${port}`,
    server,
    metrics,
    findingsByImage,
    current: () => report,
    idle: () => chain,
    sweepNow,
    close: async () => {
      if (timer) clearInterval(timer);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
