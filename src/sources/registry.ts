/**
 * The OCI distribution client: manifests, blobs, token auth, redirects and bounded retries.
 * Hand-written on purpose (first-hour review §7: keep): no JS registry client is kept as well as
 * Go's go-containerregistry. The retry of 429/502-504 honouring Retry-After stays inside `get`'s
 * one loop, since it shares that loop's state (redirects followed, the auth challenge answered, a
 * reset socket resent once); a wrapper such as p-retry would replay the whole exchange, auth included.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { PassThrough, type Readable } from 'node:stream';
import type { ImageHandle, ImagePresence, ImageSource, LayerHandle, OpenImageOptions, RegistrySettings } from '../image/types.js';
import { badInput, KensusError, unreachable } from '../errors.js';
import { log } from '../log.js';
import { Semaphore } from '../util/concurrency.js';
import { splitImageName } from '../model/image-name.js';
import { credentialsFor, normaliseRegistryHost, type Credential } from './registry-auth.js';
import { absent, checkDigest, compressionOf, isIndex, parseImageConfig, pickPlatform, platformsOf, type Descriptor, type Manifest } from './live-common.js';
import { MEDIA_TYPES, sha256 } from '../image/oci.js';

/**
 * `registry:NAME` — the OCI distribution API over node's http/https with keep-alive agents.
 * Anonymous, Basic and Bearer (WWW-Authenticate challenge, token per repository scope) auth;
 * manifests and config verified by digest; layer blobs streamed as stored (never on disk), with
 * bounded concurrency and a cut-short check (the image reader hashes them beside the inflate).
 */
const defaults: RegistrySettings = {
  insecureRegistries: [],
  pullSecrets: [],
  timeoutMs: 30_000,
  maxRetries: 3,
  maxRetryWaitMs: 60_000,
  concurrency: 4,
  mirrors: {},
};
/** The settings a scan passes down (--pull-secret, --insecure-registry, --registry-mirror, ...), over the defaults. */
export function registrySettings(given: Partial<RegistrySettings> = {}): RegistrySettings {
  return { ...defaults, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
}

export interface RegistryRef {
  /** host[:port] as written, docker.io for Docker Hub. */
  host: string;
  /** host the API lives on (registry-1.docker.io for Docker Hub). */
  apiHost: string;
  repo: string;
  tag?: string;
  digest?: string;
}

/** Parses [HOST[:PORT]/]REPO[:TAG][@DIGEST] the way docker does (Docker Hub by default). */
export function parseRegistryRef(name: string): RegistryRef {
  if (!name || /\s/.test(name)) throw badInput(`registry reference '${name}' is empty or contains spaces`, 'write registry:HOST/REPO:TAG or registry:HOST/REPO@sha256:...');
  const { repo: path, tag, digest } = splitImageName(name);
  if (digest && !/^sha256:[0-9a-f]{64}$/.test(digest)) throw badInput(`registry reference '${name}': '${digest}' is not a sha256 digest`, 'a digest is sha256: followed by 64 hex digits');
  const parts = path.split('/');
  let host = 'docker.io';
  if (parts.length > 1 && (parts[0]!.includes('.') || parts[0]!.includes(':') || parts[0] === 'localhost')) host = parts.shift()!;
  let repo = parts.join('/');
  if (!repo || !/^[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*$/.test(repo)) {
    throw badInput(`registry reference '${name}': '${repo}' is not a valid repository name`, 'repository names are lowercase letters, digits and . _ - separated by /');
  }
  if (tag !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw badInput(`registry reference '${name}': '${tag}' is not a valid tag`);
  const hub = normaliseRegistryHost(host) === 'docker.io';
  if (hub && !repo.includes('/')) repo = `library/${repo}`;
  return { host: hub ? 'docker.io' : host, apiHost: hub ? 'registry-1.docker.io' : host, repo, tag: tag ?? (digest ? undefined : 'latest'), digest };
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function insecureAllowed(host: string, settings: RegistrySettings): boolean {
  if (isLoopbackHost(host)) return true;
  const s = settings.insecureRegistries;
  return s === true || (Array.isArray(s) && s.includes(host));
}

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 16 }),
  httpsInsecure: new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false }),
};

interface Response {
  status: number;
  headers: IncomingMessage['headers'];
  body: IncomingMessage;
  /** True once the idle timeout fired (the body then errors with a generic "aborted"). */
  timedOut(): boolean;
}

class TimeoutError extends Error {}

/** One HTTP request; the timeout covers connecting, waiting for headers and every idle gap in the body. */
function send(url: URL, method: string, headers: Record<string, string>, insecureTls: boolean, timeoutMs: number, body?: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const isHttps = url.protocol === 'https:';
    const mod = isHttps ? https : http;
    const agent = isHttps ? (insecureTls ? agents.httpsInsecure : agents.https) : agents.http;
    let timedOut = false;
    const req = mod.request(url, { method, headers, agent }, (res) =>
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, timedOut: () => timedOut }),
    );
    req.setTimeout(timeoutMs, () => {
      timedOut = true;
      req.destroy(new TimeoutError(`no data for ${timeoutMs / 1000} s`));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function readBody(res: Response, limit = 8 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body) {
    n += chunk.length;
    if (n > limit) {
      res.body.destroy();
      throw unreachable(`registry answer larger than ${limit} bytes`, 'a manifest or config this large is not an image manifest');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function drain(res: Response): void {
  res.body.resume();
  res.body.on('error', () => {});
}

function parseChallenge(header: string | undefined): { scheme: string; params: Record<string, string> } | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) params[p[1]!.toLowerCase()] = p[2] ?? p[3] ?? '';
  return { scheme: m[1]!.toLowerCase(), params };
}

function registryErrorCode(body: Buffer): { code?: string; message?: string } {
  try {
    const e = (JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> }).errors?.[0];
    return { code: e?.code, message: e?.message };
  } catch {
    return {};
  }
}

function retryAfterMs(header: string | string[] | undefined, attempt: number): number {
  const v = Array.isArray(header) ? header[0] : header;
  if (v) {
    if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return Math.max(0, t - Date.now());
  }
  return Math.min(1000 * 2 ** attempt, 8000);
}

function describeNetError(err: unknown): string {
  if (err instanceof TimeoutError) return err.message;
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}${e.message && !e.message.includes(e.code) ? ` (${e.message})` : ''}` : String(e.message ?? err);
}

const TLS_MISMATCH = new Set(['EPROTO', 'ECONNRESET', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG']);

/** A client for one repository on one registry: scheme, auth state and retries. */
export class RegistryClient {
  private base?: string;
  private authHeader?: string;
  private tried: string[] = [];
  private credentials?: Credential[];
  readonly blobSlots: Semaphore;

  /** The host:port asked: the registry itself or its configured mirror. */
  readonly endpoint: string;

  constructor(
    readonly ref: RegistryRef,
    readonly settings: RegistrySettings = registrySettings(),
  ) {
    this.blobSlots = new Semaphore(this.settings.concurrency);
    this.endpoint = this.settings.mirrors[ref.host] ?? ref.apiHost;
  }

  private get where(): string {
    return this.endpoint === this.ref.apiHost ? `registry ${this.ref.host}` : `registry ${this.ref.host} (mirror ${this.endpoint})`;
  }

  private get endpointHost(): string {
    return this.endpoint === this.ref.apiHost ? this.ref.host : this.endpoint;
  }

  /** https, or plain http when the registry is loopback/insecure and does not speak TLS. */
  private async baseUrl(): Promise<string> {
    if (this.base) return this.base;
    const host = this.endpoint;
    const insecure = insecureAllowed(this.endpointHost, this.settings);
    try {
      const res = await send(new URL(`https://${host}/v2/`), 'GET', {}, insecure, this.settings.timeoutMs);
      drain(res);
      this.base = `https://${host}`;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (insecure && (TLS_MISMATCH.has(code) || /ssl|tls|wrong version/i.test((err as Error).message))) {
        this.base = `http://${host}`;
      } else if (!insecure && (TLS_MISMATCH.has(code) || /ssl|tls|wrong version/i.test((err as Error).message))) {
        throw unreachable(`${this.where} does not speak HTTPS (${describeNetError(err)})`, `plain HTTP is used only for loopback registries or with --insecure-registry`);
      } else {
        throw unreachable(`cannot reach ${this.where}: ${describeNetError(err)}`, 'check the registry address and that it is running');
      }
    }
    return this.base;
  }

  private async creds(): Promise<Credential[]> {
    const opts = { pullSecrets: this.settings.pullSecrets, dockerConfig: this.settings.dockerConfig };
    // A mirror's own credentials first, then those of the registry it stands for.
    this.credentials ??= [
      ...(this.endpointHost !== this.ref.host ? await credentialsFor(this.endpointHost, opts) : []),
      ...(await credentialsFor(this.ref.host, opts)),
    ];
    return this.credentials;
  }

  /** The Authorization header for one credential under a challenge; undefined when rejected. */
  private async authorize(cred: Credential | undefined, challenge: { scheme: string; params: Record<string, string> }): Promise<string | undefined> {
    if (challenge.scheme === 'basic') {
      if (!cred?.username) return undefined;
      return 'Basic ' + Buffer.from(`${cred.username}:${cred.password ?? ''}`).toString('base64');
    }
    if (challenge.scheme !== 'bearer') return undefined;
    if (cred?.registryToken) return `Bearer ${cred.registryToken}`;
    const realm = challenge.params.realm;
    if (!realm) throw unreachable(`${this.where} asked for a Bearer token without a realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw unreachable(`${this.where} named a token service that is not a URL: ${realm}`);
    }
    if (url.protocol === 'http:' && !insecureAllowed(url.host, this.settings)) {
      throw unreachable(`${this.where} sends credentials to a plain-HTTP token service ${url.host}`, 'use --insecure-registry only if you trust that network');
    }
    const scope = `repository:${this.ref.repo}:pull`;
    let res: Response;
    try {
      if (cred?.identityToken) {
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: cred.identityToken, service: challenge.params.service ?? '', scope, client_id: 'kensus' });
        res = await send(url, 'POST', { 'content-type': 'application/x-www-form-urlencoded' }, insecureAllowed(url.host, this.settings), this.settings.timeoutMs, form.toString());
      } else {
        if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
        url.searchParams.set('scope', scope);
        const headers: Record<string, string> = {};
        if (cred?.username) headers.authorization = 'Basic ' + Buffer.from(`${cred.username}:${cred.password ?? ''}`).toString('base64');
        res = await send(url, 'GET', headers, insecureAllowed(url.host, this.settings), this.settings.timeoutMs);
      }
    } catch (err) {
      throw unreachable(`cannot reach the token service ${url.host} of ${this.where}: ${describeNetError(err)}`);
    }
    const body = await readBody(res, 1 << 20);
    if (res.status === 401 || res.status === 403) return undefined;
    if (res.status !== 200) throw unreachable(`token service ${url.host} of ${this.where} answered ${res.status}`);
    try {
      const j = JSON.parse(body.toString('utf8')) as { token?: string; access_token?: string };
      const token = j.token ?? j.access_token;
      if (!token) throw new Error('no token');
      return `Bearer ${token}`;
    } catch {
      throw unreachable(`token service ${url.host} of ${this.where} sent no token`);
    }
  }

  private unauthorized(what: string): KensusError {
    const tried = this.tried.length ? this.tried.join(', ') : 'anonymous';
    return unreachable(
      `${this.where} refused access to ${this.ref.repo} (401 Unauthorized) for ${what}; tried: ${tried}`,
      `give credentials with --pull-secret FILE (a kubernetes.io/dockerconfigjson Secret) or 'docker login ${this.endpointHost}' (docker config.json, credHelpers/credsStore)`,
    );
  }

  /**
   * GET with auth, redirects and bounded retries. Returns the response for 2xx and 404;
   * every other status becomes a KensusError naming `what`.
   */
  async get(path: string, accept: string | undefined, what: string): Promise<Response> {
    const base = await this.baseUrl();
    let url = new URL(base + path);
    let attempt = 0;
    let redirects = 0;
    let resent = false;
    let authAttempts: Array<Credential | undefined> | undefined;
    let challenge: ReturnType<typeof parseChallenge>;
    for (;;) {
      const headers: Record<string, string> = { 'user-agent': 'kensus' };
      if (accept) headers.accept = accept;
      const sameOrigin = url.origin === new URL(base).origin;
      if (this.authHeader && sameOrigin) headers.authorization = this.authHeader;
      let res: Response;
      try {
        res = await send(url, 'GET', headers, insecureAllowed(this.endpointHost, this.settings), this.settings.timeoutMs);
      } catch (err) {
        if (err instanceof TimeoutError) throw unreachable(`${this.where} did not answer within ${this.settings.timeoutMs / 1000} s (${what})`, 'the registry hangs or the network is slow; try again later');
        // A kept-alive socket the server closed meanwhile: a GET is safe to send again, once.
        const code = (err as NodeJS.ErrnoException).code;
        if ((code === 'ECONNRESET' || code === 'EPIPE') && !resent) {
          resent = true;
          continue;
        }
        throw unreachable(`cannot reach ${this.where} (${what}): ${describeNetError(err)}`, 'check the registry address and that it is running');
      }
      const s = res.status;
      if (s >= 200 && s < 300) return res;
      if ([301, 302, 303, 307, 308].includes(s) && res.headers.location && redirects < 5) {
        drain(res);
        redirects++;
        url = new URL(res.headers.location, url);
        continue;
      }
      if (s === 404) return res;
      if (s === 401 && sameOrigin) {
        const body = await readBody(res, 1 << 20).catch(() => Buffer.alloc(0));
        challenge = parseChallenge(res.headers['www-authenticate']) ?? challenge;
        if (!challenge) throw unreachable(`${this.where} answered 401 without a WWW-Authenticate challenge (${what})`, registryErrorCode(body).message);
        if (!authAttempts) {
          const creds = await this.creds();
          // With credentials configured, use them (as docker does); without, try anonymously.
          authAttempts = creds.length ? [...creds] : [undefined];
          if (this.authHeader) this.tried = []; // a stale token: start over
        }
        let next: string | undefined;
        while (!next && authAttempts.length) {
          const cred = authAttempts.shift();
          this.tried.push(cred ? cred.origin + (cred.username ? ` (user ${cred.username})` : '') : 'anonymous');
          next = await this.authorize(cred, challenge);
        }
        if (!next) throw this.unauthorized(what);
        this.authHeader = next;
        continue;
      }
      const body = await readBody(res, 1 << 20).catch(() => Buffer.alloc(0));
      const detail = registryErrorCode(body);
      if (s === 403) {
        throw unreachable(
          `${this.where} forbids access to ${this.ref.repo} (403 Forbidden, ${what})${detail.message ? `: ${detail.message}` : ''}; credentials used: ${this.tried.join(', ') || 'anonymous'}`,
          'the account lacks pull permission on this repository; ask its owner or use other credentials (--pull-secret)',
        );
      }
      if ((s === 429 || s === 502 || s === 503 || s === 504) && attempt < this.settings.maxRetries) {
        const wait = retryAfterMs(res.headers['retry-after'], attempt);
        if (wait <= this.settings.maxRetryWaitMs) {
          log.info({ registry: this.ref.host, status: s, waitMs: wait, attempt: attempt + 1 }, 'registry asked to retry later');
          attempt++;
          await new Promise((r) => setTimeout(r, wait));
          continue;
        }
      }
      if (s === 429) {
        throw unreachable(`${this.where} rate-limited the request (429 Too Many Requests, ${what}) after ${attempt} retries`, `try again later${res.headers['retry-after'] ? ` (Retry-After: ${res.headers['retry-after']})` : ''}`);
      }
      throw unreachable(`${this.where} answered ${s}${detail.code ? ` ${detail.code}` : ''} for ${what}${detail.message ? `: ${detail.message}` : ''}`, s >= 500 ? 'a server-side error: try again later or ask the registry operator' : undefined);
    }
  }

  /** A 404 told apart: repository, tag or digest. */
  private async notFound(res: Response, reference: string): Promise<KensusError> {
    const body = await readBody(res, 1 << 20).catch(() => Buffer.alloc(0));
    const { code } = registryErrorCode(body);
    let repoExists = code !== 'NAME_UNKNOWN';
    if (repoExists) {
      const tags = await this.get(`/v2/${this.ref.repo}/tags/list`, 'application/json', 'tag list');
      repoExists = tags.status !== 404;
      drain(tags);
    }
    if (!repoExists) return unreachable(`repository ${this.ref.repo} not found on ${this.where}`, 'check the repository name (and the registry host)');
    if (reference.startsWith('sha256:')) return unreachable(`digest ${reference} not found in ${this.ref.repo} on ${this.where}`, 'the image may have been deleted; check the digest');
    return unreachable(`tag ${reference} not found in ${this.ref.repo} on ${this.where}`, `list the tags with GET /v2/${this.ref.repo}/tags/list or check the spelling`);
  }

  /** Fetches and verifies a manifest (or index) by tag or digest. */
  async manifest(reference: string): Promise<{ manifest: Manifest; digest: string; mediaType: string }> {
    const accept = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerList, MEDIA_TYPES.dockerManifest].join(', ');
    const res = await this.get(`/v2/${this.ref.repo}/manifests/${reference}`, accept, `manifest ${this.ref.repo}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`);
    if (res.status === 404) throw await this.notFound(res, reference);
    const body = await readBody(res, 4 << 20);
    const digest = sha256(body);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw unreachable(`${this.where} sent a manifest for ${this.ref.repo}@${reference} whose digest is ${digest}`, 'the registry or something between returned corrupted or substituted data');
    }
    const claimed = res.headers['docker-content-digest'];
    if (typeof claimed === 'string' && claimed.startsWith('sha256:') && claimed !== digest) {
      throw unreachable(`${this.where} sent a manifest for ${this.ref.repo}:${reference} whose digest ${digest} does not match the Docker-Content-Digest ${claimed}`, 'the registry or something between returned corrupted data');
    }
    let manifest: Manifest;
    try {
      manifest = JSON.parse(body.toString('utf8')) as Manifest;
    } catch {
      throw unreachable(`${this.where} sent a manifest for ${this.ref.repo}:${reference} that is not JSON`);
    }
    const mediaType = manifest.mediaType ?? String(res.headers['content-type'] ?? '').split(';')[0]!;
    if (manifest.schemaVersion === 1) throw unreachable(`${this.ref.repo}:${reference} is a Docker schema 1 manifest, which Kensus does not read`, 'push the image again with a current docker or buildkit');
    return { manifest, digest, mediaType };
  }

  async blob(desc: Descriptor, what: string): Promise<Buffer> {
    const res = await this.get(`/v2/${this.ref.repo}/blobs/${desc.digest}`, undefined, what);
    if (res.status === 404) {
      drain(res);
      throw unreachable(`${what} ${desc.digest} not found in ${this.ref.repo} on ${this.where}`, 'the image is incomplete on the registry; push it again');
    }
    const body = await readBody(res, 16 << 20);
    checkDigest(body, desc.digest, `${what} of ${this.ref.repo} from ${this.where}`);
    return body;
  }

  /** Streams a layer blob as stored; errors when the body ends short of its size or stalls. */
  openBlob(desc: Descriptor, index: number): Readable {
    const out = new PassThrough();
    const what = `layer ${index + 1} (${desc.digest.slice(0, 19)}…)`;
    void (async () => {
      const release = await this.blobSlots.acquire();
      out.once('close', release);
      try {
        const res = await this.get(`/v2/${this.ref.repo}/blobs/${desc.digest}`, undefined, what);
        if (res.status === 404) {
          drain(res);
          throw unreachable(`${what} not found in ${this.ref.repo} on ${this.where}`, 'the image is incomplete on the registry; push it again');
        }
        let got = 0;
        const fail = (err: unknown) => {
          release();
          if (res.timedOut() && !(err instanceof TimeoutError)) err = new TimeoutError(`no data for ${this.settings.timeoutMs / 1000} s`);
          out.destroy(
            err instanceof KensusError
              ? err
              : err instanceof TimeoutError
                ? unreachable(`${this.where} stalled while sending ${what}: ${err.message}`, 'the registry hangs; try again later')
                : unreachable(`${this.where} broke off while sending ${what} after ${got} of ${desc.size} bytes: ${describeNetError(err)}`, 'try again; if it persists the blob is damaged on the registry'),
          );
        };
        res.body.on('error', fail);
        res.body.on('aborted', () => fail(new Error('connection closed early')));
        res.body.on('data', (chunk: Buffer) => {
          got += chunk.length;
          if (!out.write(chunk)) res.body.pause();
        });
        out.on('drain', () => res.body.resume());
        out.on('close', () => res.body.destroy());
        res.body.on('end', () => {
          release();
          if (desc.size >= 0 && got !== desc.size) {
            out.destroy(unreachable(`${what} from ${this.where} was cut short: got ${got} of ${desc.size} bytes`, 'try again; if it persists the blob is damaged on the registry'));
          } else out.end();
        });
      } catch (err) {
        release();
        out.destroy(err as Error);
      }
    })();
    return out;
  }
}

async function resolve(name: string, options: OpenImageOptions): Promise<{ client: RegistryClient; manifest: Manifest; digest: string; indexDigest?: string }> {
  const ref = parseRegistryRef(name);
  const client = new RegistryClient(ref, registrySettings(options.live?.registry));
  const reference = ref.digest ?? ref.tag!;
  let { manifest, digest, mediaType } = await client.manifest(reference);
  let indexDigest: string | undefined;
  if (isIndex(manifest, mediaType)) {
    indexDigest = digest;
    const pick = pickPlatform(manifest, options.platform);
    if (!pick) {
      throw badInput(`${ref.host}/${ref.repo}:${reference} has no image for platform ${options.platform ?? 'linux/amd64'}; it offers ${platformsOf(manifest) || 'none'}`, 'choose one with --platform');
    }
    ({ manifest, digest, mediaType } = await client.manifest(pick.digest));
    if (isIndex(manifest, mediaType)) throw unreachable(`${ref.repo}@${pick.digest} is a nested index; Kensus reads one level of index`);
  }
  if (!manifest.config || !Array.isArray(manifest.layers)) throw unreachable(`${ref.host}/${ref.repo}:${reference} has a manifest without config or layers (media type ${mediaType || 'unset'})`);
  return { client, manifest, digest, indexDigest };
}

export const registrySource: ImageSource = {
  scheme: 'registry',
  form: 'NAME',
  bareNameOrder: 3,

  async open(name: string, options: OpenImageOptions): Promise<ImageHandle> {
    const { client, manifest, digest, indexDigest } = await resolve(name, options);
    const ref = client.ref;
    const configBytes = await client.blob(manifest.config!, 'image config');
    let config;
    try {
      config = parseImageConfig(JSON.parse(configBytes.toString('utf8')));
    } catch {
      throw unreachable(`the image config of ${ref.repo} on registry ${ref.host} is not JSON`);
    }
    const layers: LayerHandle[] = manifest.layers!.map((desc, i) => ({
      digest: desc.digest,
      diffId: config.diffIds[i],
      mediaType: desc.mediaType,
      compression: compressionOf(desc.mediaType),
      size: desc.size,
      bytes: { kind: 'stream', open: async () => client.openBlob(desc, i) },
    }));
    const repoName = ref.host === 'docker.io' ? ref.repo.replace(/^library\//, '') : `${ref.host}/${ref.repo}`;
    const refs = [ref.tag ? `${repoName}:${ref.tag}` : undefined, `${repoName}@${indexDigest ?? digest}`].filter((x): x is string => !!x);
    log.debug({ registry: ref.host, repo: ref.repo, digest, layers: layers.length }, 'registry image resolved');
    return {
      ref: `registry:${name}`,
      source: 'registry',
      digest,
      configDigest: manifest.config!.digest,
      config,
      layers,
      refs,
      // Every blob is content-addressed and verified (manifest, config here; layers by the reader).
      untrustedCacheScope: `registry:${ref.host}/${ref.repo}@${digest}`,
      close: async () => {},
    };
  },

  async has(name: string, options: OpenImageOptions): Promise<ImagePresence> {
    try {
      await resolve(name, options);
      return { found: true };
    } catch (err) {
      return absent(err);
    }
  },
};
