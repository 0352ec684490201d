import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { WebSocket } from 'ws';
import { log } from '../../src/log.js';

/**
 * pods/exec over WebSocket (channel.k8s.io v4/v5) mapped onto a Docker exec with attach.
 * Frames carry one channel byte then data: 0 stdin, 1 stdout, 2 stderr, 3 status (JSON
 * metav1.Status), 4 resize (JSON {Width,Height}); v5 adds 255 = close the channel named by the
 * next byte (only stdin is meaningful from the client).
 */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

export interface ExecRequest {
  containerId: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** The kubelet's status document for an exit code, as kubectl and client-go decode it. */
export function exitStatus(code: number, command: string[]): Record<string, unknown> {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

export function errorStatus(message: string): Record<string, unknown> {
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 };
}

/** Splits Docker's multiplexed stream (8-byte header: stream, 0,0,0, uint32 BE size) incrementally. */
export class Demuxer {
  private buf: Buffer = Buffer.alloc(0);
  private need = 0;
  private stream = 0;
  constructor(private readonly onFrame: (stream: number, data: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.need === 0) {
        if (this.buf.length < 8) return;
        this.stream = this.buf[0];
        this.need = this.buf.readUInt32BE(4);
        this.buf = this.buf.subarray(8);
        if (this.need === 0) continue;
      }
      if (this.buf.length === 0) return;
      const take = Math.min(this.need, this.buf.length);
      this.onFrame(this.stream, this.buf.subarray(0, take));
      this.buf = this.buf.subarray(take);
      this.need -= take;
    }
  }
}

const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;
const MAX_FRAME = 64 * 1024;

export async function runExec(docker: Docker, ws: WebSocket, req: ExecRequest): Promise<void> {
  const v5 = ws.protocol === 'v5.channel.k8s.io';
  let closed = false;
  const finish = (status: Record<string, unknown>) => {
    if (closed) return;
    closed = true;
    if (ws.readyState === ws.OPEN) {
      ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(status))]));
      ws.close(1000);
    }
  };
  // Frames can arrive while the docker exec is being set up: hold them until it is.
  const early: Buffer[] = [];
  let onFrame: ((data: Buffer) => void) | undefined;
  ws.on('message', (raw: Buffer, isBinary: boolean) => {
    const data = isBinary ? raw : Buffer.from(raw);
    if (onFrame) onFrame(data);
    else early.push(data);
  });
  let exec: Docker.Exec;
  let stream: Duplex;
  try {
    exec = await docker.getContainer(req.containerId).exec({
      Cmd: req.command,
      AttachStdin: req.stdin,
      AttachStdout: req.stdout,
      AttachStderr: req.stderr,
      Tty: req.tty,
    });
    stream = (await exec.start({ hijack: true, stdin: req.stdin, Tty: req.tty } as Docker.ExecStartOptions)) as Duplex;
    if (ws.readyState !== ws.OPEN) {
      // The client went away while the exec was being set up: don't leave the command attached.
      stream.destroy();
      return;
    }
  } catch (e) {
    finish(errorStatus(`failed to exec in container: ${(e as Error).message}`));
    return;
  }

  // docker -> client, with backpressure: stop reading docker when the socket has too much queued.
  let pending = 0;
  let paused = false;
  const send = (channel: number, data: Buffer) => {
    if (ws.readyState !== ws.OPEN) return;
    for (let off = 0; off < data.length; off += MAX_FRAME) {
      const part = data.subarray(off, Math.min(off + MAX_FRAME, data.length));
      const frame = Buffer.allocUnsafe(part.length + 1);
      frame[0] = channel;
      part.copy(frame, 1);
      pending += frame.length;
      ws.send(frame, (err) => {
        pending -= frame.length;
        if (!err && paused && pending < LOW_WATER) {
          paused = false;
          stream.resume();
        }
      });
    }
    if (pending > HIGH_WATER && !paused) {
      paused = true;
      stream.pause();
    }
  };
  if (req.tty) stream.on('data', (d: Buffer) => send(1, d));
  else {
    const demux = new Demuxer((s, d) => send(s === 2 ? 2 : 1, d));
    stream.on('data', (d: Buffer) => demux.push(d));
  }

  // client -> docker
  let stdinOpen = req.stdin;
  const closeStdin = () => {
    if (!stdinOpen) return;
    stdinOpen = false;
    stream.end(); // half-close: docker closes the process's stdin
  };
  onFrame = (data: Buffer) => {
    if (data.length === 0) return;
    const ch = data[0];
    const body = data.subarray(1);
    if (ch === 0 && stdinOpen) {
      if (body.length === 0) return;
      if (!stream.write(body)) {
        ws.pause();
        stream.once('drain', () => ws.resume());
      }
    } else if (ch === 4) {
      try {
        const size = JSON.parse(body.toString('utf8'));
        // kubectl sends {"Width","Height"} (Go field names); client-node sends {width,height}.
        void exec.resize({ h: size.Height ?? size.height, w: size.Width ?? size.width }).catch(() => {});
      } catch {
        /* malformed resize: ignored like the kubelet does */
      }
    } else if (ch === 255 && v5 && body[0] === 0) {
      closeStdin();
    }
  };
  for (const d of early.splice(0)) onFrame(d);
  stream.on('error', (e) => log.debug({ err: e }, 'exec stream error')); // EPIPE when the command never reads stdin
  ws.on('close', () => {
    if (!closed) {
      closed = true;
      stream.destroy();
    }
  });

  stream.on('end', async () => {
    if (closed) return;
    // The attach stream can end a moment before docker marks the exec finished.
    let code = -1;
    for (let i = 0; i < 100; i++) {
      const info = await exec.inspect().catch(() => undefined);
      if (info && !info.Running) {
        code = info.ExitCode ?? -1;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const flushAndFinish = () => (pending > 0 ? setTimeout(flushAndFinish, 5) : finish(exitStatus(code, req.command)));
    flushAndFinish();
  });
}
