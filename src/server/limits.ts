import type { FastifyInstance } from 'fastify';
import type { Caller } from './auth.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Time for the whole request, body included; past it the server answers 503 and closes. */
    timeoutMs?: number;
  }
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** What one client may cost the server. Every number is a flag of `kensus serve` (see serve.ts). */
export interface ServerLimits {
  /** Connections at once; past it new ones are closed at once (Node's server.maxConnections). */
  maxConnections: number;
  /** Time to send the request headers (slow-header clients). */
  headersTimeoutMs: number;
  /** Time for a whole request on any route (Node's requestTimeout), a backstop to the per-route ones. */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  admissionBodyBytes: number;
  admissionTimeoutMs: number;
  /** Nesting depth of JSON bodies (an AdmissionReview's pod spec with managedFields is ~20). */
  maxJsonDepth: number;
  apiTimeoutMs: number;
  /** Bodies of every other route (the read API takes none). */
  otherBodyBytes: number;
}

export const defaultLimits: ServerLimits = {
  maxConnections: 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 65_000,
  admissionBodyBytes: 4 * 1024 * 1024,
  // The API server gives a webhook timeoutSeconds (default 10, deploy/ sets 5): answering later
  // than that helps nobody, and a body that trickles in for longer is not the API server's.
  admissionTimeoutMs: 10_000,
  maxJsonDepth: 64,
  apiTimeoutMs: 15_000,
  otherBodyBytes: 16 * 1024,
};

/**
 * Per-route timeouts: each request gets the time its route's `config.timeoutMs` says (or
 * `fallbackMs`), counted from its first byte, so a body that trickles in and a handler that
 * waits too long (a store query, a TokenReview) end the same way: 503 and the connection closed.
 */
export function routeTimeouts(app: FastifyInstance, fallbackMs: number): void {
  const timers = new WeakMap<object, NodeJS.Timeout>();
  app.addHook('onRequest', (req, reply, done) => {
    const ms = req.routeOptions.config?.timeoutMs ?? fallbackMs;
    const timer = setTimeout(() => {
      if (reply.sent) return;
      req.log.warn({ url: req.url, ms }, 'request timed out');
      void reply.code(503).header('connection', 'close').type('application/json').send(JSON.stringify({ message: `the request took over ${ms} ms` }));
      // A body still trickling in is never read to its end: drop the connection once answered.
      reply.raw.once('finish', () => req.raw.socket?.destroy());
    }, ms);
    timer.unref();
    timers.set(req, timer);
    done();
  });
  app.addHook('onResponse', (req, _reply, done) => {
    clearTimeout(timers.get(req));
    done();
  });
  app.addHook('onRequestAbort', (req, done) => {
    clearTimeout(timers.get(req));
    done();
  });
}
