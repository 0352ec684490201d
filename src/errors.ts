/** Exit codes of CONTRACT.md. */
export const ExitCode = {
  ok: 0,
  policyFailed: 1,
  badInput: 2,
  unreachable: 3,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

const CENSOR = '[redacted]';

/**
 * Credentials in text that came from outside (a registry's error body, a token server's answer,
 * a URL a user typed): bearer and basic credentials, JWTs, user:password in URLs, token and
 * password fields and query parameters. A registry once echoed the Bearer token it was sent.
 */
const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${CENSOR}`],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, CENSOR],
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, `$1${CENSOR}@`],
  // Only a key that stands alone: a path like /etc/passwd or a field like app.token is not one.
  [/(?<![\w/.])(["']?(?:access_token|refresh_token|id_token|token|password|passwd|secret|auth|identitytoken|registrytoken|api[_-]?key)["']?\s*[:=]\s*["']?)[^"'\s&,}]+/gi, `$1${CENSOR}`],
];

/** `text` with every credential it holds replaced by [redacted]. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [re, to] of SECRET_PATTERNS) out = out.replace(re, to);
  return out;
}

/** Keys whose values are credentials whatever they hold. */
const SECRET_KEY = /^(?:token|access_?token|refresh_?token|id_?token|password|passwd|secret|auth|authorization|identitytoken|registrytoken|bearertoken|pullsecret|dockerconfigjson|api_?key|cookie|set-cookie|x-registry-auth)$/i;

/**
 * A copy of `value` safe to log: credential keys censored and credentials in strings redacted at
 * any depth (pino's redact paths reach a fixed depth only), errors turned into plain objects
 * first. Bounded: past 16 levels or 10,000 nodes the rest is elided; cycles are cut.
 */
export function redactDeep(value: unknown): unknown {
  let budget = 10_000;
  const seen = new WeakSet<object>();
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return redactSecrets(v);
    if (v === null || typeof v !== 'object') return v;
    if (--budget < 0 || depth > 16) return '[elided]';
    if (seen.has(v)) return '[circular]';
    seen.add(v);
    if (Buffer.isBuffer(v)) return `[${v.length} bytes]`;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const source: Record<string, unknown> =
      v instanceof Error ? { type: v.name, message: v.message, stack: v.stack, ...(v as unknown as Record<string, unknown>), ...(v.cause !== undefined ? { cause: v.cause } : {}) } : (v as Record<string, unknown>);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(source)) out[k] = SECRET_KEY.test(k) && x !== undefined && x !== null && x !== '' ? CENSOR : walk(x, depth + 1);
    return out;
  };
  return walk(value, 0);
}

/**
 * An error a user can act on: `message` says what is wrong and `hint` how to fix it.
 * The CLI prints it as one line and exits with `exitCode`; never a stack trace. Both are
 * redacted: they often quote what a registry or a file said.
 */
export class KensusError extends Error {
  readonly hint?: string;

  constructor(
    message: string,
    readonly exitCode: typeof ExitCode.badInput | typeof ExitCode.unreachable,
    hint?: string,
    /** The error this one explains (shown with KENSUS_DEBUG=1). */
    options?: { cause?: unknown },
  ) {
    super(redactSecrets(message), options);
    this.hint = hint === undefined ? undefined : redactSecrets(hint);
    this.name = 'KensusError';
  }
}

/** Bad usage or bad input (exit 2). */
export function badInput(message: string, hint?: string, cause?: unknown): KensusError {
  return new KensusError(message, ExitCode.badInput, hint, cause === undefined ? undefined : { cause });
}

/** The target could not be reached or read (exit 3). */
export function unreachable(message: string, hint?: string, cause?: unknown): KensusError {
  return new KensusError(message, ExitCode.unreachable, hint, cause === undefined ? undefined : { cause });
}

/**
 * One line for the user: the message and, when known, how to fix it. Any other error is a bug
 * of Kensus, and says so.
 */
export function describeError(err: unknown): string {
  if (err instanceof KensusError) return err.hint ? `${err.message} (${err.hint})` : err.message;
  const message = redactSecrets(err instanceof Error ? err.message : String(err));
  return `internal error: ${message} (set KENSUS_DEBUG=1 for the stack)`;
}

/** The exit code of an error: a KensusError's own; anything else is exit 3 (CONTRACT.md). */
export function exitCodeOf(err: unknown): typeof ExitCode.badInput | typeof ExitCode.unreachable {
  return err instanceof KensusError ? err.exitCode : ExitCode.unreachable;
}

/** The stack of an error and of the errors it was caused by (KENSUS_DEBUG=1). */
export function debugStack(err: unknown): string {
  const out: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    out.push(redactSecrets(depth ? `caused by: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` : e instanceof Error ? (e.stack ?? e.message) : String(e)));
    if (!(e instanceof Error)) break;
  }
  return out.join('\n');
}
