import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import type { ProductFinding } from '../model/finding.js';
import type { ImageReport, Report } from '../model/report.js';
import { describeError, KensusError } from '../errors.js';
import { log } from '../log.js';
import { reviewAdmission, type AdmissionDeps, type AdmissionReview } from './admission.js';
import { registerReadApi } from './api.js';
import { defaultUiDir, registerPage } from './assets.js';
import { isRefusal, type Authenticator } from './auth.js';
import { createMemoryHistory, type HistoryProvider } from './history.js';
import { parseBoundedJson } from './json-depth.js';
import { checkAdmissionReview } from './admission-review.js';
import { withLicenceHeadroom, type LicenceCheck } from './admission-licence.js';
import { defaultLimits, routeTimeouts, type ServerLimits } from './limits.js';
import { createMetrics, type KensusMetrics } from './metrics.js';
import { digestFindings, pinnedDigest, referenceFindings } from './image-findings.js';
import type { SweepState } from './views/overview.js';

export interface ServeOptions {
  host: string;
  port: number;
  tls?: { cert: string | Buffer; key: string | Buffer };
  admission: Omit<AdmissionDeps, 'knownFindings' | 'requestScan'>;
  /** Licence-aware admission from the store's current figures (serve --store with entitlements). */
  licence?: LicenceCheck;
  /** Produces a fresh report (a cluster sweep); run at start and every `intervalMs`. */
  sweep?: () => Promise<Report>;
  intervalMs?: number;
  /** Scans one image in the background, for images admission has not seen yet. */
  scanImage?: (ref: string) => Promise<ImageReport>;
  /** What to serve until the first sweep is done (`serve --store`: the latest sweep recorded). */
  initialReport?: Report | null;
  /**
   * Who may read the page's data and the read API. Absent: nobody (the API says how to turn it
   * on); `openAccess()` lets everyone in.
   */
  auth?: Authenticator;
  /** The history of licence figures; default: in memory, fed by this server's sweeps. */
  history?: HistoryProvider & { record?(report: Report): void };
  limits?: Partial<ServerLimits>;
  /** The clock of "current quarter" and "next sweep" (tests fix it). */
  now?: () => Date;
  /** Where the page bundle is (default dist/ui of the package). */
  uiDir?: string;
  /** Kensus's version, shown on the page. */
  version?: string;
}

export interface RunningServer {
  url: string;
  server: Server;
  app: FastifyInstance;
  metrics: KensusMetrics;
  findingsByImage: Map<string, ProductFinding[]>;
  current(): Report | null;
  /** Takes a report as the latest (as a sweep does): page, API, metrics and history. */
  accept(report: Report): void;
  /** Resolves when the background scans queued so far are done (for tests and shutdown). */
  idle(): Promise<void>;
  sweepNow(): Promise<void>;
  close(): Promise<void>;
}

const plain = 'text/plain; charset=utf-8';
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** `kensus serve`: admission webhook, metrics, web page and read API over one listener. */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const limits: ServerLimits = { ...defaultLimits, ...opts.limits };
  const metrics = createMetrics();
  const findingsByImage = new Map<string, ProductFinding[]>();
  const history = opts.history ?? createMemoryHistory();
  const now = opts.now ?? (() => new Date());
  let report: Report | null = null;
  const sweepState: SweepState = { lastStarted: null, intervalMs: opts.sweep ? (opts.intervalMs ?? null) : null, running: false };

  // Background image scans: one at a time, each image once, never on the admission path. They
  // share the event loop with admission, so each waits for a pause in the reviews (a burst of
  // pod creations is answered first), but never more than `maxDeferMs`, so scans go on under a
  // steady stream too.
  const queued = new Set<string>();
  let chain: Promise<void> = Promise.resolve();
  let closing = false;
  let lastReview = 0;
  const quietMs = 200;
  const maxDeferMs = 5_000;
  const pause = async () => {
    for (const until = Date.now() + maxDeferMs; !closing && Date.now() - lastReview < quietMs && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, quietMs).unref());
    }
  };
  const requestScan = (image: string) => {
    if (!opts.scanImage || queued.has(image) || closing) return;
    queued.add(image);
    chain = chain.then(async () => {
      await pause();
      if (closing) return; // shutting down: what is still queued is dropped, not scanned
      try {
        const result = await opts.scanImage!(image);
        // The scan matched this reference's name only: its findings are the reference's, the digest gets the content's.
        findingsByImage.set(image, referenceFindings(result.products));
        findingsByImage.set(result.digest, digestFindings(result.products));
      } catch (err) {
        log.warn({ image, err: describeError(err) }, 'background image scan failed');
        queued.delete(image);
      }
    });
  };

  const accept = (r: Report) => {
    report = r;
    history.record?.(r);
    // A digest gets its content's findings, a reference also what its own name shows (issue 13):
    // one image pushed under two names gives neither name the other's product.
    for (const img of r.images) {
      findingsByImage.set(img.ref, referenceFindings(img.products));
      findingsByImage.set(img.digest, digestFindings(img.products));
    }
    for (const c of r.containers) {
      if (c.method === 'exec' || c.method === 'host') continue; // what the running container showed is the container's, not the image's
      findingsByImage.set(c.image, referenceFindings(c.products));
      if (c.imageDigest) findingsByImage.set(c.imageDigest, digestFindings(c.products));
    }
  };

  if (opts.initialReport) {
    accept(opts.initialReport);
    metrics.update(opts.initialReport, 0);
  }

  // A sweep longer than the interval is not followed by another at once: who asks meanwhile waits for it.
  let sweeping: Promise<void> | null = null;
  const sweepNow = (): Promise<void> => (sweeping ??= sweepOnce().finally(() => (sweeping = null)));
  const sweepOnce = async () => {
    if (!opts.sweep) return;
    const started = Date.now();
    const startedAt = now().getTime();
    sweepState.running = true;
    try {
      const r = await opts.sweep();
      accept(r);
      sweepState.lastStarted = iso(startedAt);
      metrics.update(r, (Date.now() - started) / 1000);
    } catch (err) {
      log.error({ err: describeError(err) }, 'sweep failed');
    } finally {
      sweepState.running = false;
    }
  };

  // A reference pinned by digest (repo@sha256:…) is known when its digest is, under any name.
  const knownFindings = (image: string) => findingsByImage.get(image) ?? findingsByImage.get(pinnedDigest(image) ?? '');
  const deps: AdmissionDeps = { ...opts.admission, knownFindings, requestScan };

  const nodeOptions = { connectionsCheckingInterval: 1_000, headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs };
  const app = Fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.otherBodyBytes,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    forceCloseConnections: true,
    return503OnClosing: true,
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key, ...nodeOptions } } : { http: nodeOptions }),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  app.server.maxConnections = limits.maxConnections;
  routeTimeouts(app, limits.apiTimeoutMs);

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  // Client mistakes get their status and a short message; internal failures never show their text.
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof KensusError) return reply.code(400).send({ message: describeError(err) });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      log.error({ err: describeError(err), path: req.url.split('?')[0] }, 'request failed');
      return reply.code(500).send({ message: 'internal error (the server log says more)' });
    }
    return reply.code(status).send({ message: err.message });
  });
  app.setNotFoundHandler((req, reply) =>
    req.method === 'GET' || req.method === 'HEAD' ? reply.code(404).type(plain).send('not found\n') : reply.code(405).type(plain).send('method not allowed\n'),
  );

  // The admission webhook: its own body limit, nesting bound and timeout; the raw body is read
  // here so that any content type gets the same clear answer.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limits.admissionBodyBytes }, (_req, body, done) => done(null, body));
    const review = async (req: { body: unknown }, reply: import('fastify').FastifyReply) => {
      let parsed: AdmissionReview;
      try {
        parsed = parseBoundedJson(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '', limits.maxJsonDepth) as AdmissionReview;
      } catch (err) {
        // What JSON.parse or the nesting bound said: the client's mistake, in its own words.
        return reply.code(400).type(plain).send(`expected an admission.k8s.io/v1 AdmissionReview as JSON: ${(err as Error).message}\n`);
      }
      // Checked against the schema of what admission reads (admission-review.ts): a short 400, nothing echoed.
      const checked = checkAdmissionReview(parsed);
      if (!checked.ok) return reply.code(checked.status).type(plain).send(`${checked.message}\n`);
      lastReview = Date.now();
      let answer = reviewAdmission(checked.review, deps);
      if (opts.licence) answer = await withLicenceHeadroom(answer, checked.review.request, opts.licence, opts.admission.policy);
      metrics.admission.inc({ result: answer.response.allowed ? (answer.response.warnings ? 'warned' : 'allowed') : 'denied' });
      return reply.type('application/json').send(JSON.stringify(answer));
    };
    for (const url of ['/validate', '/admission']) scope.post(url, { config: { timeoutMs: limits.admissionTimeoutMs } }, review);
  });

  app.get('/healthz', async (_req, reply) => reply.type(plain).send('ok\n'));
  app.get('/readyz', async (_req, reply) => (report || !opts.sweep ? reply.type(plain).send('ready\n') : reply.code(503).type(plain).send('first sweep still running\n')));
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  await registerPage(app, opts.uiDir ?? defaultUiDir());

  // Everything under /api/ needs a caller the authenticator accepts.
  await app.register(async (api) => {
    api.addHook('onRequest', async (req, reply) => {
      if (!opts.auth) {
        return reply.code(401).send({ message: 'the read API is off: start kensus serve with --api-token-file FILE, --api-auth kubernetes, or --no-api-auth' });
      }
      const r = await opts.auth.check(req.headers.authorization);
      if (isRefusal(r)) {
        if (r.status === 401) reply.header('www-authenticate', 'Bearer realm="kensus"');
        return reply.code(r.status).send({ message: r.message, methods: opts.auth.methods });
      }
      req.caller = r;
    });
    await registerReadApi(api, { current: () => report, history, sweep: () => ({ ...sweepState }), now, version: opts.version ?? 'unknown', findingsByImage, timeoutMs: limits.apiTimeoutMs });
  });

  await app.listen({ port: opts.port, host: opts.host });
  const { port } = app.server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const timer = opts.sweep && opts.intervalMs ? setInterval(() => void sweepNow(), opts.intervalMs) : undefined;
  timer?.unref();
  void sweepNow();
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host}:${port}`,
    server: app.server,
    app,
    metrics,
    findingsByImage,
    current: () => report,
    accept,
    idle: () => chain,
    sweepNow,
    close: async () => {
      closing = true;
      if (timer) clearInterval(timer);
      await app.close();
    },
  };
}
