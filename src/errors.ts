/** Exit codes of CONTRACT.md. */
export const ExitCode = {
  ok: 0,
  policyFailed: 1,
  badInput: 2,
  unreachable: 3,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error a user can act on: `message` says what is wrong and `hint` how to fix it.
 * The CLI prints it as one line and exits with `exitCode`; never a stack trace.
 */
export class KensusError extends Error {
  constructor(
    message: string,
    readonly exitCode: typeof ExitCode.badInput | typeof ExitCode.unreachable,
    readonly hint?: string,
    /** The error this one explains (shown with KENSUS_DEBUG=1). */
    options?: { cause?: unknown },
  ) {
    super(message, options);
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
  const message = err instanceof Error ? err.message : String(err);
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
    out.push(depth ? `caused by: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` : e instanceof Error ? (e.stack ?? e.message) : String(e));
    if (!(e instanceof Error)) break;
  }
  return out.join('\n');
}
