import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import pRetry, { AbortError } from 'p-retry';
import { log } from '../log.js';
import type { Day } from './days.js';
import type { ApiBundledProduct, ApiProduct, ServiceHealth, ServiceVersion } from './types.js';

/** Where the License Service API is and how to authenticate (settings, or discovery). */
export interface LicenseServiceEndpoint {
  /** Base URL, e.g. https://ibm-licensing-service-instance.ibm-licensing.svc:8080 */
  url: string;
  token: string;
  /** false (the reference's default): any certificate is accepted, as the operator's is self-signed. */
  tlsVerify: boolean;
  /**
   * Connect to this address (the Service's clusterIP) instead of resolving the URL's host; the
   * host name still names the server for TLS. Saves a dependency on cluster DNS.
   */
  connectAddress?: string;
}

export type LicenseServiceErrorKind = 'unreachable' | 'timeout' | 'unauthorized' | 'server' | 'bad-request' | 'bad-response';

export class LicenseServiceError extends Error {
  constructor(
    message: string,
    readonly kind: LicenseServiceErrorKind,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'LicenseServiceError';
  }
}

export interface ClientOptions {
  /** No answer (headers or body data) for this long fails the request. Default 30 s. */
  timeoutMs?: number;
  /** Retries of one request after a network error, a timeout, 429 or 5xx. Default 2. */
  retries?: number;
  /** First retry delay; doubles each time. Default 1 s. */
  retryMinMs?: number;
  /** Largest answer accepted. Default 16 MiB. */
  maxBodyBytes?: number;
}

/** The calls one collection run makes. */
export interface LicenseServiceApi {
  /** The URL, for messages (never the token). */
  readonly where: string;
  version(): Promise<ServiceVersion>;
  health(): Promise<ServiceHealth>;
  products(day: Day): Promise<ApiProduct[]>;
  bundledProducts(day: Day): Promise<ApiBundledProduct[]>;
}

const MAX_ROWS = 50_000;
const MAX_STRING = 1024;

/** An HTTP(S) client of the License Service API. */
export function licenseServiceClient(endpoint: LicenseServiceEndpoint, opts: ClientOptions = {}): LicenseServiceApi {
  const base = new URL(endpoint.url.endsWith('/') ? endpoint.url : `${endpoint.url}/`);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new LicenseServiceError(`License Service URL ${endpoint.url} is not http(s)`, 'bad-request');
  const where = `${base.protocol}//${base.host}${base.pathname === '/' ? '' : base.pathname}`;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxBody = opts.maxBodyBytes ?? 16 << 20;
  const lookup: LookupFunction | undefined = endpoint.connectAddress ? fixedLookup(endpoint.connectAddress) : undefined;
  const agent =
    base.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: endpoint.tlsVerify, lookup })
      : new http.Agent({ keepAlive: true, maxSockets: 4, lookup });

  async function getOnce(path: string, query: Record<string, string>, what: string): Promise<unknown> {
    const url = new URL(path, base);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const mod = url.protocol === 'https:' ? https : http;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = mod.request(url, { method: 'GET', agent, headers: { accept: 'application/json' }, timeout: timeoutMs }, resolve);
      req.on('timeout', () => req.destroy(new LicenseServiceError(`${where}: ${what} gave no answer within ${timeoutMs / 1000} s`, 'timeout')));
      req.on('error', (err) => reject(err instanceof LicenseServiceError ? err : netError(err, where, what)));
      req.end();
    });
    const body = await readBody(res, maxBody, timeoutMs).catch((err: Error) => {
      throw err instanceof LicenseServiceError ? err : new LicenseServiceError(`${where}: ${what}: the answer broke off (${err.message})`, 'unreachable');
    });
    const status = res.statusCode ?? 0;
    if (status === 401 || status === 403) {
      throw new LicenseServiceError(`${where} refused the token for ${what} (HTTP ${status})`, 'unauthorized', status);
    }
    if (status === 429 || status >= 500) throw new LicenseServiceError(`${where} answered HTTP ${status} for ${what}`, 'server', status);
    if (status < 200 || status >= 300) throw new LicenseServiceError(`${where} answered HTTP ${status} for ${what}${snippet(body)}`, 'bad-request', status);
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw new LicenseServiceError(`${where}: ${what} is not JSON${snippet(body)}`, 'bad-response', status);
    }
  }

  async function get(path: string, query: Record<string, string>, what: string): Promise<unknown> {
    return pRetry(
      async () => {
        try {
          return await getOnce(path, query, what);
        } catch (err) {
          // Only passing troubles are retried here; a refused token or a bad answer is not.
          if (err instanceof LicenseServiceError && !['unreachable', 'timeout', 'server'].includes(err.kind)) throw new AbortError(err);
          throw err;
        }
      },
      {
        retries: opts.retries ?? 2,
        minTimeout: opts.retryMinMs ?? 1000,
        factor: 2,
        randomize: false,
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
          if (retriesLeft > 0) log.info({ where, what, attempt: attemptNumber, error: error.message }, 'License Service request failed; retrying');
        },
      },
    );
  }

  const withToken = (q: Record<string, string> = {}) => ({ ...q, token: endpoint.token });
  // One day per request: dateFrom and dateTo name the same day (IBM's dates are calendar days).
  const dayQuery = (day: Day) => withToken({ dateFrom: day, dateTo: day });

  return {
    where,
    async version() {
      return parseVersion(await get('version', {}, '/version'), where);
    },
    async health() {
      return parseHealth(await get('health', withToken(), '/health'), where);
    },
    async products(day) {
      const what = `/products for ${day}`;
      return rows(await get('products', dayQuery(day), what), parseProduct, where, what);
    },
    async bundledProducts(day) {
      const what = `/bundled_products for ${day}`;
      return rows(await get('bundled_products', dayQuery(day), what), parseBundledProduct, where, what);
    },
  };
}

function fixedLookup(address: string): LookupFunction {
  const family = address.includes(':') ? 6 : 4;
  return ((_host: string, options: { all?: boolean }, cb: (...args: unknown[]) => void) => {
    if (options?.all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  }) as unknown as LookupFunction;
}

function netError(err: Error, where: string, what: string): LicenseServiceError {
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return new LicenseServiceError(`${where}: the TLS certificate was not accepted for ${what} (${code}); tlsVerify is on: trust the certificate's issuer or set tlsVerify false`, 'unreachable');
  }
  return new LicenseServiceError(`cannot reach the License Service at ${where} for ${what}: ${code || e.message}`, 'unreachable');
}

function readBody(res: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.setTimeout(timeoutMs, () => res.destroy(new Error(`no data for ${timeoutMs / 1000} s`)));
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        res.destroy();
        reject(new LicenseServiceError(`the License Service answer exceeds ${limit} bytes`, 'bad-response'));
        return;
      }
      chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('aborted')));
  });
}

function snippet(body: Buffer): string {
  const s = body.toString('utf8', 0, Math.min(body.length, 200)).replace(/\s+/g, ' ').trim();
  return s ? `: ${s}` : '';
}

function str(v: unknown, max = MAX_STRING): string | null {
  return typeof v === 'string' && v.length <= max ? v : null;
}

function num(v: unknown): number | null {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : null;
}

function parseVersion(v: unknown, where: string): ServiceVersion {
  const o = (v ?? {}) as Record<string, unknown>;
  const version = str(o.version, 200);
  if (!version) throw new LicenseServiceError(`${where}: /version has no version field`, 'bad-response');
  return { version, buildDate: str(o.buildDate, 200) ?? '' };
}

/**
 * The health answer: the pods with incomplete annotations. Field names vary between License
 * Service versions; the list is read from the first array found under the usual names, and the
 * count defaults to its length.
 */
function parseHealth(v: unknown, where: string): ServiceHealth {
  if (typeof v !== 'object' || v === null) throw new LicenseServiceError(`${where}: /health is not a JSON object`, 'bad-response');
  const o = v as Record<string, unknown>;
  const list = [o.incompleteAnnotationPods, o.podsWithIncompleteAnnotations, o.incompleteAnnotations].find(Array.isArray) as unknown[] | undefined;
  const pods = (list ?? [])
    .slice(0, MAX_ROWS)
    .map((p) => (typeof p === 'string' ? p : typeof p === 'object' && p ? podName(p as Record<string, unknown>) : null))
    .filter((p): p is string => !!p && p.length <= MAX_STRING);
  const count = num(o.incompleteAnnotationCount ?? o.incompleteAnnotationsCount);
  return { incompleteAnnotationCount: count ?? pods.length, incompleteAnnotationPods: pods };
}

function podName(p: Record<string, unknown>): string | null {
  const name = str(p.name ?? p.podName);
  const ns = str(p.namespace);
  return name ? (ns ? `${ns}/${name}` : name) : null;
}

function parseProduct(o: Record<string, unknown>): ApiProduct | string {
  const id = str(o.id);
  const name = str(o.name);
  const metricName = str(o.metricName, 200);
  const metricQuantity = num(o.metricQuantity);
  if (!id) return 'id';
  if (!name) return 'name';
  if (!metricName) return 'metricName';
  if (metricQuantity === null) return 'metricQuantity';
  return { id, name, metricName, metricQuantity, metricPeakDate: str(o.metricPeakDate, 40) };
}

function parseBundledProduct(o: Record<string, unknown>): ApiBundledProduct | string {
  const fields = {
    productId: str(o.productId),
    productName: str(o.productName),
    cloudpakId: str(o.cloudpakId),
    cloudpakName: str(o.cloudpakName) ?? '',
    cloudpakVersion: str(o.cloudpakVersion, 200) ?? '',
    metricName: str(o.metricName, 200),
  };
  for (const k of ['productId', 'productName', 'cloudpakId', 'metricName'] as const) if (!fields[k]) return k;
  const measured = num(o.metricMeasuredQuantity);
  const converted = num(o.metricConvertedQuantity);
  if (measured === null) return 'metricMeasuredQuantity';
  if (converted === null) return 'metricConvertedQuantity';
  return {
    productId: fields.productId!,
    productName: fields.productName!,
    cloudpakId: fields.cloudpakId!,
    cloudpakName: fields.cloudpakName,
    cloudpakVersion: fields.cloudpakVersion,
    metricName: fields.metricName!,
    cloudpakMetricName: str(o.cloudpakMetricName, 200),
    metricMeasuredQuantity: measured,
    metricConversion: str(o.metricConversion, 40) ?? '1:1',
    metricConvertedQuantity: converted,
    metricPeakDate: str(o.metricPeakDate, 40),
  };
}

/** An array of rows; malformed rows are dropped with one warning that names the field. */
function rows<T>(v: unknown, parse: (o: Record<string, unknown>) => T | string, where: string, what: string): T[] {
  if (!Array.isArray(v)) throw new LicenseServiceError(`${where}: ${what} is not a JSON array`, 'bad-response');
  if (v.length > MAX_ROWS) throw new LicenseServiceError(`${where}: ${what} has ${v.length} rows, more than ${MAX_ROWS}`, 'bad-response');
  const out: T[] = [];
  const bad: string[] = [];
  for (const item of v) {
    const r = typeof item === 'object' && item !== null ? parse(item as Record<string, unknown>) : 'row';
    if (typeof r === 'string') bad.push(r);
    else out.push(r);
  }
  if (bad.length) log.warn({ where, what, dropped: bad.length, firstBadField: bad[0] }, 'License Service rows without a valid field were dropped');
  return out;
}
