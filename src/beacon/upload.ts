import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import pRetry from 'p-retry';
import { log } from '../log.js';
import type { BeaconSettings } from './settings.js';

export type UploadErrorKind = 'unreachable' | 'timeout' | 'unauthorized' | 'server' | 'rejected';

export class UploadError extends Error {
  constructor(
    message: string,
    readonly kind: UploadErrorKind,
    readonly status?: number,
    /** The beacon's Retry-After, in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

export interface UploadOptions {
  /** No answer for this long fails the attempt. Default 60 s. */
  timeoutMs?: number;
  /** Quick retries inside one upload (network errors, timeouts, 408, 429, 5xx). Default 2; longer outages are the uploader loop's. */
  retries?: number;
  retryMinMs?: number;
  /** A Retry-After up to this long is waited out here; a longer one ends the attempt (the uploader waits). Default 30 s. */
  maxInlineRetryAfterMs?: number;
}

/** The Retry-After header (seconds or an HTTP date) in ms, bounded to a day. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!v) return undefined;
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), 86_400_000) : undefined;
}

function target(s: BeaconSettings, name: string): URL {
  const base = s.url.endsWith('/') ? s.url : `${s.url}/`;
  return s.method === 'PUT' ? new URL(encodeURIComponent(name), base) : new URL(s.url);
}

/** One HTTP request carrying the file. Resolves on 2xx. */
export function uploadOnce(s: BeaconSettings, name: string, body: Buffer, timeoutMs = 60_000): Promise<number> {
  const url = target(s, name);
  const where = `${url.protocol}//${url.host}${url.pathname}`;
  const headers: Record<string, string | number> = { 'content-type': 'application/xml', 'content-length': body.length };
  if (s.token) headers.authorization = `Bearer ${s.token}`;
  if (s.method === 'POST') headers['content-disposition'] = `attachment; filename="${name}"`;
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method: s.method, headers, timeout: timeoutMs, ca: s.ca ? [...rootCertificates, s.ca] : undefined }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 4096) chunks.push(c);
      });
      res.on('error', (err) => reject(new UploadError(`${where}: the answer broke off (${err.message})`, 'unreachable')));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 200);
        if (status >= 200 && status < 300) return resolve(status);
        const after = retryAfterMs(res.headers['retry-after']);
        if (status === 401 || status === 403) {
          return reject(new UploadError(`the beacon at ${where} refused the token (HTTP ${status})`, 'unauthorized', status));
        }
        if (status === 408 || status === 429 || status >= 500) {
          return reject(new UploadError(`the beacon at ${where} answered HTTP ${status}${text ? `: ${text}` : ''}`, 'server', status, after));
        }
        reject(new UploadError(`the beacon at ${where} rejected ${name} (HTTP ${status}${text ? `: ${text}` : ''})`, 'rejected', status, after));
      });
    });
    req.on('timeout', () => req.destroy(new UploadError(`the beacon at ${where} gave no answer within ${timeoutMs / 1000} s`, 'timeout')));
    req.on('error', (err) => {
      if (err instanceof UploadError) return reject(err);
      const code = (err as NodeJS.ErrnoException).code;
      reject(new UploadError(`cannot reach the beacon at ${where}: ${code ?? err.message}`, 'unreachable'));
    });
    req.end(body);
  });
}

/** One upload with quick retries and back-off; Retry-After is honoured. */
export async function upload(s: BeaconSettings, name: string, body: Buffer, o: UploadOptions = {}): Promise<number> {
  const maxInline = o.maxInlineRetryAfterMs ?? 30_000;
  return pRetry(() => uploadOnce(s, name, body, o.timeoutMs), {
    retries: o.retries ?? 2,
    minTimeout: o.retryMinMs ?? 1000,
    factor: 2,
    randomize: true,
    shouldRetry: ({ error }) => error instanceof UploadError && ['unreachable', 'timeout', 'server'].includes(error.kind),
    onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
      const e = error as UploadError;
      if (!(e instanceof UploadError) || !['unreachable', 'timeout', 'server'].includes(e.kind) || retriesLeft === 0) return;
      // A long Retry-After ends this attempt; the uploader comes back when the beacon asked.
      if (e.retryAfterMs !== undefined && e.retryAfterMs > maxInline) throw e;
      log.info({ file: name, attempt: attemptNumber, error: e.message }, 'beacon upload failed; retrying');
      if (e.retryAfterMs) await new Promise((r) => setTimeout(r, e.retryAfterMs));
    },
  });
}
