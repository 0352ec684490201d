import { PassThrough } from 'node:stream';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { DockerSettings } from '../image/types.js';
import { dockerClient as sourceDockerClient } from '../sources/docker.js';
import { log } from '../log.js';
import { ExecError, REAP_TIMEOUT_MS, bounded, type ExecChannel } from './channel.js';
import { trackerCommand } from './script.js';

/**
 * The Docker client for exec sessions: the image source's (socket checks with a clear message),
 * without a request timeout, because an exec session lasts as long as the tracker runs (the
 * coordinator's time budget bounds it).
 */
export function dockerClient(settings: Partial<DockerSettings> = {}): Docker {
  return sourceDockerClient({ timeoutMs: 0, ...settings });
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number })?.statusCode;
}

/**
 * Opens the tracker's exec session through the Docker engine API (what `docker exec -i` does):
 * exec create + start with a hijacked connection carrying stdin and the multiplexed output.
 */
export async function openDockerExec(docker: Docker, containerId: string, target = containerId): Promise<ExecChannel> {
  const container = docker.getContainer(containerId);
  let exec: Docker.Exec;
  try {
    exec = await container.exec({
      Cmd: [...trackerCommand],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      Env: ['LC_ALL=C'],
    });
  } catch (err) {
    throw dockerError(err, target);
  }
  let sock: Duplex;
  try {
    sock = (await exec.start({ hijack: true, stdin: true })) as unknown as Duplex;
  } catch (err) {
    throw dockerError(err, target);
  }
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  docker.modem.demuxStream(sock, stdout, stderr);
  let closed = false;
  const exited = new Promise<{ exitCode: number | null; message?: string }>((resolve) => {
    const onClose = () => {
      if (closed) return;
      closed = true;
      stdout.end();
      stderr.end();
      exec
        .inspect()
        .then((info) => resolve({ exitCode: info.Running ? null : (info.ExitCode ?? null) }))
        .catch((err) => resolve({ exitCode: null, message: (err as Error).message }));
    };
    sock.on('end', onClose);
    sock.on('close', onClose);
    sock.on('error', (err) => {
      log.debug({ err, target }, 'docker exec connection error');
      onClose();
    });
  });
  return {
    stdout,
    stderr,
    write: (data) => {
      if (!sock.destroyed) sock.write(data);
    },
    endStdin: () => {
      if (!sock.destroyed) sock.end();
    },
    destroy: () => sock.destroy(),
    exited,
    hostPid: async () => (await exec.inspect()).Pid ?? null,
    // The connection is gone but the engine does not kill an exec'd process with it: if the
    // tracker still runs, stop it by its in-container pid. `kill` is run directly where the
    // image has one, else by the shell's builtin (nothing is written either way). Both are the
    // container's programs, so each gets a time bound and its output is thrown away.
    reap: async (pid) => {
      if (!pid || !(await exec.inspect().catch(() => null))?.Running) return;
      /** Runs `cmd` in the container, bounded; its exit code (null: unknown or cut off). */
      const run = async (cmd: string[]): Promise<number | null> => {
        const killer = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
        const s = (await killer.start({ hijack: true, stdin: false })) as unknown as Duplex;
        s.resume();
        const ended = new Promise((r) => {
          s.on('end', r);
          s.on('close', r);
          s.on('error', r);
        });
        await bounded(ended, REAP_TIMEOUT_MS, () => s.destroy());
        const info = await killer.inspect().catch(() => null);
        return info && !info.Running ? (info.ExitCode ?? null) : null;
      };
      const direct = await run(['kill', '-KILL', String(pid)]).catch((err) => {
        log.debug({ err, target }, 'no kill binary in the container');
        return null;
      });
      // The signal was sent (the process may take a moment to go): the shell is not needed.
      if (direct === 0) return;
      await run(['sh', '-c', 'kill -TERM "$1" 2>/dev/null; kill -KILL "$1" 2>/dev/null; :', 'kensus-reap', String(pid)]);
    },
  };
}

function dockerError(err: unknown, target: string): ExecError {
  const status = statusOf(err);
  const msg = ((err as { json?: { message?: string } })?.json?.message ?? (err as Error)?.message ?? String(err)).trim();
  if (status === 404) return new ExecError('not-found', `${target}: no such container`, 'check the id with `docker ps`');
  if (status === 409 || /is not running|is paused/i.test(msg)) {
    return new ExecError('gone', `${target}: the container is not running (${msg})`, 'scan its image instead: kensus scan image docker:IMAGE');
  }
  if (/executable file not found|no such file/i.test(msg)) return new ExecError('no-shell', `${target}: the container has no shell (${msg})`);
  if ((err as NodeJS.ErrnoException)?.code === 'ECONNREFUSED' || (err as NodeJS.ErrnoException)?.code === 'ENOENT') {
    return new ExecError('failed', `cannot reach the Docker engine (${msg})`, 'is dockerd running? set DOCKER_HOST to its socket');
  }
  return new ExecError('failed', `${target}: docker exec failed: ${msg}`);
}
