import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, openSync } from 'node:fs';
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

export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Whether the daemon whose pid file this is still runs (reused across test runs). */
export function pidAlive(pidFile: string): boolean {
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
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
  if (pidAlive(pidFile) && dockerPing(host)) {
    return { socket, host, startedHere: false, stop: async () => {} };
  }
  mkdirSync(join(dir, 'data'), { recursive: true });
  const logFd = openSync(join(dir, 'dockerd.log'), 'a');
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
  await waitFor(`dockerd on ${socket} (log: ${join(dir, 'dockerd.log')})`, () => dockerPing(host), 60_000);
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
