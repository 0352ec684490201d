import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { badInput, describeError } from '../errors.js';
import { log } from '../log.js';

/**
 * Who may read the dashboard and its API: a bearer token from `--api-token-file`, or the
 * caller's own Kubernetes token, checked with a TokenReview and authorised with a
 * SubjectAccessReview. The admission webhook is not behind this: the API server calls it over
 * TLS with the caBundle it trusts.
 */

export interface Caller {
  user: string;
  via: 'token' | 'kubernetes' | 'open';
}

/** Why a request was refused; `status` 401 (who are you?) or 403 (not allowed), 503 (cannot tell now). */
export interface Refusal {
  status: 401 | 403 | 503;
  message: string;
}

export interface Authenticator {
  /** Describes the accepted credentials for the page's sign-in form. */
  readonly methods: Array<'token' | 'kubernetes' | 'open'>;
  check(authorization: string | undefined): Promise<Caller | Refusal>;
}

export const isRefusal = (x: Caller | Refusal): x is Refusal => 'status' in x;

const digest = (s: string) => createHash('sha256').update(s).digest();

export function bearerOf(header: string | undefined): string | null {
  const m = /^Bearer\s+([\x21-\x7e]{1,8192})\s*$/i.exec(header ?? '');
  return m ? m[1] : null;
}

const missing: Refusal = { status: 401, message: 'sign in: send Authorization: Bearer TOKEN (an API token of this server, or your Kubernetes token)' };

/** Lets every caller in (`serve --no-api-auth`: behind an authenticating proxy, or on loopback). */
export function openAccess(): Authenticator {
  return { methods: ['open'], check: async () => ({ user: 'anonymous', via: 'open' }) };
}

/** Tokens of a file, one per line (blank lines and # comments ignored); several allow rotation. */
export function parseTokenFile(text: string, file: string): string[] {
  const tokens = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (tokens.length === 0) throw badInput(`--api-token-file ${file} holds no token`, 'write one token per line, e.g. openssl rand -hex 32 > FILE');
  for (const t of tokens) if (!/^[\x21-\x7e]{16,8192}$/.test(t)) throw badInput(`--api-token-file ${file}: a token must be 16 to 8192 printable characters without spaces`, 'e.g. openssl rand -hex 32 > FILE');
  return tokens;
}

/**
 * Bearer tokens from a file. The file is read again when it changes (a rotated Kubernetes
 * Secret volume), checked at most every `recheckMs`; a file that became unreadable keeps the
 * tokens it last had.
 */
export function tokenFileAccess(file: string, opts: { recheckMs?: number } = {}): Authenticator {
  const recheckMs = opts.recheckMs ?? 10_000;
  const read = () => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw badInput(`cannot read --api-token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}`, 'check the path');
    }
    return parseTokenFile(text, file).map(digest);
  };
  let tokens = read();
  let mtime = statSync(file).mtimeMs;
  let checked = Date.now();
  return {
    methods: ['token'],
    async check(header) {
      if (Date.now() - checked > recheckMs) {
        checked = Date.now();
        try {
          const m = statSync(file).mtimeMs;
          if (m !== mtime) {
            tokens = read();
            mtime = m;
          }
        } catch (err) {
          log.warn({ file, err: describeError(err) }, 'could not re-read the API token file; keeping the tokens read before');
        }
      }
      const token = bearerOf(header);
      if (!token) return missing;
      const d = digest(token);
      return tokens.some((t) => timingSafeEqual(t, d)) ? { user: 'api-token', via: 'token' } : { status: 401, message: 'the token is not valid for this server' };
    },
  };
}

export interface KubeReviews {
  /** TokenReview: who the token belongs to, or null when the API server does not know it. */
  tokenReview(token: string): Promise<{ user: string; uid?: string; groups: string[]; extra?: Record<string, string[]> } | null>;
  /** SubjectAccessReview: may this user get the Kensus reports? */
  mayRead(user: { user: string; uid?: string; groups: string[]; extra?: Record<string, string[]> }): Promise<{ allowed: boolean; reason?: string }>;
}

/**
 * The caller's Kubernetes token: TokenReview, then SubjectAccessReview for `get` on
 * `reports.kensus.dev`. Answers are cached by the token's hash for `cacheMs` (default 60 s), so
 * the page's requests cost the API server one review a minute; denials are cached for 10 s.
 */
export function kubernetesAccess(reviews: KubeReviews, opts: { cacheMs?: number; maxEntries?: number } = {}): Authenticator {
  const cacheMs = opts.cacheMs ?? 60_000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const cache = new Map<string, { until: number; answer: Caller | Refusal }>();
  return {
    methods: ['kubernetes'],
    async check(header) {
      const token = bearerOf(header);
      if (!token) return missing;
      const key = digest(token).toString('hex');
      const hit = cache.get(key);
      if (hit && hit.until > Date.now()) return hit.answer;
      let answer: Caller | Refusal;
      try {
        const who = await reviews.tokenReview(token);
        if (!who) answer = { status: 401, message: 'the Kubernetes API server does not accept this token' };
        else {
          const may = await reviews.mayRead(who);
          answer = may.allowed
            ? { user: who.user, via: 'kubernetes' }
            : { status: 403, message: `${who.user} may not get reports.kensus.dev (grant it with a ClusterRole: apiGroups [kensus.dev], resources [reports], verbs [get])` };
        }
      } catch (err) {
        // Never cached: the API server may be back on the next request.
        log.warn({ err: describeError(err) }, 'token or access review failed');
        return { status: 503, message: 'cannot check the token now: the Kubernetes API server did not answer the review' };
      }
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
      cache.set(key, { until: Date.now() + (isRefusal(answer) ? Math.min(cacheMs, 10_000) : cacheMs), answer });
      return answer;
    },
  };
}

/** The first authenticator that knows the caller wins; otherwise the most telling refusal. */
export function anyOf(list: Authenticator[]): Authenticator {
  return {
    methods: list.flatMap((a) => a.methods),
    async check(header) {
      let refusal: Refusal | null = null;
      for (const a of list) {
        const r = await a.check(header);
        if (!isRefusal(r)) return r;
        // "not allowed" and "cannot tell now" say more than "unknown token".
        if (!refusal || (refusal.status === 401 && r.status !== 401)) refusal = r;
      }
      return refusal ?? missing;
    },
  };
}
