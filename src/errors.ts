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
    readonly exitCode: 2 | 3,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'KensusError';
  }
}

/** Bad usage or bad input (exit 2). */
export function badInput(message: string, hint?: string): KensusError {
  return new KensusError(message, 2, hint);
}

/** The target could not be reached or read (exit 3). */
export function unreachable(message: string, hint?: string): KensusError {
  return new KensusError(message, 3, hint);
}

/** One line for the user: the message and, when known, how to fix it. */
export function describeError(err: unknown): string {
  if (err instanceof KensusError) return err.hint ? `${err.message} (${err.hint})` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function exitCodeOf(err: unknown): 2 | 3 {
  return err instanceof KensusError ? err.exitCode : 3;
}
