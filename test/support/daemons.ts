import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real daemons for the tests, started under a temp dir (never the system's own sockets), and
 * reused across test runs on a developer machine. A missing binary fails loudly with what to
 * install: a test never skips because a daemon is absent.
 */
export const daemonsRoot = process.env.KENSUS_TEST_DAEMONS ?? join(tmpdir(), 'kensus-test-daemons');

export function requireBinary(name: string, debianPackage: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin']) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new Error(
    `${name} is not installed: the tests need the real one. Install it with ` +
      `'apt-get install -y ${debianPackage}' (scripts/setup.sh does this).`,
  );
}

export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000, gaveUp?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const reason = gaveUp?.();
    if (reason) throw new Error(`${what} did not start: ${reason}`);
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The last lines of a daemon's log, for an error that says why it did not come up. */
export function logTail(logFile: string, lines = 15): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A check for waitFor: the spawned daemon exited, with its log tail. */
export function exitedWith(child: ChildProcess, logFile: string): () => string | undefined {
  return () =>
    child.exitCode !== null || child.signalCode !== null
      ? `it exited (${child.exitCode ?? child.signalCode}). Last lines of ${logFile}:\n${logTail(logFile)}`
      : undefined;
}

/**
 * Removes a daemon's state left by an earlier run whose daemon is gone (a finished session, a
 * crash). The temp dir outlives the processes on a reused machine, and a dockerd that finds
 * hundreds of stale sandboxes spends minutes removing them before it answers. Mounts the dead
 * daemon left (overlay, netns) are detached first, deepest first, so rm never walks into them.
 */
export function discardStaleState(dir: string): void {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((mountPoint): mountPoint is string => !!mountPoint && (mountPoint === dir || mountPoint.startsWith(prefix)))
    .sort((a, b) => b.length - a.length);
  for (const mountPoint of mounts) {
    try {
      execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
    } catch {
      /* already gone with its parent */
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Whether the daemon whose pid file this is still runs (reused across test runs). With `command`,
 * the process must also be that program: after a reboot the pid may belong to something else.
 */
export function pidAlive(pidFile: string, command?: string): boolean {
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (!command) return true;
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === command;
  } catch {
    return false;
  }
}

export interface DockerDaemon {
  socket: string;
  host: string;
  startedHere: boolean;
  stop(): Promise<void>;
}

/** The docker CLI of Debian's docker.io (the one on PATH may be a client of another build). */
export function dockerCli(): string {
  return requireBinary('docker', 'docker.io');
}

export function dockerPing(host: string): boolean {
  try {
    execFileSync(dockerCli(), ['version', '--format', '{{.Server.Version}}'], {
      env: { ...process.env, DOCKER_HOST: host },
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    });
    return true;
  } catch {
    return false;
  }
}

/** Starts dockerd with its own socket, data and exec roots under the temp dir (or reuses it). */
export async function ensureDockerd(): Promise<DockerDaemon> {
  const dockerd = requireBinary('dockerd', 'docker.io');
  const dir = join(daemonsRoot, 'docker');
  const socket = join(dir, 'docker.sock');
  const host = `unix://${socket}`;
  const pidFile = join(dir, 'dockerd.pid');
  if (pidAlive(pidFile, 'dockerd')) {
    // Another run started it and it may still be coming up: wait rather than wipe under it.
    await waitFor(`the running dockerd on ${socket} (log: ${join(dir, 'dockerd.log')})`, () => dockerPing(host), 90_000);
    return { socket, host, startedHere: false, stop: async () => {} };
  }
  discardStaleState(dir);
  mkdirSync(join(dir, 'data'), { recursive: true });
  const logFile = join(dir, 'dockerd.log');
  const logFd = openSync(logFile, 'a');
  const child = spawn(
    dockerd,
    [
      '--host', host,
      '--data-root', join(dir, 'data'),
      '--exec-root', join(dir, 'exec'),
      '--pidfile', pidFile,
      // Its own containerd, and no interference with a system dockerd's bridge or iptables.
      '--bridge', 'none',
      '--iptables=false',
      '--ip-masq=false',
    ],
    { detached: true, stdio: ['ignore', logFd, logFd] },
  );
  child.unref();
  await waitFor(`dockerd on ${socket} (log: ${logFile})`, () => dockerPing(host), 90_000, exitedWith(child, logFile));
  return {
    socket,
    host,
    startedHere: true,
    stop: async () => {
      try {
        process.kill(child.pid!, 'SIGTERM');
      } catch {
        /* gone */
      }
    },
  };
}
