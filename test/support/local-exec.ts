import { spawn } from 'node:child_process';
import type { ExecChannel } from '../../src/exec/channel.js';

export interface LocalExecOptions {
  uid?: number;
  gid?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * The tracker run by a local shell (tests of the shell matrix; a node agent scanning a host path
 * with KT_ROOT): the same channel shape as a container exec.
 */
export function openLocalExec(argv: readonly string[], options: LocalExecOptions = {}): ExecChannel {
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', ...options.env },
    uid: options.uid,
    gid: options.gid,
  });
  child.stdin.on('error', () => {});
  const exited = new Promise<{ exitCode: number | null; message?: string }>((resolve) => {
    child.on('error', (err) => resolve({ exitCode: 127, message: err.message }));
    child.on('close', (code, signal) => resolve({ exitCode: code, message: signal ? `killed by ${signal}` : undefined }));
  });
  return {
    stdout: child.stdout,
    stderr: child.stderr,
    write: (data) => {
      if (child.stdin.writable) child.stdin.write(data);
    },
    endStdin: () => child.stdin.end(),
    destroy: () => {
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
    },
    exited,
    pid: child.pid,
  } as ExecChannel & { pid?: number };
}
