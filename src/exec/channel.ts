import type { Readable } from 'node:stream';
import { KensusError } from '../errors.js';

/**
 * One exec session into one container, whatever carries it (Docker's hijacked HTTP connection,
 * the Kubernetes exec WebSocket). The tracker's script goes in on stdin, frames come out on
 * stdout. stdin stays open for the whole scan: the tracker treats its end as "stop now".
 */
export interface ExecChannel {
  stdout: Readable;
  stderr: Readable;
  write(data: string | Buffer): void;
  /** Half-closes stdin (the tracker then stops if it is still running). */
  endStdin(): void;
  /** Tears the connection down at once (timeout, abort, malformed output). */
  destroy(): void;
  /** Settles when the session is over; exitCode when the transport reports one. */
  exited: Promise<{ exitCode: number | null; message?: string }>;
  /** PID of the exec'd process on the engine's host, when the transport can tell (benchmarks). */
  hostPid?: () => Promise<number | null>;
  /** The transport's protocol when it has one (the negotiated WebSocket subprotocol). */
  protocol?: string;
  /** Best effort after an abnormal end: make sure no tracker process is left (pid inside the container). */
  reap?(trackerPid: number | null): Promise<void>;
}

export type ExecFailure = 'no-shell' | 'forbidden' | 'gone' | 'timeout' | 'malformed' | 'failed' | 'not-found';

/** A failed exec scan: `reason` drives the coordinator's fallback (image scan or an errors row). */
export class ExecError extends KensusError {
  constructor(
    readonly reason: ExecFailure,
    message: string,
    hint?: string,
  ) {
    super(message, reason === 'malformed' ? 2 : 3, hint);
    this.name = 'ExecError';
  }
}

/** Output of a failed exec start that means "there is no shell to run the tracker with". */
export function looksLikeNoShell(exitCode: number | null, text: string): boolean {
  if (/executable file not found|no such file or directory|not found in \$PATH|exec: "sh"/i.test(text)) return true;
  return exitCode === 126 || exitCode === 127;
}

/** How long a reap may take: it runs a program of the container, which may itself never end. */
export const REAP_TIMEOUT_MS = 5000;

/** Settles when `done` does or after `ms`, calling `onTimeout` (tear the session down) then. */
export function bounded(done: Promise<unknown>, ms: number, onTimeout: () => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      onTimeout();
      resolve();
    }, ms);
    timer.unref?.();
    done.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}
